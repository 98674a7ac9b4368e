//! Experiments: who sees which variant, and what the results say.
//!
//! Everything here is a pure function of summaries (counts, means, variances, sums), so
//! the store computes the summaries in SQL and a console can recompute and explain any
//! number. Every result carries a `definition` that echoes its inputs (sample sizes,
//! scale, prior, interval level) so it can be shown honestly next to the verdict.
//!
//! # Layout
//! - [`assignment`]: deterministic SHA-256 bucketing of (experiment, member) into
//!   weighted variants, and family-wide holdout groups.
//! - [`summary`]: [`summary::ArmSummary`], one arm as (n, mean, variance).
//! - [`level`]: the interval level (95 % by default).
//! - [`effect`]: the absolute or relative (delta-method) effect and its variance.
//! - [`bayesian`]: GrowthBook gbstats' Bayesian test on a normal effect: chance to win,
//!   risk, credible interval, flat or normal prior.
//! - [`beta_binomial`]: Beta posteriors for conversions, exact `P(B > A)` (Evan Miller's
//!   sum) with a documented normal fallback, expected loss.
//! - [`welch`]: Welch's t-test.
//! - [`sequential`]: always-valid confidence sequences (normal mixture) for peeking.
//! - [`cuped`]: variance reduction with a pre-period covariate.
//! - [`srm`]: the sample-ratio-mismatch chi-square check.
//! - [`thompson`]: top-two Thompson sampling to reallocate traffic.
//! - [`incrementality`]: a program's lift over its holdout.
//! - the special functions behind them (normal, Student t, chi-square, Beta, gamma) are in
//!   [`crate::analytics::special`], shared with lifetime value, written here to keep the
//!   crate free of numeric dependencies.
//! - `sampling` (private): seeded Beta/Gamma/normal draws for the Monte Carlo parts.
//!
//! # Formulas
//! With arms summarised as `(n, μ, σ²)` (per-unit variance; conversions use `p (1 − p)`):
//!
//! | quantity | formula |
//! | --- | --- |
//! | absolute effect | `Δ = μt − μc`, `v = σt²/nt + σc²/nc` |
//! | relative effect | `Δ = (μt − μc)/μc`, `v = (σt²/nt)/μc² + (σc²/nc) μt²/μc⁴` (delta method) |
//! | posterior, flat prior | `θ ~ N(Δ, v)` |
//! | posterior, prior `N(m₀, v₀)` | `1/v₁ = 1/v + 1/v₀`, `m₁ = v₁ (Δ/v + m₀/v₀)` |
//! | chance to win | `Φ(m₁/σ₁)` |
//! | credible interval | `m₁ ± σ₁ Φ⁻¹(1 − α/2)` |
//! | risk of control / treatment | `m₁ Φ(z) + σ₁ φ(z)` / `σ₁ φ(z) − m₁ Φ(−z)`, `z = m₁/σ₁` |
//! | Beta-Binomial `P(B > A)` | `Σ_{i<α_B} B(α_A+i, β_A+β_B) / ((β_B+i) B(1+i, β_B) B(α_A, β_A))` |
//! | Welch | `t = Δ/√v`, `df = v² / Σ (σ²/n)²/(n − 1)` |
//! | confidence sequence | `Δ ± √(v N) √(2(Nρ²+1)/(N²ρ²) ln(√(Nρ²+1)/α))` |
//! | CUPED | `θ = Σ S_xy / Σ S_xx`, `Ȳ − θ (X̄_arm − X̄)`, `σ_Y² + θ² σ_X² − 2θ σ_XY` |
//! | SRM | `χ² = Σ (O − E)²/E`, `p = P(χ²_{k−1} > χ²)` |
//! | top-two Thompson | `wᵢ = β pᵢ + (1 − β) Σ_{j≠i} pⱼ pᵢ/(1 − pⱼ)` |
//!
//! Each module's documentation gives the details and the sources.

pub mod assignment;
pub mod bayesian;
pub mod beta_binomial;
pub mod cuped;
pub mod effect;
pub mod incrementality;
pub mod level;
mod sampling;
pub mod sequential;
pub mod srm;
pub mod summary;
pub mod thompson;
pub mod welch;
