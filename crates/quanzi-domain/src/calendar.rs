//! Workspace time zones and local calendar dates, for every rule that speaks of "a day",
//! "this week" or "the end of the month" (check-ins, caps, expiries, tier reviews).
//!
//! Only fixed-offset zones are supported: China has no daylight saving time, and a fixed
//! offset keeps every local day exactly 24 hours long, so day arithmetic needs no tz
//! database. Named zones come from a table of IANA zones that currently observe no daylight
//! saving time; their present offset applies to all dates, history included.

use std::fmt;

use crate::input::InvalidInput;
use crate::time::{civil_from_days, days_from_civil, days_in_month, Timestamp};

const MILLIS_PER_DAY: i64 = 86_400_000;
const HOUR: i32 = 3600;

/// IANA zones without daylight saving time, with their UTC offset in minutes.
const FIXED_ZONES: &[(&str, i32)] = &[
    ("Asia/Shanghai", 480),
    ("Asia/Chongqing", 480),
    ("Asia/Harbin", 480),
    ("Asia/Urumqi", 360),
    ("Asia/Kashgar", 360),
    ("Asia/Hong_Kong", 480),
    ("Asia/Macau", 480),
    ("Asia/Taipei", 480),
    ("Asia/Singapore", 480),
    ("Asia/Kuala_Lumpur", 480),
    ("Asia/Manila", 480),
    ("Australia/Perth", 480),
    ("Asia/Tokyo", 540),
    ("Asia/Seoul", 540),
    ("Australia/Brisbane", 600),
    ("Asia/Jakarta", 420),
    ("Asia/Bangkok", 420),
    ("Asia/Ho_Chi_Minh", 420),
    ("Asia/Yangon", 390),
    ("Asia/Dhaka", 360),
    ("Asia/Kathmandu", 345),
    ("Asia/Kolkata", 330),
    ("Asia/Karachi", 300),
    ("Asia/Dubai", 240),
    ("Asia/Riyadh", 180),
    ("Asia/Qatar", 180),
    ("Europe/Moscow", 180),
    ("Africa/Nairobi", 180),
    ("Africa/Johannesburg", 120),
    ("Africa/Lagos", 60),
    ("America/Sao_Paulo", -180),
    ("America/Argentina/Buenos_Aires", -180),
    ("America/Bogota", -300),
    ("America/Lima", -300),
    ("America/Mexico_City", -360),
    ("Pacific/Honolulu", -600),
];

/// Common zones that do observe daylight saving time, named so the refusal can say why.
const DST_ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Vancouver",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Australia/Sydney",
    "Australia/Melbourne",
    "Pacific/Auckland",
];

/// A fixed UTC offset with its canonical name (`Asia/Shanghai`, `UTC` or `+05:30`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeZone {
    name: String,
    offset_seconds: i32,
}

impl TimeZone {
    /// The default workspace zone.
    pub fn shanghai() -> Self {
        Self::named("Asia/Shanghai", 8 * HOUR)
    }

    pub fn utc() -> Self {
        Self::named("UTC", 0)
    }

    /// Accepts `UTC`, `Etc/UTC`, `GMT`, `Z`, offsets (`+08:00`, `-0530`, `UTC+8`,
    /// `GMT-05:30`) and the IANA names of [`TimeZone::supported_names`], ignoring case.
    pub fn parse(raw: &str) -> Result<TimeZone, InvalidInput> {
        let trimmed = raw.trim();
        let upper = trimmed.to_ascii_uppercase();
        if matches!(upper.as_str(), "UTC" | "ETC/UTC" | "GMT" | "ETC/GMT" | "Z") {
            return Ok(Self::utc());
        }
        if let Some(&(name, minutes)) = FIXED_ZONES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(trimmed))
        {
            return Ok(Self::named(name, minutes * 60));
        }
        let offset = ["UTC", "GMT", ""]
            .iter()
            .find_map(|prefix| upper.strip_prefix(prefix).and_then(parse_offset));
        if let Some(offset_seconds) = offset {
            return Ok(Self::fixed(offset_seconds));
        }
        let message = if DST_ZONES.iter().any(|z| z.eq_ignore_ascii_case(trimmed)) {
            format!(
                "`{trimmed}` observes daylight saving time; only zones without daylight saving \
                 time are supported: use one such as Asia/Shanghai or a fixed offset such as +08:00"
            )
        } else {
            format!(
                "`{trimmed}` is not a known time zone; only zones without daylight saving time \
                 are supported: use one such as Asia/Shanghai or a fixed offset such as +08:00"
            )
        };
        Err(InvalidInput::new("time_zone", message))
    }

    /// The IANA names `parse` knows, for the console's zone picker.
    pub fn supported_names() -> impl Iterator<Item = &'static str> {
        FIXED_ZONES.iter().map(|(name, _)| *name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn offset_seconds(&self) -> i32 {
        self.offset_seconds
    }

    fn named(name: &str, offset_seconds: i32) -> Self {
        Self {
            name: name.to_owned(),
            offset_seconds,
        }
    }

    fn fixed(offset_seconds: i32) -> Self {
        if offset_seconds == 0 {
            return Self::utc();
        }
        let sign = if offset_seconds < 0 { '-' } else { '+' };
        let minutes = offset_seconds.abs() / 60;
        Self::named(
            &format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60),
            offset_seconds,
        )
    }

    fn offset_millis(&self) -> i64 {
        i64::from(self.offset_seconds) * 1000
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self::shanghai()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// `+8`, `+08`, `+08:00`, `-0530`: a signed offset between -12:00 and +14:00, the range
/// real zones use.
fn parse_offset(raw: &str) -> Option<i32> {
    let sign = match raw.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &raw[1..];
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit() || c == b':') {
        return None;
    }
    let (hours, minutes) = match body.split_once(':') {
        Some((h, m)) if (1..=2).contains(&h.len()) && m.len() == 2 => (h, m),
        Some(_) => return None,
        None if body.len() <= 2 => (body, "0"),
        None if body.len() == 4 => body.split_at(2),
        None => return None,
    };
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    let total = sign * (hours * HOUR + minutes * 60);
    (minutes < 60 && (-12 * HOUR..=14 * HOUR).contains(&total)).then_some(total)
}

/// Days of the week, ISO order: weeks start on Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// Monday is 0, Sunday is 6.
    pub fn days_from_monday(self) -> u32 {
        self as u32
    }
}

/// A calendar date in some zone, between 0001-01-01 and 9999-12-31. Orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDate {
    year: i32,
    month: u8,
    day: u8,
}

impl LocalDate {
    pub const MIN: LocalDate = LocalDate {
        year: 1,
        month: 1,
        day: 1,
    };
    pub const MAX: LocalDate = LocalDate {
        year: 9999,
        month: 12,
        day: 31,
    };

    /// The date, if it exists and lies within the supported years.
    pub fn new(year: i32, month: u32, day: u32) -> Option<LocalDate> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && i64::from(day) <= days_in_month(i64::from(year), i64::from(month));
        valid.then_some(LocalDate {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(raw: &str) -> Result<LocalDate, InvalidInput> {
        let trimmed = raw.trim();
        let b = trimmed.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        shaped
            .then(|| {
                let num = |r: std::ops::Range<usize>| trimmed[r].parse::<u32>().ok();
                LocalDate::new(num(0..4)? as i32, num(5..7)?, num(8..10)?)
            })
            .flatten()
            .ok_or_else(|| {
                InvalidInput::new("date", format!("`{trimmed}` is not a date like 2026-11-23"))
            })
    }

    /// The local date of an instant in a zone.
    pub fn of(at: Timestamp, tz: &TimeZone) -> LocalDate {
        let local = at.millis().saturating_add(tz.offset_millis());
        Self::from_day_number(local.div_euclid(MILLIS_PER_DAY))
    }

    /// Local midnight at the start of this date, as a UTC instant.
    pub fn start_in(self, tz: &TimeZone) -> Timestamp {
        Timestamp::from_millis(self.day_number() * MILLIS_PER_DAY - tz.offset_millis())
    }

    /// Days since 1970-01-01 (negative before), for cheap arithmetic and storage.
    pub fn day_number(self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            u32::from(self.month),
            u32::from(self.day),
        )
    }

    /// The date `day_number` days after 1970-01-01, clamped to [`LocalDate::MIN`] and
    /// [`LocalDate::MAX`] so arithmetic never panics.
    pub fn from_day_number(day_number: i64) -> LocalDate {
        let clamped = day_number.clamp(Self::MIN.day_number(), Self::MAX.day_number());
        let (year, month, day) = civil_from_days(clamped);
        LocalDate {
            year: year as i32,
            month: month as u8,
            day: day as u8,
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        u32::from(self.month)
    }

    pub fn day(self) -> u32 {
        u32::from(self.day)
    }

    /// Saturates at [`LocalDate::MIN`] and [`LocalDate::MAX`].
    pub fn add_days(self, days: i64) -> LocalDate {
        Self::from_day_number(self.day_number().saturating_add(days))
    }

    pub fn next_day(self) -> LocalDate {
        self.add_days(1)
    }

    pub fn prev_day(self) -> LocalDate {
        self.add_days(-1)
    }

    /// Days from `self` to `other`: positive when `other` is later.
    pub fn days_until(self, other: LocalDate) -> i64 {
        other.day_number() - self.day_number()
    }

    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday, three days after a Monday.
        Weekday::ALL[(self.day_number() + 3).rem_euclid(7) as usize]
    }

    /// The Monday of this date's ISO week.
    pub fn start_of_week(self) -> LocalDate {
        self.add_days(-i64::from(self.weekday().days_from_monday()))
    }

    pub fn start_of_month(self) -> LocalDate {
        LocalDate { day: 1, ..self }
    }

    /// The last day of this date's month.
    pub fn end_of_month(self) -> LocalDate {
        let last = days_in_month(i64::from(self.year), i64::from(self.month));
        LocalDate {
            day: last as u8,
            ..self
        }
    }

    pub fn start_of_year(self) -> LocalDate {
        LocalDate {
            month: 1,
            day: 1,
            ..self
        }
    }

    /// December 31st of this date's year.
    pub fn end_of_year(self) -> LocalDate {
        LocalDate {
            month: 12,
            day: 31,
            ..self
        }
    }
}

impl fmt::Display for LocalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(raw: &str) -> LocalDate {
        LocalDate::parse(raw).unwrap()
    }

    fn at(raw: &str) -> Timestamp {
        Timestamp::parse_rfc3339(raw).unwrap()
    }

    #[test]
    fn zones_parse_names_offsets_and_utc_spellings() {
        let cases = [
            ("Asia/Shanghai", "Asia/Shanghai", 8 * 3600),
            (" asia/shanghai ", "Asia/Shanghai", 8 * 3600),
            ("Asia/Urumqi", "Asia/Urumqi", 6 * 3600),
            ("Asia/Kolkata", "Asia/Kolkata", 5 * 3600 + 1800),
            ("America/Sao_Paulo", "America/Sao_Paulo", -3 * 3600),
            ("Pacific/Honolulu", "Pacific/Honolulu", -10 * 3600),
            ("UTC", "UTC", 0),
            ("Etc/UTC", "UTC", 0),
            ("Z", "UTC", 0),
            ("+00:00", "UTC", 0),
            ("+08:00", "+08:00", 8 * 3600),
            ("-05:30", "-05:30", -(5 * 3600 + 1800)),
            ("UTC+8", "+08:00", 8 * 3600),
            ("utc-0530", "-05:30", -(5 * 3600 + 1800)),
            ("GMT+14", "+14:00", 14 * 3600),
        ];
        for (raw, name, offset) in cases {
            let tz = TimeZone::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!((tz.name(), tz.offset_seconds()), (name, offset), "{raw}");
            assert_eq!(tz.to_string(), name);
        }
        assert_eq!(TimeZone::default(), TimeZone::shanghai());
    }

    #[test]
    fn zones_with_daylight_saving_time_or_nonsense_are_refused() {
        let dst = TimeZone::parse("America/New_York").unwrap_err();
        assert_eq!(dst.field(), "time_zone");
        assert!(dst.message().contains("daylight saving"), "{dst}");
        assert!(dst.message().contains("+08:00"), "{dst}");
        for bad in [
            "Europe/Berlin",
            "Mars/Olympus",
            "+15:00",
            "-13",
            "+8:60",
            "UTC+",
            "8",
            "",
        ] {
            assert!(TimeZone::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn every_supported_name_parses_to_itself() {
        for name in TimeZone::supported_names() {
            assert_eq!(TimeZone::parse(name).unwrap().name(), name);
        }
    }

    #[test]
    fn shanghai_days_turn_at_sixteen_hundred_utc() {
        let sh = TimeZone::shanghai();
        assert_eq!(
            LocalDate::of(at("2026-11-23T15:59:59.999Z"), &sh),
            date("2026-11-23")
        );
        assert_eq!(
            LocalDate::of(at("2026-11-23T16:00:00Z"), &sh),
            date("2026-11-24")
        );
        assert_eq!(date("2026-11-24").start_in(&sh), at("2026-11-23T16:00:00Z"));
    }

    #[test]
    fn negative_offsets_keep_the_previous_date_until_their_midnight() {
        let bogota = TimeZone::parse("America/Bogota").unwrap();
        assert_eq!(
            LocalDate::of(at("2027-01-01T04:59:59.999Z"), &bogota),
            date("2026-12-31")
        );
        assert_eq!(
            LocalDate::of(at("2027-01-01T05:00:00Z"), &bogota),
            date("2027-01-01")
        );
        assert_eq!(
            date("2027-01-01").start_in(&bogota),
            at("2027-01-01T05:00:00Z")
        );
        assert_eq!(
            LocalDate::of(Timestamp::from_millis(-1), &TimeZone::utc()),
            date("1969-12-31")
        );
    }

    #[test]
    fn month_and_year_ends_and_leap_days() {
        assert_eq!(date("2024-02-10").end_of_month(), date("2024-02-29"));
        assert_eq!(date("2026-02-10").end_of_month(), date("2026-02-28"));
        assert_eq!(date("1900-02-01").end_of_month(), date("1900-02-28"));
        assert_eq!(date("2000-02-01").end_of_month(), date("2000-02-29"));
        assert_eq!(date("2024-02-28").next_day(), date("2024-02-29"));
        assert_eq!(date("2024-02-29").next_day(), date("2024-03-01"));
        assert_eq!(date("2026-12-31").next_day(), date("2027-01-01"));
        assert_eq!(date("2027-01-01").prev_day(), date("2026-12-31"));
        assert_eq!(date("2026-11-23").end_of_year(), date("2026-12-31"));
        assert_eq!(date("2026-11-23").start_of_month(), date("2026-11-01"));
        assert_eq!(date("2024-01-01").days_until(date("2025-01-01")), 366);
        assert!(LocalDate::parse("2026-02-29").is_err());
        assert!(LocalDate::parse("2026-2-1").is_err());
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-23 is a Monday; 2026-11-29 the Sunday of the same ISO week.
        assert_eq!(date("2026-11-23").weekday(), Weekday::Monday);
        assert_eq!(date("2026-11-29").weekday(), Weekday::Sunday);
        assert_eq!(date("2026-11-29").start_of_week(), date("2026-11-23"));
        assert_eq!(date("2026-11-23").start_of_week(), date("2026-11-23"));
        // Weeks cross year ends: Friday 2027-01-01 belongs to the week of Monday 2026-12-28.
        assert_eq!(date("2027-01-01").start_of_week(), date("2026-12-28"));
    }

    #[test]
    fn arithmetic_saturates_at_the_supported_range() {
        assert_eq!(LocalDate::MAX.add_days(i64::MAX), LocalDate::MAX);
        assert_eq!(LocalDate::MIN.add_days(i64::MIN), LocalDate::MIN);
        assert_eq!(
            LocalDate::of(Timestamp::from_millis(i64::MAX), &TimeZone::shanghai()),
            LocalDate::MAX
        );
    }

    proptest! {
        #[test]
        fn dates_round_trip_through_their_start_instant(
            day in -100_000i64..100_000,
            offset_minutes in -720i32..=840,
        ) {
            let tz = TimeZone::fixed(offset_minutes * 60);
            let d = LocalDate::from_day_number(day);
            let start = d.start_in(&tz);
            prop_assert_eq!(LocalDate::of(start, &tz), d);
            prop_assert_eq!(LocalDate::of(Timestamp::from_millis(start.millis() - 1), &tz), d.prev_day());
            prop_assert_eq!(LocalDate::parse(&d.to_string()).unwrap(), d);
            prop_assert_eq!(d.add_days(40).days_until(d), -40);
        }
    }
}
