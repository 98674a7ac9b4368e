//! CUPED (Deng, Xu, Kohavi and Walker, 2013): variance reduction with a pre-period
//! covariate.
//!
//! Each unit has the metric `Y` in the experiment and the same metric `X` from before it
//! started. Because `X` cannot be affected by the treatment, `Y − θ (X − X̄)` has the same
//! expected difference between arms and a smaller variance.
//!
//! - `θ = Σ_arms cov_arm(Y, X)·(n_arm − 1) / Σ_arms var_arm(X)·(n_arm − 1)`: the pooled
//!   *within-arm* regression slope, so a treatment effect in `Y` cannot leak into θ.
//! - Adjusted arm mean: `Ȳ − θ (X̄_arm − X̄)` with `X̄` the mean over both arms, which
//!   keeps adjusted means on the metric's own scale (a relative lift stays meaningful).
//! - Adjusted per-unit variance: `var(Y) + θ² var(X) − 2θ cov(Y, X)` per arm.
//! - Variance reduction: `1 − Var_adj(Δ̂) / Var(Δ̂)` with `Var(Δ̂) = σc²/nc + σt²/nt`;
//!   about `corr(Y, X)²`.
//!
//! gbstats computes the same adjusted absolute difference; its relative lift divides by
//! the unadjusted control mean and adds a covariance term, so CUPED relative results may
//! differ from gbstats in the later digits.

use super::summary::ArmSummary;
use crate::input::InvalidInput;

/// One arm's sums over units: `n`, `ΣY`, `ΣY²`, `ΣX`, `ΣX²`, `ΣXY`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CupedArm {
    pub n: u64,
    pub sum_y: f64,
    pub sum_y2: f64,
    pub sum_x: f64,
    pub sum_x2: f64,
    pub sum_xy: f64,
}

impl CupedArm {
    /// The sums from `(y, x)` pairs: `y` in the experiment, `x` before it.
    pub fn from_pairs(pairs: &[(f64, f64)]) -> Self {
        pairs.iter().fold(
            Self {
                n: 0,
                sum_y: 0.0,
                sum_y2: 0.0,
                sum_x: 0.0,
                sum_x2: 0.0,
                sum_xy: 0.0,
            },
            |acc, &(y, x)| Self {
                n: acc.n + 1,
                sum_y: acc.sum_y + y,
                sum_y2: acc.sum_y2 + y * y,
                sum_x: acc.sum_x + x,
                sum_x2: acc.sum_x2 + x * x,
                sum_xy: acc.sum_xy + x * y,
            },
        )
    }

    /// Co-moments about the arm's own means: `(S_yy, S_xx, S_xy)`, each `(n − 1)` times
    /// the sample (co)variance.
    fn comoments(&self) -> (f64, f64, f64) {
        let n = self.n as f64;
        (
            self.sum_y2 - self.sum_y * self.sum_y / n,
            self.sum_x2 - self.sum_x * self.sum_x / n,
            self.sum_xy - self.sum_x * self.sum_y / n,
        )
    }
}

/// The adjustment's inputs, echoed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CupedDefinition {
    pub control: CupedArm,
    pub treatment: CupedArm,
}

/// Adjusted arms, ready for any of the tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CupedResult {
    pub definition: CupedDefinition,
    pub theta: f64,
    pub control: ArmSummary,
    pub treatment: ArmSummary,
    pub unadjusted_control: ArmSummary,
    pub unadjusted_treatment: ArmSummary,
    /// `1 − Var_adj(Δ̂) / Var(Δ̂)`, e.g. 0.4 for 40 % less variance.
    pub variance_reduction: f64,
}

/// Applies CUPED to both arms.
pub fn cuped(control: &CupedArm, treatment: &CupedArm) -> Result<CupedResult, InvalidInput> {
    for (arm, data) in [("control", control), ("treatment", treatment)] {
        if data.n < 2 {
            return Err(InvalidInput::new(
                format!("{arm}.n"),
                "must be at least 2 to estimate a variance",
            ));
        }
        let sums = [
            data.sum_y,
            data.sum_y2,
            data.sum_x,
            data.sum_x2,
            data.sum_xy,
        ];
        if sums.iter().any(|s| !s.is_finite()) {
            return Err(InvalidInput::new(arm, "sums must be finite numbers"));
        }
    }
    let (c_yy, c_xx, c_xy) = control.comoments();
    let (t_yy, t_xx, t_xy) = treatment.comoments();
    let s_xx = c_xx + t_xx;
    // A covariate without variation explains nothing: fall back to no adjustment.
    let theta = if s_xx > 0.0 {
        (c_xy + t_xy) / s_xx
    } else {
        0.0
    };
    let grand_x = (control.sum_x + treatment.sum_x) / (control.n + treatment.n) as f64;
    let adjust = |data: &CupedArm, (s_yy, s_xx, s_xy): (f64, f64, f64)| {
        let n = data.n as f64;
        let mean = data.sum_y / n - theta * (data.sum_x / n - grand_x);
        let variance = ((s_yy + theta * theta * s_xx - 2.0 * theta * s_xy) / (n - 1.0)).max(0.0);
        let unadjusted = ArmSummary::new(data.n, data.sum_y / n, (s_yy / (n - 1.0)).max(0.0));
        Ok::<_, InvalidInput>((ArmSummary::new(data.n, mean, variance)?, unadjusted?))
    };
    let (control_adjusted, control_raw) = adjust(control, (c_yy, c_xx, c_xy))?;
    let (treatment_adjusted, treatment_raw) = adjust(treatment, (t_yy, t_xx, t_xy))?;
    let before = control_raw.variance_of_mean() + treatment_raw.variance_of_mean();
    let after = control_adjusted.variance_of_mean() + treatment_adjusted.variance_of_mean();
    let variance_reduction = if before > 0.0 {
        1.0 - after / before
    } else {
        0.0
    };
    Ok(CupedResult {
        definition: CupedDefinition {
            control: *control,
            treatment: *treatment,
        },
        theta,
        control: control_adjusted,
        treatment: treatment_adjusted,
        unadjusted_control: control_raw,
        unadjusted_treatment: treatment_raw,
        variance_reduction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn theta_is_the_pooled_within_arm_slope() {
        // Control: y = 2x exactly; treatment: y = 2x + 5. Within-arm slope is 2 in both.
        let control = CupedArm::from_pairs(&[(2.0, 1.0), (4.0, 2.0), (6.0, 3.0)]);
        let treatment = CupedArm::from_pairs(&[(9.0, 2.0), (11.0, 3.0), (13.0, 4.0)]);
        let result = cuped(&control, &treatment).unwrap();
        assert!((result.theta - 2.0).abs() < 1e-12);
        // The covariate explains everything: no variance remains.
        assert!(result.control.variance() < 1e-12);
        assert!((result.variance_reduction - 1.0).abs() < 1e-12);
        // Grand X̄ = 2.5; control 4 − 2(2 − 2.5) = 5, treatment 11 − 2(3 − 2.5) = 10.
        assert!((result.control.mean() - 5.0).abs() < 1e-12);
        assert!((result.treatment.mean() - 10.0).abs() < 1e-12);
    }

    #[test]
    fn correlated_covariates_reduce_variance_by_about_the_squared_correlation() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut draw = |shift: f64| {
            let pairs: Vec<(f64, f64)> = (0..20_000)
                .map(|_| {
                    let x: f64 = rng.gen_range(0.0..10.0);
                    let noise: f64 = rng.gen_range(-5.0..5.0);
                    (x + noise + shift, x)
                })
                .collect();
            CupedArm::from_pairs(&pairs)
        };
        let control = draw(0.0);
        let treatment = draw(0.5);
        let result = cuped(&control, &treatment).unwrap();
        // Var(x) = Var(noise) = 100/12, so corr² = 1/2.
        assert!((result.theta - 1.0).abs() < 0.03);
        assert!((result.variance_reduction - 0.5).abs() < 0.02);
        // The difference in means is preserved up to the covariate imbalance.
        let raw = result.unadjusted_treatment.mean() - result.unadjusted_control.mean();
        let adjusted = result.treatment.mean() - result.control.mean();
        let imbalance = treatment.sum_x / 20_000.0 - control.sum_x / 20_000.0;
        assert!((raw - adjusted - result.theta * imbalance).abs() < 1e-9);
    }

    #[test]
    fn a_constant_covariate_leaves_the_data_unadjusted() {
        let control = CupedArm::from_pairs(&[(1.0, 3.0), (2.0, 3.0), (4.0, 3.0)]);
        let treatment = CupedArm::from_pairs(&[(2.0, 3.0), (5.0, 3.0)]);
        let result = cuped(&control, &treatment).unwrap();
        assert_eq!(result.theta, 0.0);
        assert_eq!(result.control, result.unadjusted_control);
        assert_eq!(result.variance_reduction, 0.0);
    }
}
