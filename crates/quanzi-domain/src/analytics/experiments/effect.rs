//! The effect of a treatment on the absolute or relative scale, with its variance.
//!
//! Absolute: `Δ = μt − μc`, `Var = σt²/nt + σc²/nc`.
//!
//! Relative (lift): `Δ = (μt − μc) / μc`, with the delta-method variance of the ratio of
//! two independent means `m = μt`, `d = μc`:
//! `Var(m/d) ≈ Var(m)/d² + Var(d)·m²/d⁴` (the covariance term is zero because the arms
//! are independent). This is gbstats' `variance_of_ratios(μt, σt²/nt, μc, σc²/nc, 0)`.
//! Note the variance is that of `μt/μc`, and `(μt − μc)/μc = μt/μc − 1` has the same
//! variance.

use super::summary::ArmSummary;
use crate::input::InvalidInput;

/// The scale an effect is reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// `μt − μc`, in the metric's own unit.
    Absolute,
    /// `(μt − μc) / μc`, the lift; needs a positive control mean.
    Relative,
}

/// A point estimate of the effect and the variance of that estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectEstimate {
    scale: Scale,
    mean: f64,
    variance: f64,
}

impl EffectEstimate {
    pub fn scale(&self) -> Scale {
        self.scale
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The variance of the estimate (the squared standard error).
    pub fn variance(&self) -> f64 {
        self.variance
    }

    pub fn standard_error(&self) -> f64 {
        self.variance.sqrt()
    }
}

/// The effect of `treatment` over `control` on `scale`.
///
/// Refuses the cases gbstats answers with a placeholder result: a control mean that is
/// not positive on the relative scale (the lift is undefined) and an arm without any
/// variance (the posterior would be a point mass, e.g. zero conversions).
pub fn estimate(
    control: &ArmSummary,
    treatment: &ArmSummary,
    scale: Scale,
) -> Result<EffectEstimate, InvalidInput> {
    if control.variance() <= 0.0 {
        return Err(InvalidInput::new(
            "control.variance",
            "is zero; the arm needs some variation (e.g. at least one conversion)",
        ));
    }
    if treatment.variance() <= 0.0 {
        return Err(InvalidInput::new(
            "treatment.variance",
            "is zero; the arm needs some variation (e.g. at least one conversion)",
        ));
    }
    let (mc, mt) = (control.mean(), treatment.mean());
    let (vc, vt) = (control.variance_of_mean(), treatment.variance_of_mean());
    let (mean, variance) = match scale {
        Scale::Absolute => (mt - mc, vt + vc),
        Scale::Relative => {
            if mc <= 0.0 {
                return Err(InvalidInput::new(
                    "control.mean",
                    "must be positive to measure a relative lift; use the absolute scale",
                ));
            }
            let mc2 = mc * mc;
            ((mt - mc) / mc, vt / mc2 + vc * mt * mt / (mc2 * mc2))
        }
    };
    Ok(EffectEstimate {
        scale,
        mean,
        variance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_effect_uses_the_delta_method_for_a_ratio_of_means() {
        let control = ArmSummary::new(1000, 10.0, 25.0).unwrap();
        let treatment = ArmSummary::new(1200, 11.0, 36.0).unwrap();
        let effect = estimate(&control, &treatment, Scale::Relative).unwrap();
        assert!((effect.mean() - 0.1).abs() < 1e-15);
        // Var(m)/d² + Var(d) m²/d⁴ = (36/1200)/100 + (25/1000)(121)/10000.
        let expected = 0.03 / 100.0 + 0.025 * 121.0 / 10_000.0;
        assert!((effect.variance() - expected).abs() < 1e-15);
    }

    #[test]
    fn absolute_effect_adds_the_variances_of_the_means() {
        let control = ArmSummary::new(1000, 10.0, 25.0).unwrap();
        let treatment = ArmSummary::new(1200, 11.0, 36.0).unwrap();
        let effect = estimate(&control, &treatment, Scale::Absolute).unwrap();
        assert!((effect.mean() - 1.0).abs() < 1e-15);
        assert!((effect.variance() - (0.025 + 0.03)).abs() < 1e-15);
    }

    #[test]
    fn lift_needs_a_positive_control_and_both_arms_need_variance() {
        let zero = ArmSummary::conversions(100, 0).unwrap();
        let some = ArmSummary::conversions(100, 5).unwrap();
        assert_eq!(
            estimate(&zero, &some, Scale::Absolute).unwrap_err().field(),
            "control.variance"
        );
        let negative = ArmSummary::new(10, -1.0, 1.0).unwrap();
        assert_eq!(
            estimate(&negative, &some, Scale::Relative)
                .unwrap_err()
                .field(),
            "control.mean"
        );
    }
}
