//! The BG/NBD model. While active, a customer buys at a Poisson rate λ ~ Gamma(r, α); after
//! each repeat purchase they become inactive with probability p ~ Beta(a, b). The
//! likelihood of a summary (x, t_x, T) is (Fader, Hardie & Lee 2005, eq. 6):
//!
//! L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
//!   + [x > 0] · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))
//!
//! computed in logs with a log-sum-exp so large histories do not overflow.

use super::fit::{nelder_mead, standard_errors};
use super::special::{hyp2f1, ln_gamma};
use super::{Estimate, Summary};
use crate::input::InvalidInput;

/// BG/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// A fit with standard errors and what it was fitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct BgNbdFit {
    pub params: BgNbd,
    pub r: Estimate,
    pub alpha: Estimate,
    pub a: Estimate,
    pub b: Estimate,
    /// The maximised log-likelihood.
    pub log_likelihood: f64,
    pub customers: usize,
}

impl BgNbd {
    /// The log-likelihood of one summary.
    pub fn log_likelihood(&self, s: &Summary) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let x = s.frequency;
        let common = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) - ln_gamma(b)
            + ln_gamma(b + x)
            - ln_gamma(a + b + x);
        let alive = -(r + x) * (alpha + s.age).ln();
        if x == 0.0 {
            return common + alive;
        }
        let dropped = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + s.recency).ln();
        let top = alive.max(dropped);
        common + top + ((alive - top).exp() + (dropped - top).exp()).ln()
    }

    /// P(the customer is still active at the end of their observation).
    pub fn p_alive(&self, s: &Summary) -> f64 {
        if s.frequency == 0.0 {
            return 1.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = s.frequency;
        let odds = (a / (b + x - 1.0)) * ((alpha + s.age) / (alpha + s.recency)).powf(r + x);
        1.0 / (1.0 + odds)
    }

    /// Expected purchases in the next `t` time units for this customer (eq. 10). The
    /// formula divides by a − 1; at a = 1 exactly it returns `NaN` (both factors vanish
    /// there; fitted values never land on it).
    pub fn expected_purchases(&self, s: &Summary, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        if (a - 1.0).abs() < 1e-12 {
            return f64::NAN;
        }
        if t <= 0.0 {
            return 0.0;
        }
        let x = s.frequency;
        let z = t / (alpha + s.age + t);
        let head = (a + b + x - 1.0) / (a - 1.0);
        let tail = 1.0
            - ((alpha + s.age) / (alpha + s.age + t)).powf(r + x)
                * hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let odds = if x > 0.0 {
            (a / (b + x - 1.0)) * ((alpha + s.age) / (alpha + s.recency)).powf(r + x)
        } else {
            0.0
        };
        head * tail / (1.0 + odds)
    }

    /// Fits by maximum likelihood, with standard errors.
    pub fn fit(customers: &[Summary]) -> Result<BgNbdFit, InvalidInput> {
        if customers.is_empty() {
            return Err(InvalidInput::new(
                "customers",
                "fit needs at least one customer",
            ));
        }
        for (i, s) in customers.iter().enumerate() {
            s.check(i)?;
        }
        // Customers with equal summaries contribute equal terms: group them once.
        let groups = group(customers);
        let neg_ll = |p: &[f64]| -> f64 {
            let params = BgNbd {
                r: p[0],
                alpha: p[1],
                a: p[2],
                b: p[3],
            };
            -groups
                .iter()
                .map(|(s, n)| n * params.log_likelihood(s))
                .sum::<f64>()
        };
        let on_logs = |lp: &[f64]| neg_ll(&lp.iter().map(|v| v.exp()).collect::<Vec<_>>());
        let best: Vec<f64> = nelder_mead(&on_logs, &[0.0; 4])
            .iter()
            .map(|v| v.exp())
            .collect();
        let errors = standard_errors(&neg_ll, &best);
        let estimate = |i: usize| Estimate {
            value: best[i],
            std_error: errors[i],
        };
        Ok(BgNbdFit {
            params: BgNbd {
                r: best[0],
                alpha: best[1],
                a: best[2],
                b: best[3],
            },
            r: estimate(0),
            alpha: estimate(1),
            a: estimate(2),
            b: estimate(3),
            log_likelihood: -neg_ll(&best),
            customers: customers.len(),
        })
    }
}

/// Distinct summaries with their counts.
fn group(customers: &[Summary]) -> Vec<(Summary, f64)> {
    let mut keyed: Vec<([u64; 3], Summary)> = customers
        .iter()
        .map(|s| {
            (
                [s.frequency.to_bits(), s.recency.to_bits(), s.age.to_bits()],
                *s,
            )
        })
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    let mut groups: Vec<(Summary, f64)> = Vec::new();
    let mut last: Option<[u64; 3]> = None;
    for (key, s) in keyed {
        match (last, groups.last_mut()) {
            (Some(k), Some(g)) if k == key => g.1 += 1.0,
            _ => groups.push((s, 1.0)),
        }
        last = Some(key);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::clv::simulate::simulate_bgnbd;

    const TRUE: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    #[test]
    fn the_fit_recovers_the_parameters_the_data_were_simulated_with() {
        let customers = simulate_bgnbd(TRUE, 20_000, 39.0, 7);
        let fit = BgNbd::fit(&customers).unwrap();
        for (got, want, name) in [
            (fit.r, TRUE.r, "r"),
            (fit.alpha, TRUE.alpha, "alpha"),
            (fit.a, TRUE.a, "a"),
            (fit.b, TRUE.b, "b"),
        ] {
            // Within four standard errors (and the errors are real numbers).
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
    fn a_customer_who_never_returned_is_surely_alive_and_recent_buyers_more_alive_than_lapsed() {
        let none = Summary {
            frequency: 0.0,
            recency: 0.0,
            age: 30.0,
        };
        assert_eq!(TRUE.p_alive(&none), 1.0);
        let recent = Summary {
            frequency: 4.0,
            recency: 29.0,
            age: 30.0,
        };
        let lapsed = Summary {
            frequency: 4.0,
            recency: 5.0,
            age: 30.0,
        };
        assert!(TRUE.p_alive(&recent) > TRUE.p_alive(&lapsed));
    }

    #[test]
    fn expected_purchases_grow_with_the_horizon_and_with_frequency() {
        let params = BgNbd { a: 1.8, ..TRUE };
        let s = Summary {
            frequency: 2.0,
            recency: 20.0,
            age: 30.0,
        };
        let e10 = params.expected_purchases(&s, 10.0);
        let e20 = params.expected_purchases(&s, 20.0);
        assert!(e10 > 0.0 && e20 > e10);
        // Below a = 1 (CDNOW's fit) both factors change sign: still positive.
        let cdnow = TRUE.expected_purchases(&s, 10.0);
        assert!(cdnow > 0.0 && TRUE.expected_purchases(&s, 20.0) > cdnow);
        let more = Summary {
            frequency: 6.0,
            recency: 29.0,
            age: 30.0,
        };
        assert!(params.expected_purchases(&more, 10.0) > params.expected_purchases(&s, 10.0));
    }

    #[test]
    fn likelihoods_of_all_outcomes_are_probabilities() {
        // A summary's likelihood is a density in t_x, so only check it is finite and
        // that the no-repeat case is a probability.
        let none = Summary {
            frequency: 0.0,
            recency: 0.0,
            age: 10.0,
        };
        let p = TRUE.log_likelihood(&none).exp();
        assert!(p > 0.0 && p < 1.0);
    }

    #[test]
    fn bad_summaries_are_refused_with_the_field_to_fix() {
        let bad = [Summary {
            frequency: 1.0,
            recency: 40.0,
            age: 30.0,
        }];
        assert_eq!(
            BgNbd::fit(&bad).unwrap_err().field(),
            "customers[0].recency"
        );
    }
}

#[cfg(test)]
mod cdnow {
    use super::*;

    /// The CDNOW sample (2,357 customers, weeks) that the BG/NBD paper and the `lifetimes`
    /// package fit; shipped with `lifetimes` (MIT).
    const CDNOW: &str = include_str!("testdata/cdnow_customers_summary.csv");

    #[test]
    fn the_cdnow_fit_reproduces_the_published_parameters() {
        let customers: Vec<Summary> = CDNOW
            .lines()
            .skip(1)
            .map(|line| {
                let f: Vec<f64> = line
                    .split(',')
                    .skip(1)
                    .map(|v| v.parse().unwrap())
                    .collect();
                Summary {
                    frequency: f[0],
                    recency: f[1],
                    age: f[2],
                }
            })
            .collect();
        let fit = BgNbd::fit(&customers).unwrap();
        let p = fit.params;
        // Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4;
        // `lifetimes` 0.11 fits r = 0.242593, α = 4.413599, a = 0.792919, b = 2.425891.
        assert!((p.r - 0.243).abs() < 1e-3, "{p:?}");
        assert!((p.alpha - 4.414).abs() < 1e-3, "{p:?}");
        assert!((p.a - 0.793).abs() < 1e-3, "{p:?}");
        assert!((p.b - 2.426).abs() < 1e-3, "{p:?}");
        assert!(
            (fit.log_likelihood + 9582.4).abs() < 0.1,
            "{}",
            fit.log_likelihood
        );
    }
}
