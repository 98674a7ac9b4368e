//! Always-valid confidence sequences for the effect, so an experiment can be watched
//! every day and stopped the moment the interval excludes zero without inflating the
//! false-positive rate.
//!
//! The boundary is Robbins' normal mixture in the two-sided form of Howard, Ramdas,
//! McAuliffe and Sekhon (2021, "Time-uniform, nonparametric, nonasymptotic confidence
//! sequences", eq. 14), as GrowthBook uses it. With `N = nc + nt` units so far, the
//! effect estimate `Δ̂` with variance `v` (see [`super::effect`]) and the per-unit
//! variance `s² = v · N`:
//!
//! `half-width = s · √( 2 (N ρ² + 1) / (N² ρ²) · ln( √(N ρ² + 1) / α ) )`,
//!
//! and the interval is `Δ̂ ± half-width`. The mixture parameter ρ sets where the boundary
//! is tightest; it is chosen to minimise the width at the tuning sample size `N*`:
//! `ρ = √( (−2 ln α + ln(−2 ln α + 1)) / N* )`. GrowthBook's default `N*` is 5 000; pick
//! roughly the total sample size you expect at the decision.
//!
//! The guarantee is asymptotic (the CLT for the arm means), as in Howard et al.'s
//! asymptotic confidence sequences: `P(∃N: Δ ∉ CS_N) ≤ α` in the limit.

use super::effect::{self, EffectEstimate, Scale};
use super::level::IntervalLevel;
use super::summary::ArmSummary;
use crate::input::InvalidInput;

/// GrowthBook's default tuning sample size.
pub const DEFAULT_TUNING_SAMPLE_SIZE: f64 = 5_000.0;

/// The tuning sample size `N*`: where the boundary is tightest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TuningSampleSize(f64);

impl TuningSampleSize {
    pub fn new(n: f64) -> Result<Self, InvalidInput> {
        if n.is_finite() && n >= 1.0 {
            Ok(Self(n))
        } else {
            Err(InvalidInput::new(
                "tuning_sample_size",
                "must be a number of units of at least 1",
            ))
        }
    }

    pub fn get(&self) -> f64 {
        self.0
    }
}

impl Default for TuningSampleSize {
    fn default() -> Self {
        Self(DEFAULT_TUNING_SAMPLE_SIZE)
    }
}

/// How to run the sequential test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialConfig {
    pub scale: Scale,
    pub level: IntervalLevel,
    pub tuning: TuningSampleSize,
}

impl Default for SequentialConfig {
    /// Absolute scale, 95 %, GrowthBook's tuning sample size.
    fn default() -> Self {
        Self {
            scale: Scale::Absolute,
            level: IntervalLevel::NINETY_FIVE,
            tuning: TuningSampleSize::default(),
        }
    }
}

/// The test's inputs, echoed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialDefinition {
    pub control: ArmSummary,
    pub treatment: ArmSummary,
    pub config: SequentialConfig,
    /// The mixture parameter derived from the tuning sample size and α.
    pub rho: f64,
}

/// The confidence sequence at the current sample size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialResult {
    pub definition: SequentialDefinition,
    pub effect: EffectEstimate,
    pub half_width: f64,
    pub interval: (f64, f64),
    /// The interval lies entirely above or below zero: a result that stays valid however
    /// often the experiment was looked at.
    pub excludes_zero: bool,
}

/// `ρ = √((−2 ln α + ln(−2 ln α + 1)) / N*)`.
pub fn mixture_rho(alpha: f64, tuning: TuningSampleSize) -> f64 {
    let l = -2.0 * alpha.ln();
    ((l + (l + 1.0).ln()) / tuning.get()).sqrt()
}

/// The always-valid interval for the effect of `treatment` over `control`.
pub fn confidence_sequence(
    control: &ArmSummary,
    treatment: &ArmSummary,
    config: &SequentialConfig,
) -> Result<SequentialResult, InvalidInput> {
    let effect = effect::estimate(control, treatment, config.scale)?;
    let alpha = config.level.alpha();
    let rho = mixture_rho(alpha, config.tuning);
    let n = (control.n() + treatment.n()) as f64;
    let s2 = effect.variance() * n;
    let nr2 = n * rho * rho;
    let half_width =
        (s2 * 2.0 * (nr2 + 1.0) / (n * n * rho * rho) * ((nr2 + 1.0).sqrt() / alpha).ln()).sqrt();
    let interval = (effect.mean() - half_width, effect.mean() + half_width);
    Ok(SequentialResult {
        definition: SequentialDefinition {
            control: *control,
            treatment: *treatment,
            config: *config,
            rho,
        },
        effect,
        half_width,
        interval,
        excludes_zero: interval.0 > 0.0 || interval.1 < 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::special::normal;

    #[test]
    fn half_width_matches_the_worked_formula() {
        let control = ArmSummary::new(2_500, 10.0, 16.0).unwrap();
        let treatment = ArmSummary::new(2_500, 10.4, 16.0).unwrap();
        let result =
            confidence_sequence(&control, &treatment, &SequentialConfig::default()).unwrap();
        // By hand: α = 0.05, N = 5000, v = 32/2500, s² = 64.
        let alpha: f64 = 0.05;
        let rho2 = (-2.0 * alpha.ln() + (-2.0 * alpha.ln() + 1.0).ln()) / 5000.0;
        let n = 5000.0;
        let half = (64.0 * 2.0 * (n * rho2 + 1.0) / (n * n * rho2)
            * ((n * rho2 + 1.0).sqrt() / alpha).ln())
        .sqrt();
        assert!((result.half_width - half).abs() < 1e-12);
        assert!((result.definition.rho - rho2.sqrt()).abs() < 1e-15);
        assert!(result.excludes_zero);
    }

    #[test]
    fn sequences_are_wider_than_fixed_horizon_intervals() {
        let control = ArmSummary::new(2_500, 10.0, 16.0).unwrap();
        let treatment = ArmSummary::new(2_500, 10.1, 16.0).unwrap();
        let result =
            confidence_sequence(&control, &treatment, &SequentialConfig::default()).unwrap();
        let fixed = normal::quantile(0.975) * result.effect.standard_error();
        assert!(result.half_width > fixed);
        // …but not absurdly so at the tuning size (about 2.2x for α = 0.05).
        assert!(result.half_width < 2.5 * fixed);
        assert!(!result.excludes_zero);
    }

    #[test]
    fn the_sequence_shrinks_as_data_accumulates() {
        let config = SequentialConfig::default();
        let widths: Vec<f64> = [500u64, 5_000, 50_000]
            .iter()
            .map(|&n| {
                let c = ArmSummary::new(n, 1.0, 4.0).unwrap();
                let t = ArmSummary::new(n, 1.0, 4.0).unwrap();
                confidence_sequence(&c, &t, &config).unwrap().half_width
            })
            .collect();
        assert!(widths[0] > widths[1] && widths[1] > widths[2]);
    }
}
