//! The Bayesian A/B test on a normal effect, as GrowthBook's gbstats computes it
//! (`EffectBayesianABTest`).
//!
//! 1. The data give an effect estimate `Δ̂` with variance `v` (see [`super::effect`]:
//!    difference or delta-method lift).
//! 2. A flat prior leaves the posterior `θ ~ N(Δ̂, v)`. A proper prior `N(m₀, v₀)` is
//!    combined by precision weighting: `1/v₁ = 1/v + 1/v₀`,
//!    `m₁ = (Δ̂/v + m₀/v₀) · v₁`. A prior stated on the other scale is converted first,
//!    as gbstats does: absolute → relative divides the mean by `|μc|` and the variance by
//!    `μc²`; relative → absolute multiplies them.
//! 3. With `z = m₁/σ₁` (`σ₁ = √v₁`):
//!    - chance to win `P(θ > 0) = Φ(z)` (gbstats: `norm.sf(0, m₁, σ₁)`);
//!    - credible interval `m₁ ∓ σ₁ Φ⁻¹(1 − α/2)` (gbstats: `norm.ppf([α/2, 1 − α/2], m₁, σ₁)`,
//!      the same numbers by symmetry);
//!    - risk (expected loss) of shipping control `E[max(0, θ)] = m₁ Φ(z) + σ₁ φ(z)`, and of
//!      shipping treatment `E[max(0, −θ)] = σ₁ φ(z) − m₁ Φ(−z)`. gbstats writes these as
//!      `P(θ > 0) · E[θ | θ > 0]` and `−P(θ < 0) · E[θ | θ < 0]` with truncated-normal
//!      means; the closed forms are the same numbers.
//! 4. For a metric where lower is better (`inverse`), the chance to win becomes
//!    `1 − Φ(z)` and the two risks swap.
//!
//! Where we knowingly differ from gbstats:
//! - gbstats returns a placeholder (chance to win 0.5, zero risk) when the control mean
//!   is zero on the relative scale or an arm has no variance; we return an
//!   [`InvalidInput`] naming the field, so the console can say why.
//! - gbstats divides by a *negative* control mean without complaint, which flips the
//!   sign of the lift; we refuse a non-positive control mean on the relative scale.
//! - Recent gbstats releases test `self.config == "absolute"` (always false) when
//!   rescaling an absolute prior for a relative test, so the prior is used unscaled; we
//!   rescale it, as earlier releases did. Relative priors on absolute tests are rescaled
//!   by both.

use super::effect::{self, EffectEstimate, Scale};
use super::level::IntervalLevel;
use super::summary::ArmSummary;
use crate::analytics::special::normal;
use crate::input::InvalidInput;

/// A proper normal prior on the effect, stated on `scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalPrior {
    mean: f64,
    variance: f64,
    scale: Scale,
}

impl NormalPrior {
    pub fn new(mean: f64, variance: f64, scale: Scale) -> Result<Self, InvalidInput> {
        if !mean.is_finite() {
            return Err(InvalidInput::new("prior.mean", "must be a finite number"));
        }
        if !variance.is_finite() || variance <= 0.0 {
            return Err(InvalidInput::new(
                "prior.variance",
                "must be a positive finite number",
            ));
        }
        Ok(Self {
            mean,
            variance,
            scale,
        })
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    pub fn variance(&self) -> f64 {
        self.variance
    }

    pub fn scale(&self) -> Scale {
        self.scale
    }
}

/// The prior on the effect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prior {
    /// An improper flat prior: the posterior is the data (gbstats' default,
    /// `GaussianPrior(proper=False)`).
    Flat,
    Normal(NormalPrior),
}

/// How to run the test. Every part is already checked, so the fields are public.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BayesianConfig {
    pub scale: Scale,
    pub prior: Prior,
    pub level: IntervalLevel,
    /// Lower is better (e.g. refund rate): a negative effect is a win.
    pub inverse: bool,
}

impl Default for BayesianConfig {
    /// gbstats' defaults: relative scale, flat prior, 95 % interval.
    fn default() -> Self {
        Self {
            scale: Scale::Relative,
            prior: Prior::Flat,
            level: IntervalLevel::NINETY_FIVE,
            inverse: false,
        }
    }
}

/// The expected loss of shipping each arm, on the effect's scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Risk {
    /// What is lost, in expectation, by keeping control if treatment is better.
    pub control: f64,
    /// What is lost, in expectation, by shipping treatment if control is better.
    pub treatment: f64,
}

/// The test's inputs, echoed so a console can show exactly what was computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BayesianDefinition {
    pub control: ArmSummary,
    pub treatment: ArmSummary,
    pub config: BayesianConfig,
    /// The prior after conversion to the effect's scale (equal to `config.prior` when the
    /// scales already match).
    pub prior_on_effect_scale: Prior,
}

/// The posterior of the effect and the decision quantities derived from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BayesianResult {
    pub definition: BayesianDefinition,
    /// The data alone: `Δ̂` and its variance.
    pub data: EffectEstimate,
    /// Posterior mean of the effect (gbstats' `expected`).
    pub effect_mean: f64,
    /// Posterior standard deviation of the effect (gbstats' `uplift.stddev`).
    pub effect_sd: f64,
    /// `P(treatment beats control)`, honouring `inverse`.
    pub chance_to_win: f64,
    /// The central credible interval at `definition.config.level`.
    pub credible_interval: (f64, f64),
    pub risk: Risk,
}

/// Runs the Bayesian test of `treatment` against `control`.
pub fn bayesian_test(
    control: &ArmSummary,
    treatment: &ArmSummary,
    config: &BayesianConfig,
) -> Result<BayesianResult, InvalidInput> {
    let data = effect::estimate(control, treatment, config.scale)?;
    let prior = prior_on_scale(config.prior, config.scale, control.mean())?;
    let (effect_mean, effect_variance) = match prior {
        Prior::Flat => (data.mean(), data.variance()),
        Prior::Normal(p) => {
            let precision = 1.0 / data.variance() + 1.0 / p.variance();
            let mean = (data.mean() / data.variance() + p.mean() / p.variance()) / precision;
            (mean, 1.0 / precision)
        }
    };
    let effect_sd = effect_variance.sqrt();
    let half_width = effect_sd * config.level.normal_critical_value();
    let credible_interval = (effect_mean - half_width, effect_mean + half_width);
    let z = effect_mean / effect_sd;
    let (cdf_z, cdf_minus_z) = normal::cdf_pair(z);
    let (gain, loss) = parts_from(effect_mean, effect_sd, cdf_z, cdf_minus_z);
    let (chance_to_win, risk) = if config.inverse {
        (
            cdf_minus_z,
            Risk {
                control: loss,
                treatment: gain,
            },
        )
    } else {
        (
            cdf_z,
            Risk {
                control: gain,
                treatment: loss,
            },
        )
    };
    Ok(BayesianResult {
        definition: BayesianDefinition {
            control: *control,
            treatment: *treatment,
            config: *config,
            prior_on_effect_scale: prior,
        },
        data,
        effect_mean,
        effect_sd,
        chance_to_win,
        credible_interval,
        risk,
    })
}

/// `(E[max(0, θ)], E[max(0, −θ)])` for `θ ~ N(mean, sd²)`.
pub fn positive_and_negative_parts(mean: f64, sd: f64) -> (f64, f64) {
    let (cdf_z, cdf_minus_z) = normal::cdf_pair(mean / sd);
    parts_from(mean, sd, cdf_z, cdf_minus_z)
}

/// The parts given `Φ(z)` and `Φ(−z)` already computed.
fn parts_from(mean: f64, sd: f64, cdf_z: f64, cdf_minus_z: f64) -> (f64, f64) {
    let density = sd * normal::pdf(mean / sd);
    (mean * cdf_z + density, density - mean * cdf_minus_z)
}

/// Converts a prior to the effect's scale using the control mean, as gbstats does.
fn prior_on_scale(prior: Prior, scale: Scale, control_mean: f64) -> Result<Prior, InvalidInput> {
    let Prior::Normal(p) = prior else {
        return Ok(prior);
    };
    let base = control_mean.abs();
    let (mean, variance) = match (p.scale(), scale) {
        (Scale::Absolute, Scale::Relative) => (p.mean() / base, p.variance() / (base * base)),
        (Scale::Relative, Scale::Absolute) => (p.mean() * base, p.variance() * base * base),
        _ => return Ok(prior),
    };
    NormalPrior::new(mean, variance, scale)
        .map(Prior::Normal)
        .map_err(|_| {
            InvalidInput::new(
                "prior",
                "cannot be converted to the other scale when the control mean is zero",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::f64::consts::PI;

    /// Φ by Simpson's rule on the density from far below: independent of `normal::cdf`.
    fn phi_by_integration(z: f64) -> f64 {
        let (a, steps) = (-12.0, 20_000);
        let h = (z - a) / steps as f64;
        let density = |x: f64| (-x * x / 2.0).exp() / (2.0 * PI).sqrt();
        let mut total = density(a) + density(z);
        for i in 1..steps {
            total += if i % 2 == 1 { 4.0 } else { 2.0 } * density(a + h * i as f64);
        }
        total * h / 3.0
    }

    fn arms() -> (ArmSummary, ArmSummary) {
        (
            ArmSummary::new(1000, 10.0, 25.0).unwrap(),
            ArmSummary::new(1200, 10.5, 36.0).unwrap(),
        )
    }

    #[test]
    fn flat_prior_relative_test_matches_the_worked_example() {
        let (control, treatment) = arms();
        let result = bayesian_test(&control, &treatment, &BayesianConfig::default()).unwrap();
        // Worked by hand: lift 0.05; variance (36/1200)/10² + (25/1000)·10.5²/10⁴.
        let mean = 0.05;
        let variance: f64 = 0.03 / 100.0 + 0.025 * 110.25 / 10_000.0;
        let sd: f64 = variance.sqrt();
        assert!((result.effect_mean - mean).abs() < 1e-12);
        assert!((result.effect_sd - sd).abs() < 1e-12);
        let ctw = phi_by_integration(mean / sd);
        assert!((result.chance_to_win - ctw).abs() < 1e-9);
        let z975 = 1.959_963_984_540_054;
        assert!((result.credible_interval.0 - (mean - z975 * sd)).abs() < 1e-9);
        assert!((result.credible_interval.1 - (mean + z975 * sd)).abs() < 1e-9);
        // Risk as gbstats writes it: P(θ>0)·E[θ|θ>0] and −P(θ<0)·E[θ|θ<0], with the
        // truncated-normal means μ ± σ φ(μ/σ) / P(side).
        let density = (-(mean / sd).powi(2) / 2.0).exp() / (2.0 * PI).sqrt();
        let p_pos = ctw;
        let p_neg = 1.0 - ctw;
        let risk_control = p_pos * (mean + sd * density / p_pos);
        let risk_treatment = -p_neg * (mean - sd * density / p_neg);
        assert!((result.risk.control - risk_control).abs() < 1e-9);
        assert!((result.risk.treatment - risk_treatment).abs() < 1e-9);
    }

    #[test]
    fn proper_prior_is_combined_by_precision_weighting() {
        let (control, treatment) = arms();
        let prior = NormalPrior::new(0.0, 0.01, Scale::Relative).unwrap();
        let config = BayesianConfig {
            prior: Prior::Normal(prior),
            ..BayesianConfig::default()
        };
        let result = bayesian_test(&control, &treatment, &config).unwrap();
        let data_variance = 0.03 / 100.0 + 0.025 * 110.25 / 10_000.0;
        let posterior_variance = 1.0 / (1.0 / data_variance + 1.0 / 0.01);
        let posterior_mean = posterior_variance * (0.05 / data_variance);
        assert!((result.effect_mean - posterior_mean).abs() < 1e-12);
        assert!((result.effect_sd - posterior_variance.sqrt()).abs() < 1e-12);
        assert!(result.effect_mean < 0.05, "the prior shrinks towards zero");
    }

    #[test]
    fn absolute_prior_is_rescaled_for_a_relative_test() {
        let (control, treatment) = arms();
        let absolute = NormalPrior::new(0.3, 4.0, Scale::Absolute).unwrap();
        let relative = NormalPrior::new(0.03, 0.04, Scale::Relative).unwrap();
        let run = |prior| {
            let config = BayesianConfig {
                prior: Prior::Normal(prior),
                ..BayesianConfig::default()
            };
            bayesian_test(&control, &treatment, &config).unwrap()
        };
        let (a, b) = (run(absolute), run(relative));
        assert!((a.effect_mean - b.effect_mean).abs() < 1e-15);
        assert!((a.effect_sd - b.effect_sd).abs() < 1e-15);
    }

    #[test]
    fn absolute_conversion_test_matches_the_worked_example() {
        let control = ArmSummary::conversions(10_000, 1_000).unwrap();
        let treatment = ArmSummary::conversions(10_000, 1_080).unwrap();
        let config = BayesianConfig {
            scale: Scale::Absolute,
            ..BayesianConfig::default()
        };
        let result = bayesian_test(&control, &treatment, &config).unwrap();
        let variance = 0.1 * 0.9 / 10_000.0 + 0.108 * 0.892 / 10_000.0;
        assert!((result.effect_mean - 0.008).abs() < 1e-15);
        assert!((result.effect_sd - f64::sqrt(variance)).abs() < 1e-15);
        let ctw = phi_by_integration(0.008 / variance.sqrt());
        assert!((result.chance_to_win - ctw).abs() < 1e-9);
    }

    #[test]
    fn risks_differ_by_the_posterior_mean() {
        // E[max(0, θ)] − E[max(0, −θ)] = E[θ].
        for (mean, sd) in [(0.1, 0.05), (-0.3, 1.0), (0.0, 2.0), (5.0, 0.1)] {
            let (gain, loss) = positive_and_negative_parts(mean, sd);
            assert!((gain - loss - mean).abs() < 1e-12);
            assert!(gain >= 0.0 && loss >= 0.0);
        }
        // At μ = 0 both are σ/√(2π).
        let (gain, _) = positive_and_negative_parts(0.0, 2.0);
        assert!((gain - 2.0 / (2.0 * PI).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn inverse_metrics_flip_the_chance_to_win_and_swap_the_risks() {
        let (control, treatment) = arms();
        let plain = bayesian_test(&control, &treatment, &BayesianConfig::default()).unwrap();
        let config = BayesianConfig {
            inverse: true,
            ..BayesianConfig::default()
        };
        let inverse = bayesian_test(&control, &treatment, &config).unwrap();
        assert!((plain.chance_to_win + inverse.chance_to_win - 1.0).abs() < 1e-15);
        assert_eq!(plain.risk.control, inverse.risk.treatment);
        assert_eq!(plain.risk.treatment, inverse.risk.control);
    }

    #[test]
    fn the_definition_echoes_the_inputs() {
        let (control, treatment) = arms();
        let config = BayesianConfig {
            level: IntervalLevel::new(0.9).unwrap(),
            ..BayesianConfig::default()
        };
        let result = bayesian_test(&control, &treatment, &config).unwrap();
        assert_eq!(result.definition.control, control);
        assert_eq!(result.definition.config.level.level(), 0.9);
        assert_eq!(result.definition.prior_on_effect_scale, Prior::Flat);
    }

    proptest! {
        #[test]
        fn swapping_the_arms_flips_the_chance_to_win_and_the_risks(
            nc in 2u64..100_000, nt in 2u64..100_000,
            mc in -50.0f64..50.0, mt in -50.0f64..50.0,
            vc in 0.01f64..400.0, vt in 0.01f64..400.0,
            proper in proptest::bool::ANY,
        ) {
            let control = ArmSummary::new(nc, mc, vc).unwrap();
            let treatment = ArmSummary::new(nt, mt, vt).unwrap();
            let prior = if proper {
                Prior::Normal(NormalPrior::new(0.0, 4.0, Scale::Absolute).unwrap())
            } else {
                Prior::Flat
            };
            let config = BayesianConfig { scale: Scale::Absolute, prior, ..BayesianConfig::default() };
            let forward = bayesian_test(&control, &treatment, &config).unwrap();
            let backward = bayesian_test(&treatment, &control, &config).unwrap();
            prop_assert!((forward.chance_to_win + backward.chance_to_win - 1.0).abs() < 1e-12);
            prop_assert!((forward.risk.control - backward.risk.treatment).abs() < 1e-9 * (1.0 + forward.risk.control));
            prop_assert!((forward.risk.treatment - backward.risk.control).abs() < 1e-9 * (1.0 + forward.risk.treatment));
            prop_assert!((forward.effect_mean + backward.effect_mean).abs() < 1e-12 * (1.0 + forward.effect_mean.abs()));
        }
    }
}
