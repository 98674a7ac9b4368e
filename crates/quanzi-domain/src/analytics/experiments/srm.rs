//! Sample-ratio mismatch: did assignment deliver the split it was configured for?
//!
//! Pearson's chi-square goodness-of-fit: expected counts `Eᵢ = N wᵢ / Σw`,
//! `χ² = Σ (Oᵢ − Eᵢ)² / Eᵢ` on `k − 1` degrees of freedom, `p = P(χ²_{k−1} > χ²)`.
//! A tiny p-value means the split is broken (a redirect that loses users, a bot filter
//! applied to one arm) and the experiment's results should not be trusted.

use crate::analytics::special::chi_square;
use crate::input::InvalidInput;

/// GrowthBook's default: flag a mismatch when `p < 0.001`, strict because the check runs
/// on every experiment every day.
pub const DEFAULT_SRM_THRESHOLD: f64 = 0.001;

/// The check's inputs, echoed.
#[derive(Debug, Clone, PartialEq)]
pub struct SrmDefinition {
    pub observed: Vec<u64>,
    pub expected_weights: Vec<f64>,
}

/// The goodness-of-fit result.
#[derive(Debug, Clone, PartialEq)]
pub struct SrmResult {
    pub definition: SrmDefinition,
    pub expected_counts: Vec<f64>,
    pub chi_square: f64,
    pub degrees_of_freedom: usize,
    pub p_value: f64,
}

impl SrmResult {
    /// Whether the split is off at `threshold` (see [`DEFAULT_SRM_THRESHOLD`]).
    pub fn is_mismatch(&self, threshold: f64) -> bool {
        self.p_value < threshold
    }
}

/// Tests `observed` counts against the configured `expected_weights`.
pub fn sample_ratio_mismatch(
    observed: &[u64],
    expected_weights: &[f64],
) -> Result<SrmResult, InvalidInput> {
    if observed.len() < 2 {
        return Err(InvalidInput::new("observed", "needs at least two arms"));
    }
    if observed.len() != expected_weights.len() {
        return Err(InvalidInput::new(
            "expected_weights",
            "must have one weight per observed arm",
        ));
    }
    if expected_weights.iter().any(|w| !w.is_finite() || *w <= 0.0) {
        return Err(InvalidInput::new(
            "expected_weights",
            "must all be positive finite numbers",
        ));
    }
    let total: u64 = observed.iter().sum();
    if total == 0 {
        return Err(InvalidInput::new("observed", "has no units yet"));
    }
    let weight_sum: f64 = expected_weights.iter().sum();
    let expected_counts: Vec<f64> = expected_weights
        .iter()
        .map(|w| total as f64 * w / weight_sum)
        .collect();
    let chi_square: f64 = observed
        .iter()
        .zip(&expected_counts)
        .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
        .sum();
    let degrees_of_freedom = observed.len() - 1;
    Ok(SrmResult {
        definition: SrmDefinition {
            observed: observed.to_vec(),
            expected_weights: expected_weights.to_vec(),
        },
        p_value: chi_square::sf(chi_square, degrees_of_freedom as f64),
        expected_counts,
        chi_square,
        degrees_of_freedom,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_five_thousand_to_fifty_two_hundred_split_is_borderline() {
        let result = sample_ratio_mismatch(&[5_000, 5_200], &[0.5, 0.5]).unwrap();
        assert!((result.chi_square - 2.0 * 100.0 * 100.0 / 5_100.0).abs() < 1e-12);
        assert!((result.chi_square - 3.92).abs() < 0.005);
        assert!(result.p_value > 0.047 && result.p_value < 0.048);
        // mpmath: erfc(√(χ²/2)) = 0.0476703806561614…
        assert!((result.p_value - 0.047_670_380_656_161_45).abs() < 1e-12);
        assert!(!result.is_mismatch(DEFAULT_SRM_THRESHOLD));
    }

    #[test]
    fn uneven_weights_set_the_expected_counts() {
        let result = sample_ratio_mismatch(&[900, 2_100], &[3.0, 7.0]).unwrap();
        assert_eq!(result.expected_counts, vec![900.0, 2_100.0]);
        assert_eq!(result.chi_square, 0.0);
        assert!((result.p_value - 1.0).abs() < 1e-15);
    }

    #[test]
    fn three_arms_use_two_degrees_of_freedom() {
        let result = sample_ratio_mismatch(&[1_000, 1_000, 1_200], &[1.0, 1.0, 1.0]).unwrap();
        assert_eq!(result.degrees_of_freedom, 2);
        // χ²₂ survival is e^(−x/2).
        let expected = (-result.chi_square / 2.0).exp();
        assert!((result.p_value - expected).abs() < 1e-15);
        assert!(result.is_mismatch(DEFAULT_SRM_THRESHOLD));
    }

    #[test]
    fn mismatched_inputs_are_refused() {
        assert!(sample_ratio_mismatch(&[1, 2], &[1.0]).is_err());
        assert!(sample_ratio_mismatch(&[1, 2], &[1.0, 0.0]).is_err());
        assert!(sample_ratio_mismatch(&[0, 0], &[1.0, 1.0]).is_err());
    }
}
