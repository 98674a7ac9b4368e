//! The special functions the CLV formulas need: the shared log-gamma with its derivatives
//! digamma and trigamma (for analytic gradients and Hessians), and the Gauss
//! hypergeometric function.

pub(crate) use crate::analytics::special::gamma::{digamma, ln_gamma, trigamma};

/// The Gauss hypergeometric function ₂F₁(a, b; c; z) for 0 ≤ z < 1 by its series, which
/// converges there; summed until the terms stop mattering.
pub(crate) fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..100_000 {
        let k = k as f64;
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_known_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-13);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        assert!((ln_gamma(0.1) - 2.252_712_651_734_206).abs() < 1e-11);
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z) / z.
        let z: f64 = 0.3;
        assert!((hyp2f1(1.0, 1.0, 2.0, z) - (-(1.0 - z).ln() / z)).abs() < 1e-12);
        // ₂F₁(a, b; b; z) = (1 − z)^(−a).
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.4) - 0.6f64.powf(-2.5)).abs() < 1e-10);
    }
}
