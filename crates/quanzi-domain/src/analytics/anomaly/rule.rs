//! Alert rules as operators define them: which metric, how often, which baseline, how far
//! off, and what to do when it fires.

use crate::input::InvalidInput;

use super::baseline::{AnomalyConfig, Direction, Method};

/// The metrics a rule can watch, computed per bucket from stored orders, refunds,
/// events and members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Paid amount of the orders paid in the bucket (fen).
    Gmv,
    /// Orders paid in the bucket.
    Orders,
    /// Members created in the bucket.
    NewMembers,
    /// Distinct members with any event in the bucket.
    ActiveMembers,
    /// Distinct buyers ÷ distinct active members (events or orders).
    ConversionRate,
    /// Refunded amount in the bucket ÷ paid amount in the bucket.
    RefundRate,
    /// Distinct members who shared ÷ distinct active members.
    ShareRate,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::Gmv,
        Metric::Orders,
        Metric::NewMembers,
        Metric::ActiveMembers,
        Metric::ConversionRate,
        Metric::RefundRate,
        Metric::ShareRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Gmv => "gmv",
            Metric::Orders => "orders",
            Metric::NewMembers => "new_members",
            Metric::ActiveMembers => "active_members",
            Metric::ConversionRate => "conversion_rate",
            Metric::RefundRate => "refund_rate",
            Metric::ShareRate => "share_rate",
        }
    }

    pub fn parse(raw: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == raw)
    }

    /// Rates are ratios of two counts; a bucket whose denominator is below the rule's
    /// minimum is not judged (two orders and one refund is not a 50 % refund crisis).
    pub fn is_rate(self) -> bool {
        matches!(
            self,
            Metric::ConversionRate | Metric::RefundRate | Metric::ShareRate
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Local calendar days in the workspace's time zone; weekday seasonality.
    Day,
    /// Hours; hour-of-week seasonality, for alerts within the hour.
    Hour,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Hour => "hour",
        }
    }

    pub fn parse(raw: &str) -> Option<Granularity> {
        match raw {
            "day" => Some(Granularity::Day),
            "hour" => Some(Granularity::Hour),
            _ => None,
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Granularity::Day => 86_400,
            Granularity::Hour => 3_600,
        }
    }

    /// Buckets per weekly cycle.
    pub fn season(self) -> usize {
        match self {
            Granularity::Day => 7,
            Granularity::Hour => 168,
        }
    }
}

/// What a rule watches and when it fires.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertCondition {
    pub metric: Metric,
    pub granularity: Granularity,
    pub method: Method,
    pub direction: Direction,
    /// |score| at or above which the rule fires (default 3.5).
    pub threshold: f64,
    /// Earlier weeks the baseline reads (default 8).
    pub lookback_weeks: usize,
    /// For rates: the least denominator (orders, active members, paid fen) a bucket needs.
    pub min_denominator: f64,
}

impl AlertCondition {
    pub fn check(&self) -> Result<(), InvalidInput> {
        if !(self.threshold.is_finite() && self.threshold > 0.0 && self.threshold <= 100.0) {
            return Err(InvalidInput::new(
                "threshold",
                "must be a number above 0 and at most 100 (3.5 is a good start)",
            ));
        }
        if !(3..=52).contains(&self.lookback_weeks) {
            return Err(InvalidInput::new(
                "lookback_weeks",
                "must be between 3 and 52 weeks",
            ));
        }
        if !(self.min_denominator.is_finite() && self.min_denominator >= 0.0) {
            return Err(InvalidInput::new(
                "min_denominator",
                "must be zero or a positive number",
            ));
        }
        Ok(())
    }

    pub fn config(&self) -> AnomalyConfig {
        AnomalyConfig {
            method: self.method,
            season: self.granularity.season(),
            lookback: self.lookback_weeks,
            direction: self.direction,
            threshold: self.threshold,
            ..AnomalyConfig::default()
        }
    }

    /// Buckets of history to read for judging the newest one.
    pub fn history_buckets(&self) -> usize {
        self.granularity.season() * self.lookback_weeks + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition() -> AlertCondition {
        AlertCondition {
            metric: Metric::RefundRate,
            granularity: Granularity::Day,
            method: Method::RobustZ,
            direction: Direction::Up,
            threshold: 3.5,
            lookback_weeks: 8,
            min_denominator: 1000.0,
        }
    }

    #[test]
    fn names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.as_str()), Some(m));
        }
        assert_eq!(Metric::parse("gmv_usd"), None);
        assert_eq!(Granularity::parse("hour"), Some(Granularity::Hour));
        assert_eq!(Method::parse("ewma"), Some(Method::Ewma));
        assert_eq!(Direction::parse("sideways"), None);
    }

    #[test]
    fn a_condition_is_checked_field_by_field() {
        assert!(condition().check().is_ok());
        let bad = AlertCondition {
            threshold: 0.0,
            ..condition()
        };
        assert_eq!(bad.check().unwrap_err().field(), "threshold");
        let bad = AlertCondition {
            lookback_weeks: 2,
            ..condition()
        };
        assert_eq!(bad.check().unwrap_err().field(), "lookback_weeks");
        let bad = AlertCondition {
            min_denominator: f64::NAN,
            ..condition()
        };
        assert_eq!(bad.check().unwrap_err().field(), "min_denominator");
    }

    #[test]
    fn hourly_rules_read_hour_of_week_history() {
        let hourly = AlertCondition {
            granularity: Granularity::Hour,
            lookback_weeks: 4,
            ..condition()
        };
        assert_eq!(hourly.config().season, 168);
        assert_eq!(hourly.history_buckets(), 168 * 4 + 1);
    }
}
