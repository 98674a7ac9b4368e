//! Log-beta and the regularized incomplete beta function `I_x(a, b)`.
//!
//! `I_x(a, b)` uses the classic continued fraction
//! `I_x(a, b) = x^a (1 − x)^b / (a B(a, b)) · 1 / (1 + d₁ / (1 + d₂ / (1 + …)))` with
//! `d₂ₘ₊₁ = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))` and
//! `d₂ₘ = m (b − m) x / ((a + 2m − 1)(a + 2m))`, evaluated by Lentz's method. It converges
//! quickly for `x < (a + 1) / (a + b + 2)`; above that the symmetry
//! `I_x(a, b) = 1 − I_{1−x}(b, a)` is used instead.

use super::gamma::{ln_gamma, ln_gamma_difference};
use super::{MAX_ITERATIONS, TINY};

/// `ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)`.
///
/// When the larger argument is at least 10, `ln Γ(large) − ln Γ(large + small)` is taken
/// from [`ln_gamma_difference`], because subtracting two log-gammas near 1e10 (Student t
/// with huge degrees of freedom, Beta posteriors with millions of trials) would keep only
/// six digits.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, large) = if a < b { (a, b) } else { (b, a) };
    if large >= 10.0 {
        ln_gamma(small) + ln_gamma_difference(large, small)
    } else {
        ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
    }
}

/// The regularized incomplete beta function `I_x(a, b)`: the Beta(a, b) CDF at `x`.
pub fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    regularized_incomplete_beta_with_complement(x, 1.0 - x, a, b)
}

/// `I_x(a, b)` given both `x` and `y = 1 − x`, for callers that know `y` more precisely
/// than `1 − x` would give it (Student's t near `x = 1` with huge degrees of freedom).
pub fn regularized_incomplete_beta_with_complement(x: f64, y: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    if x < (a + 1.0) / (a + b + 2.0) {
        lower(x, y, a, b)
    } else {
        1.0 - lower(y, x, b, a)
    }
}

/// `ln x` for `x = 1 − y`, taking whichever of `x`, `y` is the accurate one.
fn ln_of(x: f64, y: f64) -> f64 {
    if x < 0.5 {
        x.ln()
    } else {
        (-y).ln_1p()
    }
}

/// The continued fraction, valid (fast) when `x < (a + 1) / (a + b + 2)`; `y = 1 − x`.
fn lower(x: f64, y: f64, a: f64, b: f64) -> f64 {
    let ln_prefactor = a * ln_of(x, y) + b * ln_of(y, x) - ln_beta(a, b);
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut fraction = d;
    for m in 1..MAX_ITERATIONS {
        let m = m as f64;
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + even * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + even / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        fraction *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + odd * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + odd / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        fraction *= delta;
        if (delta - 1.0).abs() < f64::EPSILON {
            break;
        }
    }
    ln_prefactor.exp() * fraction / a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_beta_matches_closed_forms() {
        for x in [0.001, 0.1, 0.37, 0.5, 0.8, 0.999] {
            // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b.
            assert!((regularized_incomplete_beta(x, 1.0, 1.0) - x).abs() < 1e-14);
            let xa: f64 = x.powf(3.5);
            assert!((regularized_incomplete_beta(x, 3.5, 1.0) - xa).abs() < 1e-14);
            let tail: f64 = 1.0 - (1.0 - x).powf(7.0);
            assert!((regularized_incomplete_beta(x, 1.0, 7.0) - tail).abs() < 1e-14);
            // I_x(2, 2) = 3x² − 2x³.
            let cubic = 3.0 * x * x - 2.0 * x * x * x;
            assert!((regularized_incomplete_beta(x, 2.0, 2.0) - cubic).abs() < 1e-14);
            // I_x(1/2, 1/2) = (2/π) asin(√x): the arcsine distribution.
            let arcsine = 2.0 / std::f64::consts::PI * x.sqrt().asin();
            assert!((regularized_incomplete_beta(x, 0.5, 0.5) - arcsine).abs() < 1e-13);
        }
    }

    #[test]
    fn incomplete_beta_is_symmetric_and_handles_large_parameters() {
        let (a, b, x) = (1500.0, 28_500.0, 0.051);
        let forward = regularized_incomplete_beta(x, a, b);
        let mirrored = 1.0 - regularized_incomplete_beta(1.0 - x, b, a);
        assert!((forward - mirrored).abs() < 1e-12);
        assert!(forward > 0.5 && forward < 1.0);
    }

    #[test]
    fn ln_beta_matches_the_factorial_identity() {
        // B(3, 4) = 2! 3! / 6! = 1/60.
        assert!((ln_beta(3.0, 4.0) - (1.0_f64 / 60.0).ln()).abs() < 1e-14);
        // B(n, 1) = 1/n on both sides of the switch to the difference formula.
        for n in [9.5_f64, 10.0, 1e3, 5e8] {
            assert!((ln_beta(n, 1.0) + n.ln()).abs() < 1e-13, "n = {n}");
        }
        // B(1/2, 1/2) = π.
        assert!((ln_beta(0.5, 0.5) - std::f64::consts::PI.ln()).abs() < 1e-14);
    }
}
