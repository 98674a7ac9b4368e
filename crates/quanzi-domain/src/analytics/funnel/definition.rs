//! What a funnel counts: its steps, how they must follow each other, the conversion window
//! and the exclusion events, checked once so the walk over events never has to.

use std::fmt;

use crate::input::InvalidInput;

/// How the steps of a funnel must follow each other in a member's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelMode {
    /// Steps in the given order; any other events may happen in between.
    Ordered,
    /// Steps in the given order with nothing in between: the member's very next event
    /// after step k (of any type, in the whole table) must be step k + 1.
    Strict,
    /// The steps in any order; a member is at step k when k distinct steps happened within
    /// one window, which starts at whichever step came first.
    Unordered,
}

impl FunnelMode {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "ordered" => Ok(Self::Ordered),
            "strict" => Ok(Self::Strict),
            "unordered" | "any" => Ok(Self::Unordered),
            other => Err(InvalidInput::new(
                "mode",
                format!("`{other}` is not a funnel mode: use ordered, strict or unordered"),
            )),
        }
    }
}

impl fmt::Display for FunnelMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ordered => "ordered",
            Self::Strict => "strict",
            Self::Unordered => "unordered",
        })
    }
}

/// The longest time, in seconds, from an attempt's first step to its later steps
/// (inclusive: a step exactly one window after the first still counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConversionWindow(i64);

impl ConversionWindow {
    /// Windows run from a second to a little over a year.
    pub const MAX_SECONDS: i64 = 400 * 86_400;

    pub fn from_seconds(seconds: i64) -> Result<Self, InvalidInput> {
        if (1..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(InvalidInput::new(
                "window",
                format!(
                    "must be from 1 second to {} days",
                    Self::MAX_SECONDS / 86_400
                ),
            ))
        }
    }

    /// Parses a number with a unit: `90s`, `30m`, `2h`, `7d`, `2w` (a bare number is
    /// seconds).
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
        let (digits, unit) = raw.split_at(split);
        let unit_seconds = match unit.trim() {
            "" | "s" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => 0,
        };
        let amount = digits.parse::<i64>().ok();
        match (amount, unit_seconds) {
            (Some(amount), unit) if unit > 0 => Self::from_seconds(amount.saturating_mul(unit)),
            _ => Err(InvalidInput::new(
                "window",
                format!("`{raw}` is not a window like 30m, 2h, 7d or 2w"),
            )),
        }
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ConversionWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Duration(self.0))
    }
}

/// Seconds written in the largest unit that divides them (`7d`, `90m`, `45s`).
#[derive(Debug, Clone, Copy)]
pub struct Duration(pub i64);

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        for (unit, name) in [(86_400, "d"), (3600, "h"), (60, "m")] {
            if s != 0 && s % unit == 0 {
                return write!(f, "{}{name}", s / unit);
            }
        }
        write!(f, "{s}s")
    }
}

/// A checked funnel: 1 to [`FunnelDefinition::MAX_STEPS`] distinct steps (event codes),
/// a mode, a window, exclusion events that are not steps, and whether to break the
/// result down by the first step's breakdown code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelDefinition {
    steps: Vec<u32>,
    mode: FunnelMode,
    window: ConversionWindow,
    exclusions: Vec<u32>,
    breakdown: bool,
}

impl FunnelDefinition {
    /// Steps are ranked in 6 bits while grouping events; 32 is far more than any funnel a
    /// console can show.
    pub const MAX_STEPS: usize = 32;

    /// A funnel over `steps` (event codes, first step first), without exclusions or
    /// breakdown. Steps must be distinct: a repeated step would make "step k reached"
    /// ambiguous in every mode.
    pub fn new(
        steps: Vec<u32>,
        mode: FunnelMode,
        window: ConversionWindow,
    ) -> Result<Self, InvalidInput> {
        if steps.is_empty() || steps.len() > Self::MAX_STEPS {
            return Err(InvalidInput::new(
                "steps",
                format!("a funnel has 1 to {} steps", Self::MAX_STEPS),
            ));
        }
        for (i, step) in steps.iter().enumerate() {
            if steps[..i].contains(step) {
                return Err(InvalidInput::new(
                    "steps",
                    format!("step {} repeats an earlier step", i + 1),
                ));
            }
        }
        Ok(Self {
            steps,
            mode,
            window,
            exclusions: Vec::new(),
            breakdown: false,
        })
    }

    /// Adds exclusion events: one of them after an attempt's first step ends that attempt
    /// (see the module documentation). An exclusion cannot also be a step.
    pub fn with_exclusions(mut self, exclusions: Vec<u32>) -> Result<Self, InvalidInput> {
        if let Some(both) = exclusions.iter().find(|e| self.steps.contains(e)) {
            return Err(InvalidInput::new(
                "exclusions",
                format!("event {both} is a step and cannot also be an exclusion"),
            ));
        }
        let mut exclusions = exclusions;
        exclusions.sort_unstable();
        exclusions.dedup();
        self.exclusions = exclusions;
        Ok(self)
    }

    /// Breaks the result down by the breakdown code of each member's counted attempt's
    /// first event.
    pub fn with_breakdown(mut self, breakdown: bool) -> Self {
        self.breakdown = breakdown;
        self
    }

    pub fn steps(&self) -> &[u32] {
        &self.steps
    }

    pub fn mode(&self) -> FunnelMode {
        self.mode
    }

    pub fn window(&self) -> ConversionWindow {
        self.window
    }

    pub fn exclusions(&self) -> &[u32] {
        &self.exclusions
    }

    pub fn breakdown(&self) -> bool {
        self.breakdown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_with_units_and_print_in_the_largest() {
        assert_eq!(ConversionWindow::parse("7d").unwrap().seconds(), 604_800);
        assert_eq!(ConversionWindow::parse("30m").unwrap().seconds(), 1800);
        assert_eq!(ConversionWindow::parse("2h").unwrap().seconds(), 7200);
        assert_eq!(ConversionWindow::parse("2w").unwrap().seconds(), 1_209_600);
        assert_eq!(ConversionWindow::parse("90").unwrap().seconds(), 90);
        assert_eq!(ConversionWindow::parse("90m").unwrap().to_string(), "90m");
        assert_eq!(ConversionWindow::parse("48h").unwrap().to_string(), "2d");
        for bad in ["", "d", "7x", "0d", "-1d", "500d", "1.5h"] {
            assert!(ConversionWindow::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn steps_are_distinct_and_exclusions_are_not_steps() {
        let week = ConversionWindow::parse("7d").unwrap();
        assert!(FunnelDefinition::new(vec![], FunnelMode::Ordered, week).is_err());
        assert!(FunnelDefinition::new(vec![1, 2, 1], FunnelMode::Ordered, week).is_err());
        assert!(FunnelDefinition::new((0..33).collect(), FunnelMode::Strict, week).is_err());
        let funnel = FunnelDefinition::new(vec![1, 2], FunnelMode::Ordered, week).unwrap();
        assert!(funnel.clone().with_exclusions(vec![2]).is_err());
        let funnel = funnel.with_exclusions(vec![5, 3, 5]).unwrap();
        assert_eq!(funnel.exclusions(), [3, 5]);
        assert_eq!(FunnelMode::parse("Strict").unwrap(), FunnelMode::Strict);
        assert!(FunnelMode::parse("loose").is_err());
    }
}
