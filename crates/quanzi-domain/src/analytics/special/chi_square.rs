//! The chi-square distribution: `F(x; k) = P(k/2, x/2)` with the regularized lower
//! incomplete gamma, and its survival function computed on the upper side directly so
//! small p-values are accurate.

use super::gamma::{regularized_gamma_p, regularized_gamma_q};

/// `P(X ≤ x)` for `X ~ χ²(df)`.
pub fn cdf(x: f64, df: f64) -> f64 {
    regularized_gamma_p(0.5 * df, 0.5 * x)
}

/// `P(X > x)` for `X ~ χ²(df)`: the p-value of a chi-square statistic.
pub fn sf(x: f64, df: f64) -> f64 {
    regularized_gamma_q(0.5 * df, 0.5 * x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::special::normal;

    #[test]
    fn one_degree_of_freedom_is_a_squared_normal() {
        for x in [0.01, 0.5, 3.841_458_820_694_124, 10.0] {
            let expected = 2.0 * normal::sf(f64::sqrt(x));
            assert!((sf(x, 1.0) - expected).abs() < 1e-14, "x = {x}");
        }
        assert!((sf(3.841_458_820_694_124, 1.0) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn two_degrees_of_freedom_is_exponential() {
        for x in [0.1, 1.0, 5.991_464_547_107_979, 40.0] {
            let expected = (-x / 2.0_f64).exp();
            assert!((sf(x, 2.0) / expected - 1.0).abs() < 1e-12, "x = {x}");
            assert!((cdf(x, 2.0) + sf(x, 2.0) - 1.0).abs() < 1e-15);
        }
    }
}
