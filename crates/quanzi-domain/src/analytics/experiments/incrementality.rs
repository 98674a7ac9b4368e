//! Incrementality: how much a program (all push messages, all coupons) adds over members
//! held out of it (see [`super::assignment::in_holdout`]).
//!
//! `lift = (μ_treated − μ_holdout) / μ_holdout` with the delta-method variance of
//! [`super::effect`] (the holdout plays the control), a normal interval
//! `lift ± z_{1−α/2} · se` and the two-sided p-value `2 Φ(−|lift / se|)`. The absolute
//! difference per member and the incremental total `(μ_treated − μ_holdout) · n_treated`
//! (what the program added across everyone it reached) come with their own intervals.

use super::effect::{self, EffectEstimate, Scale};
use super::level::IntervalLevel;
use super::summary::ArmSummary;
use crate::analytics::special::normal;
use crate::input::InvalidInput;

/// The inputs, echoed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutLiftDefinition {
    pub treated: ArmSummary,
    pub holdout: ArmSummary,
    pub level: IntervalLevel,
}

/// The program's lift over its holdout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutLiftResult {
    pub definition: HoldoutLiftDefinition,
    pub lift: EffectEstimate,
    pub lift_interval: (f64, f64),
    pub difference: EffectEstimate,
    pub difference_interval: (f64, f64),
    /// `(μ_treated − μ_holdout) · n_treated`.
    pub incremental_total: f64,
    pub incremental_total_interval: (f64, f64),
    /// Two-sided, for the lift being zero.
    pub p_value: f64,
}

/// The lift of `treated` over `holdout`.
pub fn holdout_lift(
    treated: &ArmSummary,
    holdout: &ArmSummary,
    level: IntervalLevel,
) -> Result<HoldoutLiftResult, InvalidInput> {
    let rename = |e: InvalidInput| {
        let field = e
            .field()
            .replacen("control", "holdout", 1)
            .replacen("treatment", "treated", 1);
        e.for_field(field)
    };
    let lift = effect::estimate(holdout, treated, Scale::Relative).map_err(rename)?;
    let difference = effect::estimate(holdout, treated, Scale::Absolute).map_err(rename)?;
    let z = level.normal_critical_value();
    let interval = |e: &EffectEstimate| {
        let half = z * e.standard_error();
        (e.mean() - half, e.mean() + half)
    };
    let lift_interval = interval(&lift);
    let difference_interval = interval(&difference);
    let n = treated.n() as f64;
    Ok(HoldoutLiftResult {
        definition: HoldoutLiftDefinition {
            treated: *treated,
            holdout: *holdout,
            level,
        },
        p_value: 2.0 * normal::cdf(-(lift.mean() / lift.standard_error()).abs()),
        lift,
        lift_interval,
        difference,
        difference_interval,
        incremental_total: difference.mean() * n,
        incremental_total_interval: (difference_interval.0 * n, difference_interval.1 * n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lift_and_interval_match_the_worked_example() {
        // Treated: 9 500 members spending 52 on average (s² 400); holdout: 500 at 50 (s² 380).
        let treated = ArmSummary::new(9_500, 52.0, 400.0).unwrap();
        let holdout = ArmSummary::new(500, 50.0, 380.0).unwrap();
        let result = holdout_lift(&treated, &holdout, IntervalLevel::default()).unwrap();
        let lift = 2.0 / 50.0;
        let variance =
            (400.0 / 9_500.0) / 2_500.0 + (380.0 / 500.0) * 52.0 * 52.0 / 50.0_f64.powi(4);
        let se = variance.sqrt();
        let z = 1.959_963_984_540_054;
        assert!((result.lift.mean() - lift).abs() < 1e-15);
        assert!((result.lift.variance() - variance).abs() < 1e-15);
        assert!((result.lift_interval.0 - (lift - z * se)).abs() < 1e-12);
        assert!((result.lift_interval.1 - (lift + z * se)).abs() < 1e-12);
        assert!((result.incremental_total - 2.0 * 9_500.0).abs() < 1e-9);
        // p = erfc(|z|/√2), here from the series erfc(x) = 1 − (2/√π) Σ (−1)ⁿ x^(2n+1)/(n!(2n+1)).
        let x = lift / se / std::f64::consts::SQRT_2;
        let mut erf = 0.0;
        let mut term = x;
        for n in 0..60 {
            erf += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
        }
        let p = 1.0 - erf * 2.0 / std::f64::consts::PI.sqrt();
        assert!((result.p_value - p).abs() < 1e-12);
    }

    #[test]
    fn errors_name_the_holdout_arm() {
        let treated = ArmSummary::new(100, 1.0, 1.0).unwrap();
        let holdout = ArmSummary::new(100, 0.0, 1.0).unwrap();
        let error = holdout_lift(&treated, &holdout, IntervalLevel::default()).unwrap_err();
        assert_eq!(error.field(), "holdout.mean");
    }
}
