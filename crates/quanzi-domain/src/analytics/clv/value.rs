//! Customer lifetime value: expected purchases per period from BG/NBD, times the expected
//! order value from Gamma-Gamma, discounted per period, summed over a horizon.

use super::bgnbd::BgNbd;
use super::gamma_gamma::{GammaGamma, Spend};
use super::Summary;

/// CLV over `periods` periods of `period_length` time units (the summary's unit), each
/// period's purchases discounted by `(1 + discount_rate)^i`.
pub fn lifetime_value(
    purchases: &BgNbd,
    spend: &GammaGamma,
    customer: &Summary,
    mean_value: f64,
    periods: u32,
    period_length: f64,
    discount_rate: f64,
) -> f64 {
    let value = spend.expected_value(&Spend {
        frequency: customer.frequency,
        mean_value,
    });
    // A customer without repeats has no mean of their own: the population mean stands in.
    let value = if customer.frequency > 0.0 {
        value
    } else {
        spend.gamma * spend.p / (spend.q - 1.0)
    };
    let mut total = 0.0;
    let mut before = 0.0;
    for i in 1..=periods {
        let upto = purchases.expected_purchases(customer, f64::from(i) * period_length);
        total += (upto - before) * value / (1.0 + discount_rate).powi(i as i32);
        before = upto;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_value_rises_with_frequency_and_falls_with_the_discount_rate() {
        let bg = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 1.793,
            b: 2.426,
        };
        let gg = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let clv = |x: f64, rate: f64| {
            let s = Summary {
                frequency: x,
                recency: 38.0,
                age: 39.0,
            };
            lifetime_value(&bg, &gg, &s, 35.0, 12, 4.0, rate)
        };
        let mut last = 0.0;
        for x in 1..10 {
            let v = clv(f64::from(x), 0.01);
            assert!(v > last, "CLV must rise with frequency: {v} after {last}");
            last = v;
        }
        assert!(clv(3.0, 0.05) < clv(3.0, 0.01));
    }
}
