//! What a retention table counts: the start and return events, the period and how many,
//! "on" or "unbounded" retention, first-time or recurring cohorts, the UTC offset the
//! calendar is read in, checked once.

use std::fmt;

use crate::input::InvalidInput;

const SECONDS_PER_DAY: i64 = 86_400;

/// The length of a cohort and of a retention period, on the calendar of a fixed UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Day,
    /// Monday to Sunday.
    Week,
    /// A calendar month (28 to 31 days).
    Month,
}

impl Period {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" => Ok(Self::Day),
            "week" | "weekly" => Ok(Self::Week),
            "month" | "monthly" => Ok(Self::Month),
            other => Err(InvalidInput::new(
                "period",
                format!("`{other}` is not a period: use day, week or month"),
            )),
        }
    }

    /// The period of local day `day` (days since 1970-01-01): days since then, weeks
    /// since the Monday 1969-12-29, or months since January 1970.
    pub fn of_day(self, day: i64) -> i64 {
        match self {
            Period::Day => day,
            // 1970-01-01 was a Thursday, three days after a Monday.
            Period::Week => (day + 3).div_euclid(7),
            Period::Month => {
                let (year, month, _) = crate::time::civil_from_days(day);
                year * 12 + i64::from(month) - 1 - 1970 * 12
            }
        }
    }

    /// The first local day (days since 1970-01-01) of period `index`.
    pub fn first_day(self, index: i64) -> i64 {
        match self {
            Period::Day => index,
            Period::Week => index * 7 - 3,
            Period::Month => {
                let months = index + 1970 * 12;
                crate::time::days_from_civil(
                    months.div_euclid(12),
                    months.rem_euclid(12) as u32 + 1,
                    1,
                )
            }
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        })
    }
}

/// When a member counts as retained in period `k` after their cohort's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetentionMode {
    /// Returned in period `k` exactly (Amplitude's "N-day retention").
    On,
    /// Returned in period `k` or any later one (Amplitude's "unbounded retention"), so the
    /// rates never rise with `k`.
    Unbounded,
}

impl RetentionMode {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "on" | "n-day" | "exact" => Ok(Self::On),
            "unbounded" | "on-or-after" => Ok(Self::Unbounded),
            other => Err(InvalidInput::new(
                "mode",
                format!("`{other}` is not a retention mode: use on or unbounded"),
            )),
        }
    }
}

impl fmt::Display for RetentionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RetentionMode::On => "on",
            RetentionMode::Unbounded => "unbounded",
        })
    }
}

/// Which start events make cohorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CohortKind {
    /// A member's first start event only: each member is in one cohort.
    FirstTime,
    /// Every period with a start event: a member is in one cohort per such period.
    Recurring,
}

impl CohortKind {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "first" | "first-time" | "new" => Ok(Self::FirstTime),
            "recurring" | "any" => Ok(Self::Recurring),
            other => Err(InvalidInput::new(
                "cohort",
                format!("`{other}` is not a cohort kind: use first-time or recurring"),
            )),
        }
    }
}

impl fmt::Display for CohortKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CohortKind::FirstTime => "first-time",
            CohortKind::Recurring => "recurring",
        })
    }
}

/// A fixed offset from UTC in seconds, under a day either way (Asia/Shanghai: 28,800).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UtcOffset(i32);

impl UtcOffset {
    pub fn from_seconds(seconds: i64) -> Result<Self, InvalidInput> {
        if seconds.abs() < SECONDS_PER_DAY {
            Ok(Self(seconds as i32))
        } else {
            Err(InvalidInput::new(
                "utc_offset",
                format!("{seconds} seconds is not an offset from UTC: use −86,399 to 86,399"),
            ))
        }
    }

    pub fn seconds(self) -> i32 {
        self.0
    }

    /// The local day (days since 1970-01-01) of the instant `ts` (seconds since the epoch).
    pub fn day_of(self, ts: i64) -> i64 {
        ts.saturating_add(i64::from(self.0))
            .div_euclid(SECONDS_PER_DAY)
    }

    /// The instant local day `day` starts, in seconds since the epoch.
    pub fn start_of_day(self, day: i64) -> i64 {
        day * SECONDS_PER_DAY - i64::from(self.0)
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let abs = self.0.unsigned_abs();
        write!(f, "UTC{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)?;
        let seconds = abs % 60;
        if seconds > 0 {
            write!(f, ":{seconds:02}")?;
        }
        Ok(())
    }
}

/// A retention table's definition, checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSpec {
    start: u32,
    return_event: u32,
    period: Period,
    periods: u32,
    mode: RetentionMode,
    kind: CohortKind,
    offset: UtcOffset,
    breakdown: bool,
}

impl RetentionSpec {
    /// Periods after the cohort's a table may follow.
    pub const MAX_PERIODS: u32 = 1000;

    /// Retention of members doing event `start` (a code in the event table) coming back to
    /// do `return_event` (which may be the same) in each of the `periods` periods after
    /// their cohort's (offsets 0 to `periods`). Defaults: [`RetentionMode::On`],
    /// [`CohortKind::FirstTime`], UTC, no breakdown.
    pub fn new(
        start: u32,
        return_event: u32,
        period: Period,
        periods: u32,
    ) -> Result<Self, InvalidInput> {
        if periods > Self::MAX_PERIODS {
            return Err(InvalidInput::new(
                "periods",
                format!("must be at most {}", Self::MAX_PERIODS),
            ));
        }
        Ok(Self {
            start,
            return_event,
            period,
            periods,
            mode: RetentionMode::On,
            kind: CohortKind::FirstTime,
            offset: UtcOffset::default(),
            breakdown: false,
        })
    }

    pub fn with_mode(mut self, mode: RetentionMode) -> Self {
        self.mode = mode;
        self
    }

    pub fn with_kind(mut self, kind: CohortKind) -> Self {
        self.kind = kind;
        self
    }

    pub fn with_offset(mut self, offset: UtcOffset) -> Self {
        self.offset = offset;
        self
    }

    /// Split cohorts by the breakdown code (e.g. the acquisition channel) of each member's
    /// first start event.
    pub fn with_breakdown(mut self, breakdown: bool) -> Self {
        self.breakdown = breakdown;
        self
    }

    pub fn start(&self) -> u32 {
        self.start
    }

    pub fn return_event(&self) -> u32 {
        self.return_event
    }

    pub fn period(&self) -> Period {
        self.period
    }

    pub fn periods(&self) -> u32 {
        self.periods
    }

    pub fn mode(&self) -> RetentionMode {
        self.mode
    }

    pub fn kind(&self) -> CohortKind {
        self.kind
    }

    pub fn offset(&self) -> UtcOffset {
        self.offset
    }

    pub fn breakdown(&self) -> bool {
        self.breakdown
    }

    /// The period of the instant `ts`.
    pub fn period_of(&self, ts: i64) -> i64 {
        self.period.of_day(self.offset.day_of(ts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::LocalDate;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> i64 {
        LocalDate::new(y, m, d).unwrap().day_number()
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-11-30 is a Monday.
        let monday = day(2026, 11, 30);
        assert_eq!(Period::Week.of_day(monday), Period::Week.of_day(monday + 6));
        assert_eq!(
            Period::Week.of_day(monday) - 1,
            Period::Week.of_day(monday - 1)
        );
        assert_eq!(
            Period::Week.first_day(Period::Week.of_day(monday + 4)),
            monday
        );
        let march = Period::Month.of_day(day(2024, 3, 31));
        assert_eq!(march, Period::Month.of_day(day(2024, 3, 1)));
        assert_eq!(march - 1, Period::Month.of_day(day(2024, 2, 29)));
        assert_eq!(Period::Month.first_day(march), day(2024, 3, 1));
        assert_eq!(Period::Month.of_day(day(1969, 12, 31)), -1);
    }

    #[test]
    fn the_offset_moves_the_day_boundary() {
        let shanghai = UtcOffset::from_seconds(8 * 3600).unwrap();
        // 2026-11-30 16:00 UTC is already December 1st in Shanghai.
        let ts = 1_796_054_400;
        assert_eq!(shanghai.day_of(ts), day(2026, 12, 1));
        assert_eq!(UtcOffset::default().day_of(ts), day(2026, 11, 30));
        assert_eq!(shanghai.start_of_day(day(2026, 12, 1)), ts);
        assert_eq!(shanghai.to_string(), "UTC+08:00");
        assert_eq!(
            UtcOffset::from_seconds(-12_600).unwrap().to_string(),
            "UTC-03:30"
        );
        assert!(UtcOffset::from_seconds(86_400).is_err());
    }

    #[test]
    fn names_parse_and_periods_are_bounded() {
        assert_eq!(Period::parse(" Week ").unwrap(), Period::Week);
        assert!(Period::parse("year").is_err());
        assert_eq!(
            RetentionMode::parse("unbounded").unwrap(),
            RetentionMode::Unbounded
        );
        assert_eq!(
            CohortKind::parse("recurring").unwrap(),
            CohortKind::Recurring
        );
        assert!(RetentionSpec::new(0, 1, Period::Day, 1001).is_err());
        let spec = RetentionSpec::new(0, 1, Period::Day, 7).unwrap();
        assert_eq!(
            (spec.mode(), spec.kind()),
            (RetentionMode::On, CohortKind::FirstTime)
        );
    }

    proptest! {
        #[test]
        fn every_day_lies_in_the_period_that_starts_on_or_before_it(d in -800_000i64..800_000) {
            for period in [Period::Day, Period::Week, Period::Month] {
                let index = period.of_day(d);
                let first = period.first_day(index);
                prop_assert!(first <= d);
                prop_assert_eq!(period.of_day(first), index);
                prop_assert_eq!(period.of_day(first - 1), index - 1);
            }
        }
    }
}
