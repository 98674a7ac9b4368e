//! The coverage of an interval (credible or confidence), e.g. 95 %.

use crate::analytics::special::normal;
use crate::input::InvalidInput;

/// An interval's coverage, strictly between 0 and 1; `alpha = 1 − level`.
///
/// The two-sided normal critical value `Φ⁻¹(1 − α/2)` is computed once here, because
/// every normal interval needs it and it costs more than the rest of a Bayesian test.
#[derive(Debug, Clone, Copy)]
pub struct IntervalLevel {
    level: f64,
    z: f64,
}

impl IntervalLevel {
    /// The 95 % interval every report uses unless told otherwise (gbstats' default too).
    pub const NINETY_FIVE: Self = Self {
        level: 0.95,
        z: 1.959_963_984_540_054,
    };

    pub fn new(level: f64) -> Result<Self, InvalidInput> {
        if level.is_finite() && level > 0.0 && level < 1.0 {
            Ok(Self {
                level,
                z: normal::quantile(1.0 - (1.0 - level) / 2.0),
            })
        } else {
            Err(InvalidInput::new(
                "interval_level",
                "must be strictly between 0 and 1, e.g. 0.95",
            ))
        }
    }

    pub fn level(&self) -> f64 {
        self.level
    }

    /// The total tail probability outside the interval.
    pub fn alpha(&self) -> f64 {
        1.0 - self.level
    }

    /// `Φ⁻¹(1 − α/2)`: the half-width of a normal interval in standard deviations.
    pub fn normal_critical_value(&self) -> f64 {
        self.z
    }
}

/// Levels are equal when their coverage is; the critical value is derived from it (the
/// stored constant for 95 % may differ from a recomputation in the last bit).
impl PartialEq for IntervalLevel {
    fn eq(&self, other: &Self) -> bool {
        self.level == other.level
    }
}

impl Default for IntervalLevel {
    fn default() -> Self {
        Self::NINETY_FIVE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_outside_the_open_unit_interval_are_refused() {
        assert!(IntervalLevel::new(0.0).is_err());
        assert!(IntervalLevel::new(1.0).is_err());
        assert!(IntervalLevel::new(f64::NAN).is_err());
        assert!((IntervalLevel::new(0.9).unwrap().alpha() - 0.1).abs() < 1e-15);
        assert_eq!(IntervalLevel::default().level(), 0.95);
    }

    #[test]
    fn the_stored_critical_value_is_the_normal_quantile() {
        let z = IntervalLevel::NINETY_FIVE.normal_critical_value();
        assert!((z - normal::quantile(0.975)).abs() < 1e-15);
        assert_eq!(
            IntervalLevel::new(0.95).unwrap(),
            IntervalLevel::NINETY_FIVE
        );
        let z90 = IntervalLevel::new(0.9).unwrap().normal_critical_value();
        assert!((z90 - 1.644_853_626_951_472_2).abs() < 1e-14);
    }
}
