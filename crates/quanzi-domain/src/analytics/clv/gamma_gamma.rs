//! The Gamma-Gamma spend model. A customer's order values are Gamma(p, ν) with ν ~
//! Gamma(q, γ) across customers, independent of how often they buy. Fitted on customers
//! with repeat purchases, from their number x and mean value m_x (Fader, Hardie & Lee 2005,
//! "RFM and CLV", eq. 4).

use super::fit::{nelder_mead, standard_errors};
use super::special::ln_gamma;
use super::Estimate;
use crate::input::InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

/// A customer's repeat purchases and their mean value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spend {
    pub frequency: f64,
    pub mean_value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GammaGammaFit {
    pub params: GammaGamma,
    pub p: Estimate,
    pub q: Estimate,
    pub gamma: Estimate,
    pub log_likelihood: f64,
    /// Customers fitted on (those with repeat purchases).
    pub customers: usize,
}

impl GammaGamma {
    /// The log-likelihood of one customer's mean spend (x > 0).
    pub fn log_likelihood(&self, s: &Spend) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        let (x, m) = (s.frequency, s.mean_value);
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
            + q * gamma.ln()
            + (p * x - 1.0) * m.ln()
            + p * x * x.ln()
            - (p * x + q) * (gamma + m * x).ln()
    }

    /// Expected value of this customer's future orders (eq. 5): a weighted mean of the
    /// population mean γp/(q−1) and the customer's own mean. Needs q > 1.
    pub fn expected_value(&self, s: &Spend) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        if q <= 1.0 {
            return f64::NAN;
        }
        let x = s.frequency;
        (gamma + s.mean_value * x) * p / (p * x + q - 1.0)
    }

    /// Fits on customers with repeat purchases and a positive mean value.
    pub fn fit(customers: &[Spend]) -> Result<GammaGammaFit, InvalidInput> {
        for (i, s) in customers.iter().enumerate() {
            if !(s.frequency.is_finite() && s.frequency >= 0.0 && s.frequency.fract() == 0.0) {
                return Err(InvalidInput::new(
                    format!("customers[{i}].frequency"),
                    "must be a whole number of repeat purchases",
                ));
            }
            if s.frequency > 0.0 && !(s.mean_value.is_finite() && s.mean_value > 0.0) {
                return Err(InvalidInput::new(
                    format!("customers[{i}].mean_value"),
                    "must be positive for customers with repeat purchases",
                ));
            }
        }
        let used: Vec<Spend> = customers
            .iter()
            .copied()
            .filter(|s| s.frequency > 0.0)
            .collect();
        if used.is_empty() {
            return Err(InvalidInput::new(
                "customers",
                "fit needs customers with repeat purchases",
            ));
        }
        let neg_ll = |v: &[f64]| -> f64 {
            let params = GammaGamma {
                p: v[0],
                q: v[1],
                gamma: v[2],
            };
            -used.iter().map(|s| params.log_likelihood(s)).sum::<f64>()
        };
        let on_logs = |lp: &[f64]| neg_ll(&lp.iter().map(|v| v.exp()).collect::<Vec<_>>());
        let best: Vec<f64> = nelder_mead(&on_logs, &[0.0; 3])
            .iter()
            .map(|v| v.exp())
            .collect();
        let errors = standard_errors(&neg_ll, &best);
        let estimate = |i: usize| Estimate {
            value: best[i],
            std_error: errors[i],
        };
        Ok(GammaGammaFit {
            params: GammaGamma {
                p: best[0],
                q: best[1],
                gamma: best[2],
            },
            p: estimate(0),
            q: estimate(1),
            gamma: estimate(2),
            log_likelihood: -neg_ll(&best),
            customers: used.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::clv::simulate::simulate_spend;

    #[test]
    fn the_fit_recovers_the_parameters_the_spend_was_simulated_with() {
        let truth = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let spend = simulate_spend(truth, 5_000, 11);
        let fit = GammaGamma::fit(&spend).unwrap();
        for (got, want, name) in [
            (fit.p, truth.p, "p"),
            (fit.q, truth.q, "q"),
            (fit.gamma, truth.gamma, "gamma"),
        ] {
            assert!(
                got.std_error.is_finite() && got.std_error > 0.0,
                "{name}: {got:?}"
            );
            assert!(
                (got.value - want).abs() < 4.0 * got.std_error,
                "{name}: {} vs {want} ± {}",
                got.value,
                got.std_error
            );
        }
    }

    #[test]
    fn a_customer_with_more_history_is_pulled_less_towards_the_population_mean() {
        let gg = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let population = gg.gamma * gg.p / (gg.q - 1.0);
        let few = gg.expected_value(&Spend {
            frequency: 1.0,
            mean_value: 100.0,
        });
        let many = gg.expected_value(&Spend {
            frequency: 20.0,
            mean_value: 100.0,
        });
        assert!((many - 100.0).abs() < (few - 100.0).abs());
        assert!(few > population && few < 100.0);
    }
}
