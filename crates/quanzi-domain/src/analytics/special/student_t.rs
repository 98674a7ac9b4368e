//! Student's t distribution with real degrees of freedom (Welch's test needs fractional
//! ones).
//!
//! The CDF uses `P(|T| > |t|) = I_{ν/(ν + t²)}(ν/2, 1/2)`. The quantile is found by
//! Newton's method on that CDF, started from the normal quantile with the first
//! Cornish–Fisher corrections and safeguarded by bisection on a bracket, so it converges
//! for any `ν > 0` including the heavy-tailed `ν < 1`.

use super::beta::{ln_beta, regularized_incomplete_beta_with_complement};
use super::normal;

/// The CDF of Student's t with `df > 0` degrees of freedom.
pub fn cdf(t: f64, df: f64) -> f64 {
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let two_sided_tail = two_sided_p(t, df);
    if t > 0.0 {
        1.0 - 0.5 * two_sided_tail
    } else {
        0.5 * two_sided_tail
    }
}

/// `P(|T| ≥ |t|)`, the two-sided p-value of a t statistic, computed directly so small
/// p-values keep their relative accuracy.
pub fn two_sided_p(t: f64, df: f64) -> f64 {
    let t2 = t * t;
    // Both x = ν/(ν + t²) and 1 − x = t²/(ν + t²) are passed exactly: for huge ν, x is
    // within 1e-9 of 1 and `1 − x` would keep only seven digits.
    let denominator = df + t2;
    regularized_incomplete_beta_with_complement(df / denominator, t2 / denominator, 0.5 * df, 0.5)
}

/// The density of Student's t with `df` degrees of freedom.
pub fn pdf(t: f64, df: f64) -> f64 {
    let ln_norm = -0.5 * df.ln() - ln_beta(0.5 * df, 0.5);
    (ln_norm - 0.5 * (df + 1.0) * (t * t / df).ln_1p()).exp()
}

/// The quantile `F⁻¹(p)` of Student's t with `df > 0` degrees of freedom.
pub fn quantile(p: f64, df: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return -quantile(1.0 - p, df);
    }
    if p == 0.5 {
        return 0.0;
    }
    // Now 0 < p < 0.5 and the answer is negative.
    let z = normal::quantile(p);
    let z3 = z * z * z;
    let z5 = z3 * z * z;
    let mut x = z + (z3 + z) / (4.0 * df) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df);
    if !x.is_finite() || x >= 0.0 {
        x = z;
    }
    // Bracket the root: cdf(lo) ≤ p ≤ cdf(hi) with hi = 0.
    let mut lo = x.min(-1.0);
    while cdf(lo, df) > p {
        lo *= 2.0;
        if lo < -1e300 {
            return lo;
        }
    }
    let mut hi = 0.0;
    x = x.clamp(lo, hi);
    for _ in 0..200 {
        let f = cdf(x, df) - p;
        if f > 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        let step = f / pdf(x, df);
        let mut next = x - step;
        if !next.is_finite() || next <= lo || next >= hi {
            next = 0.5 * (lo + hi);
        }
        if (next - x).abs() <= 1e-15 * x.abs().max(1e-300) {
            return next;
        }
        x = next;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_matches_closed_forms_for_one_and_two_degrees_of_freedom() {
        for t in [-30.0, -2.5, -1.0, -0.1, 0.0, 0.4, 1.0, 3.0, 12.0] {
            // ν = 1 is the Cauchy distribution: 1/2 + atan(t)/π.
            let cauchy = 0.5 + f64::atan(t) / std::f64::consts::PI;
            assert!((cdf(t, 1.0) - cauchy).abs() < 1e-14, "t = {t}");
            // ν = 2: 1/2 + t / (2 √(2 + t²)).
            let two = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
            assert!((cdf(t, 2.0) - two).abs() < 1e-14, "t = {t}");
        }
    }

    #[test]
    fn cdf_matches_published_table_values() {
        // t-table: P(T ≤ 2.570582) = 0.975 for ν = 5, P(T ≤ 2.085963) = 0.975 for ν = 20.
        assert!((cdf(2.570_581_835_636_314, 5.0) - 0.975).abs() < 1e-12);
        assert!((cdf(2.085_963_447_265_837, 20.0) - 0.975).abs() < 1e-12);
        // ν = 3: 1/2 + (θ + sin θ cos θ)/π with θ = atan(t/√3).
        let t: f64 = 1.3;
        let theta = (t / 3.0_f64.sqrt()).atan();
        let expected = 0.5 + (theta + theta.sin() * theta.cos()) / std::f64::consts::PI;
        assert!((cdf(t, 3.0) - expected).abs() < 1e-14);
    }

    #[test]
    fn quantile_inverts_the_cdf_for_whole_and_fractional_degrees_of_freedom() {
        assert!((quantile(0.975, 5.0) - 2.570_581_835_636_314).abs() < 1e-10);
        assert!((quantile(0.975, 1.0) - 12.706_204_736_174_7).abs() < 1e-9);
        for df in [0.5, 1.0, 2.0, 3.7, 10.0, 57.3, 1e4] {
            for p in [1e-6, 0.01, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999] {
                let t = quantile(p, df);
                assert!(
                    (cdf(t, df) - p).abs() < 1e-12 * p.max(1e-3),
                    "df {df} p {p}"
                );
            }
        }
    }

    #[test]
    fn large_degrees_of_freedom_approach_the_normal() {
        assert!((cdf(1.96, 1e9) - normal::cdf(1.96)).abs() < 1e-8);
    }
}
