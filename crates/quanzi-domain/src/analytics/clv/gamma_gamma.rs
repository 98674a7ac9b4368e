//! The Gamma-Gamma spend model. A customer's order values are Gamma(p, ν) with ν ~
//! Gamma(q, γ) across customers, independent of how often they buy. Fitted on customers
//! with repeat purchases, from their number x and mean value m_x (Fader, Hardie & Lee 2005,
//! "RFM and CLV", eq. 4). Fitted like BG/NBD: damped Newton steps over log-parameters on
//! the analytic gradient and Hessian, with the log-gammas computed once per distinct
//! frequency and one logarithm per customer.

use super::fit::{maximise, mirrored, standard_errors, Local};
use super::special::{digamma, ln_gamma, trigamma};
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
        let rows = SpendRows::new(&used);
        let optimum = maximise(
            &mut |v: &[f64; 3]| {
                rows.local(&GammaGamma {
                    p: v[0],
                    q: v[1],
                    gamma: v[2],
                })
            },
            [1.0; 3],
        );
        let best = optimum.params;
        let errors = standard_errors(&optimum.local);
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
            log_likelihood: optimum.local.value,
            customers: used.len(),
        })
    }
}

/// Customers with repeats prepared for fitting: with `L = ln(γ + m x)`, the summed
/// log-likelihood is `Σₓ nₓ (ln Γ(px+q) − ln Γ(px)) − N ln Γ(q) + N q ln γ + p K₁ − K₀
/// − Σ (px + q) L`, where `K₁ = Σ x (ln m + ln x)` and `K₀ = Σ ln m` do not depend on
/// the parameters and are summed once.
struct SpendRows {
    rows: Vec<Spend>,
    /// Distinct frequencies with how many customers have each.
    frequencies: Vec<(f64, f64)>,
    k1: f64,
    k0: f64,
}

impl SpendRows {
    fn new(rows: &[Spend]) -> SpendRows {
        let mut xs: Vec<f64> = rows.iter().map(|s| s.frequency).collect();
        xs.sort_unstable_by(f64::total_cmp);
        let mut frequencies: Vec<(f64, f64)> = Vec::new();
        for x in xs {
            match frequencies.last_mut() {
                Some((last, n)) if *last == x => *n += 1.0,
                _ => frequencies.push((x, 1.0)),
            }
        }
        SpendRows {
            rows: rows.to_vec(),
            frequencies,
            k1: rows
                .iter()
                .map(|s| s.frequency * (s.mean_value.ln() + s.frequency.ln()))
                .sum(),
            k0: rows.iter().map(|s| s.mean_value.ln()).sum(),
        }
    }

    /// The summed log-likelihood with its gradient and Hessian in (p, q, γ).
    fn local(&self, params: &GammaGamma) -> Local<3> {
        let GammaGamma { p, q, gamma } = *params;
        let n = self.rows.len() as f64;
        // Σ L, Σ x L, Σ I, Σ x I, Σ I², Σ x I² with I = 1/(γ + m x).
        let mut sums = [0.0; 6];
        for s in &self.rows {
            let u = gamma + s.mean_value * s.frequency;
            let (l, i) = (u.ln(), 1.0 / u);
            let x = s.frequency;
            sums[0] += l;
            sums[1] += x * l;
            sums[2] += i;
            sums[3] += x * i;
            sums[4] += i * i;
            sums[5] += x * i * i;
        }
        let [sl, sxl, si, sxi, si2, sxi2] = sums;
        let mut value = -n * ln_gamma(q) + n * q * gamma.ln() + p * self.k1 - self.k0;
        value -= p * sxl + q * sl;
        let mut g = [
            self.k1 - sxl,
            -n * digamma(q) + n * gamma.ln() - sl,
            n * q / gamma - (p * sxi + q * si),
        ];
        let mut h = [[0.0; 3]; 3];
        h[1][1] = -n * trigamma(q);
        h[0][2] = -sxi;
        h[1][2] = n / gamma - si;
        h[2][2] = -n * q / (gamma * gamma) + p * sxi2 + q * si2;
        for &(x, count) in &self.frequencies {
            let (px, pxq) = (p * x, p * x + q);
            value += count * (ln_gamma(pxq) - ln_gamma(px));
            g[0] += count * x * (digamma(pxq) - digamma(px));
            g[1] += count * digamma(pxq);
            let tg = trigamma(pxq);
            h[0][0] += count * x * x * (tg - trigamma(px));
            h[0][1] += count * x * tg;
            h[1][1] += count * tg;
        }
        Local {
            value,
            gradient: g,
            hessian: mirrored(h),
        }
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
    fn the_summed_likelihood_matches_the_per_customer_one_and_its_derivatives_match_differences() {
        let truth = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let spend = simulate_spend(truth, 500, 3);
        let rows = SpendRows::new(&spend);
        let at = |v: [f64; 3]| {
            rows.local(&GammaGamma {
                p: v[0],
                q: v[1],
                gamma: v[2],
            })
        };
        let point = [5.0, 3.0, 20.0];
        let here = at(point);
        let direct: f64 = spend
            .iter()
            .map(|s| {
                GammaGamma {
                    p: 5.0,
                    q: 3.0,
                    gamma: 20.0,
                }
                .log_likelihood(s)
            })
            .sum();
        assert!(
            (here.value - direct).abs() < 1e-9 * direct.abs(),
            "{}",
            here.value
        );
        for i in 0..3 {
            let h = 1e-6 * point[i];
            let (mut up, mut down) = (point, point);
            up[i] += h;
            down[i] -= h;
            let (above, below) = (at(up), at(down));
            let slope = (above.value - below.value) / (2.0 * h);
            assert!(
                (here.gradient[i] - slope).abs() < 1e-5 * (1.0 + slope.abs()),
                "gradient {i}: {} vs {slope}",
                here.gradient[i]
            );
            for j in 0..3 {
                let curve = (above.gradient[j] - below.gradient[j]) / (2.0 * h);
                assert!(
                    (here.hessian[i][j] - curve).abs() < 1e-5 * (1.0 + curve.abs()),
                    "hessian {i},{j}: {} vs {curve}",
                    here.hessian[i][j]
                );
            }
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
