//! Welch's unequal-variance t-test on the difference of means.
//!
//! `Δ = μt − μc`, `se = √(sc²/nc + st²/nt)`, `t = Δ / se`, Welch–Satterthwaite
//! `df = (sc²/nc + st²/nt)² / ((sc²/nc)²/(nc − 1) + (st²/nt)²/(nt − 1))`, two-sided
//! `p = P(|T_df| ≥ |t|)` and the interval `Δ ± t_{df, 1 − α/2} · se`.

use super::level::IntervalLevel;
use super::summary::ArmSummary;
use crate::analytics::special::student_t;
use crate::input::InvalidInput;

/// The test's inputs, echoed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchDefinition {
    pub control: ArmSummary,
    pub treatment: ArmSummary,
    pub level: IntervalLevel,
}

/// Welch's test of `μt − μc = 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchResult {
    pub definition: WelchDefinition,
    /// `μt − μc`.
    pub difference: f64,
    pub standard_error: f64,
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom (fractional).
    pub degrees_of_freedom: f64,
    /// Two-sided.
    pub p_value: f64,
    pub confidence_interval: (f64, f64),
}

/// Runs Welch's t-test of `treatment` against `control`.
pub fn welch_t_test(
    control: &ArmSummary,
    treatment: &ArmSummary,
    level: IntervalLevel,
) -> Result<WelchResult, InvalidInput> {
    for (arm, summary) in [("control", control), ("treatment", treatment)] {
        if summary.n() < 2 {
            return Err(InvalidInput::new(
                format!("{arm}.n"),
                "must be at least 2 for a t-test",
            ));
        }
    }
    let (vc, vt) = (control.variance_of_mean(), treatment.variance_of_mean());
    let variance = vc + vt;
    if variance <= 0.0 {
        return Err(InvalidInput::new(
            "variance",
            "is zero in both arms; there is nothing to test",
        ));
    }
    let difference = treatment.mean() - control.mean();
    let standard_error = variance.sqrt();
    let t = difference / standard_error;
    let (nc, nt) = (control.n() as f64, treatment.n() as f64);
    let degrees_of_freedom = variance * variance / (vc * vc / (nc - 1.0) + vt * vt / (nt - 1.0));
    let p_value = student_t::two_sided_p(t, degrees_of_freedom);
    let critical = student_t::quantile(1.0 - level.alpha() / 2.0, degrees_of_freedom);
    Ok(WelchResult {
        definition: WelchDefinition {
            control: *control,
            treatment: *treatment,
            level,
        },
        difference,
        standard_error,
        t,
        degrees_of_freedom,
        p_value,
        confidence_interval: (
            difference - critical * standard_error,
            difference + critical * standard_error,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_matches_a_hand_computed_case() {
        // Control: n 10, mean 20, s² 16; treatment: n 15, mean 23, s² 25.
        let control = ArmSummary::new(10, 20.0, 16.0).unwrap();
        let treatment = ArmSummary::new(15, 23.0, 25.0).unwrap();
        let result = welch_t_test(&control, &treatment, IntervalLevel::default()).unwrap();
        // By hand: vc = 1.6, vt = 5/3, se² = 49/15, t = 3/√(49/15),
        // df = (49/15)² / (1.6²/9 + (5/3)²/14).
        let se2 = 1.6 + 25.0 / 15.0;
        let t = 3.0 / f64::sqrt(se2);
        let df = se2 * se2 / (1.6 * 1.6 / 9.0 + (25.0_f64 / 15.0).powi(2) / 14.0);
        assert!((result.t - t).abs() < 1e-12);
        assert!((result.degrees_of_freedom - df).abs() < 1e-12);
        // Reference values from mpmath at 30 digits (betainc and findroot on the t CDF).
        assert!((result.t - 1.659_850_005_517_464_4).abs() < 1e-12);
        assert!((result.degrees_of_freedom - 22.099_934_253_780_408).abs() < 1e-10);
        assert!((result.p_value - 0.111_069_452_703_559_88).abs() < 1e-12);
        let (lo, hi) = result.confidence_interval;
        assert!((lo + 0.747_319_586_331_785_9).abs() < 1e-10);
        assert!((hi - 6.747_319_586_331_786).abs() < 1e-10);
        // Its half-width is t_{0.975, df} · se, and that critical value reproduces 0.975.
        let critical = (hi - 3.0) / f64::sqrt(se2);
        assert!((student_t::cdf(critical, df) - 0.975).abs() < 1e-12);
        assert!(lo < 0.0 && hi > 0.0);
    }

    #[test]
    fn welch_with_equal_sizes_and_variances_is_student_with_pooled_df() {
        // Equal n and s²: df = 2(n − 1) exactly and t is the pooled t.
        let control = ArmSummary::new(8, 1.0, 2.0).unwrap();
        let treatment = ArmSummary::new(8, 2.0, 2.0).unwrap();
        let result = welch_t_test(&control, &treatment, IntervalLevel::default()).unwrap();
        assert!((result.degrees_of_freedom - 14.0).abs() < 1e-12);
        assert!((result.t - 1.0 / f64::sqrt(0.5)).abs() < 1e-12);
    }

    #[test]
    fn welch_refuses_single_unit_arms() {
        let one = ArmSummary::new(1, 1.0, 0.0).unwrap();
        let many = ArmSummary::new(10, 1.0, 1.0).unwrap();
        let error = welch_t_test(&one, &many, IntervalLevel::default()).unwrap_err();
        assert_eq!(error.field(), "control.n");
    }
}
