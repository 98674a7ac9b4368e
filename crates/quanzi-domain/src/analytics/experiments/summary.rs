//! What every test starts from: one arm summarised as (n, mean, variance).
//!
//! Tests never see raw rows, only these sufficient statistics, so the store can compute
//! them in SQL (`COUNT`, `SUM`, `SUM(x * x)`) and the domain stays free of IO.

use crate::input::InvalidInput;

/// One arm of an experiment: its sample size, the mean of the metric per unit and the
/// variance of the metric per unit (not of the mean).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmSummary {
    n: u64,
    mean: f64,
    variance: f64,
}

impl ArmSummary {
    /// An arm from its size, mean and per-unit variance.
    pub fn new(n: u64, mean: f64, variance: f64) -> Result<Self, InvalidInput> {
        if n == 0 {
            return Err(InvalidInput::new("n", "must be at least 1"));
        }
        if !mean.is_finite() {
            return Err(InvalidInput::new("mean", "must be a finite number"));
        }
        if !variance.is_finite() || variance < 0.0 {
            return Err(InvalidInput::new(
                "variance",
                "must be a finite number of at least 0",
            ));
        }
        Ok(Self { n, mean, variance })
    }

    /// A conversion (binomial) arm: mean `p = conversions / n` and variance `p (1 − p)`,
    /// the population form gbstats uses for its proportion statistic.
    pub fn conversions(n: u64, conversions: u64) -> Result<Self, InvalidInput> {
        if conversions > n {
            return Err(InvalidInput::new(
                "conversions",
                "must not exceed the number of units",
            ));
        }
        if n == 0 {
            return Err(InvalidInput::new("n", "must be at least 1"));
        }
        let p = conversions as f64 / n as f64;
        Self::new(n, p, p * (1.0 - p))
    }

    /// A continuous arm from its running sums (`Σx`, `Σx²`), with the unbiased sample
    /// variance `(Σx² − (Σx)²/n) / (n − 1)` as gbstats computes it.
    pub fn from_sums(n: u64, sum: f64, sum_squares: f64) -> Result<Self, InvalidInput> {
        if n < 2 {
            return Err(InvalidInput::new(
                "n",
                "must be at least 2 to estimate a variance",
            ));
        }
        let nf = n as f64;
        // Rounding can make a zero variance come out a hair below zero.
        let variance = ((sum_squares - sum * sum / nf) / (nf - 1.0)).max(0.0);
        Self::new(n, sum / nf, variance)
    }

    pub fn n(&self) -> u64 {
        self.n
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The per-unit variance.
    pub fn variance(&self) -> f64 {
        self.variance
    }

    /// The variance of the arm's mean, `variance / n`.
    pub fn variance_of_mean(&self) -> f64 {
        self.variance / self.n as f64
    }
}

/// Prefixes a validation error's field with the arm it came from (`control.n`).
pub(crate) fn in_arm(arm: &str, error: InvalidInput) -> InvalidInput {
    let field = format!("{arm}.{}", error.field());
    error.for_field(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_use_the_population_variance() {
        let arm = ArmSummary::conversions(1000, 100).unwrap();
        assert_eq!(arm.mean(), 0.1);
        assert!((arm.variance() - 0.09).abs() < 1e-15);
        assert!(ArmSummary::conversions(10, 11).is_err());
    }

    #[test]
    fn sums_give_the_unbiased_sample_variance() {
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let sum: f64 = values.iter().sum();
        let sum_squares: f64 = values.iter().map(|v| v * v).sum();
        let arm = ArmSummary::from_sums(8, sum, sum_squares).unwrap();
        assert_eq!(arm.mean(), 5.0);
        assert!((arm.variance() - 32.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn impossible_summaries_are_refused_with_the_field_to_fix() {
        assert_eq!(ArmSummary::new(0, 1.0, 1.0).unwrap_err().field(), "n");
        assert_eq!(
            ArmSummary::new(5, 1.0, -1.0).unwrap_err().field(),
            "variance"
        );
        assert_eq!(
            ArmSummary::new(5, f64::NAN, 1.0).unwrap_err().field(),
            "mean"
        );
    }
}
