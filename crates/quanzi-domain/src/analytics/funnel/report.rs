//! What a funnel returns: members per step with conversions, the time to convert, rows per
//! breakdown value, and an echo of exactly what was counted so a console can show it.

use std::fmt::Write as _;

use super::definition::{ConversionWindow, Duration, FunnelMode};

/// Upper edges (exclusive, seconds) of the time-to-convert histogram: roughly ×3 apart, a
/// log scale with round edges (1 min, 5 min, 15 min, 1 h, 3 h, 12 h, 1 d, 3 d, 7 d,
/// 30 d), then one open bucket. Fixed, so histograms of different funnels line up.
pub const TIME_TO_CONVERT_EDGES: [i64; 10] = [
    60, 300, 900, 3600, 10_800, 43_200, 86_400, 259_200, 604_800, 2_592_000,
];

/// A funnel's result.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelReport {
    pub(crate) definition: DefinitionEcho,
    pub(crate) steps: Vec<StepCount>,
    pub(crate) time_to_convert: TimeToConvert,
    pub(crate) breakdown: Vec<BreakdownRow>,
}

impl FunnelReport {
    /// What was computed, on what.
    pub fn definition(&self) -> &DefinitionEcho {
        &self.definition
    }

    /// One row per step, first step first (in unordered mode, row k is "k distinct steps").
    pub fn steps(&self) -> &[StepCount] {
        &self.steps
    }

    /// From the first step to the last, over the members who reached the last step.
    pub fn time_to_convert(&self) -> &TimeToConvert {
        &self.time_to_convert
    }

    /// Rows per breakdown code, most members at step 1 first; empty without breakdown.
    pub fn breakdown(&self) -> &[BreakdownRow] {
        &self.breakdown
    }
}

/// The definition as run, with how much of the input it looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionEcho {
    pub(crate) mode: FunnelMode,
    pub(crate) window: ConversionWindow,
    pub(crate) steps: Vec<u32>,
    pub(crate) exclusions: Vec<u32>,
    pub(crate) breakdown: bool,
    pub(crate) members_considered: u64,
    pub(crate) events_considered: u64,
    pub(crate) events_total: u64,
}

impl DefinitionEcho {
    pub fn mode(&self) -> FunnelMode {
        self.mode
    }

    pub fn window(&self) -> ConversionWindow {
        self.window
    }

    pub fn steps(&self) -> &[u32] {
        &self.steps
    }

    pub fn exclusions(&self) -> &[u32] {
        &self.exclusions
    }

    pub fn breakdown(&self) -> bool {
        self.breakdown
    }

    /// Members in the input, whether or not they did any step.
    pub fn members_considered(&self) -> u64 {
        self.members_considered
    }

    /// Events that took part: steps and exclusions (and, in strict mode, every event,
    /// since any event breaks a strict sequence).
    pub fn events_considered(&self) -> u64 {
        self.events_considered
    }

    /// Events in the input.
    pub fn events_total(&self) -> u64 {
        self.events_total
    }

    /// One sentence, with event codes named by `name`, e.g. "ordered funnel a → b → c
    /// within 7d of the first step, excluding x; 1000 members, 5230 of 9000 events".
    pub fn describe(&self, name: impl Fn(u32) -> String) -> String {
        let separator = if self.mode == FunnelMode::Unordered {
            ", "
        } else {
            " → "
        };
        let steps: Vec<String> = self.steps.iter().map(|&s| name(s)).collect();
        let mut text = format!(
            "{} funnel {} within {} of the first step",
            self.mode,
            steps.join(separator),
            self.window
        );
        if !self.exclusions.is_empty() {
            let names: Vec<String> = self.exclusions.iter().map(|&e| name(e)).collect();
            let _ = write!(text, ", excluding {}", names.join(", "));
        }
        if self.breakdown {
            text.push_str(", broken down by the first step's breakdown value");
        }
        let _ = write!(
            text,
            "; {} members, {} of {} events considered",
            self.members_considered, self.events_considered, self.events_total
        );
        text
    }
}

/// Members who reached one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCount {
    pub(crate) members: u64,
    pub(crate) from_previous: Option<f64>,
    pub(crate) overall: Option<f64>,
}

impl StepCount {
    pub fn members(&self) -> u64 {
        self.members
    }

    /// Share of the previous step's members; `None` for the first step or after a step
    /// nobody reached.
    pub fn from_previous(&self) -> Option<f64> {
        self.from_previous
    }

    /// Share of the first step's members; `None` when nobody did the first step.
    pub fn overall(&self) -> Option<f64> {
        self.overall
    }
}

/// Seconds from the first step to the last, over the members who reached the last step,
/// each measured on the member's counted attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeToConvert {
    pub(crate) converted: u64,
    pub(crate) median: Option<i64>,
    pub(crate) p90: Option<i64>,
    pub(crate) histogram: Vec<HistogramBucket>,
}

impl TimeToConvert {
    pub fn converted(&self) -> u64 {
        self.converted
    }

    /// The lower median (nearest rank); `None` when nobody converted.
    pub fn median(&self) -> Option<i64> {
        self.median
    }

    /// The 90th percentile (nearest rank).
    pub fn p90(&self) -> Option<i64> {
        self.p90
    }

    /// Counts in the buckets of [`TIME_TO_CONVERT_EDGES`], shortest first.
    pub fn histogram(&self) -> &[HistogramBucket] {
        &self.histogram
    }

    /// Takes the elapsed seconds of every converted member (reordered in place).
    pub(crate) fn from_elapsed(elapsed: &mut [u32]) -> Self {
        let converted = elapsed.len() as u64;
        let mut quantile = |q: f64| {
            if elapsed.is_empty() {
                return None;
            }
            // Nearest rank: the smallest value with at least q of the values at or below.
            let rank = ((q * elapsed.len() as f64).ceil() as usize).clamp(1, elapsed.len());
            let (_, value, _) = elapsed.select_nth_unstable(rank - 1);
            Some(i64::from(*value))
        };
        let median = quantile(0.5);
        let p90 = quantile(0.9);
        let mut counts = [0u64; TIME_TO_CONVERT_EDGES.len() + 1];
        for &e in elapsed.iter() {
            counts[TIME_TO_CONVERT_EDGES.partition_point(|&edge| edge <= i64::from(e))] += 1;
        }
        let histogram = counts
            .iter()
            .enumerate()
            .map(|(i, &members)| HistogramBucket {
                from: if i == 0 {
                    0
                } else {
                    TIME_TO_CONVERT_EDGES[i - 1]
                },
                to: TIME_TO_CONVERT_EDGES.get(i).copied(),
                members,
            })
            .collect();
        Self {
            converted,
            median,
            p90,
            histogram,
        }
    }
}

/// Members whose time to convert was at least `from` and less than `to` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistogramBucket {
    pub(crate) from: i64,
    pub(crate) to: Option<i64>,
    pub(crate) members: u64,
}

impl HistogramBucket {
    pub fn from(&self) -> i64 {
        self.from
    }

    /// `None` for the last, open bucket.
    pub fn to(&self) -> Option<i64> {
        self.to
    }

    pub fn members(&self) -> u64 {
        self.members
    }

    /// `"1h–3h"`, `"30d+"`.
    pub fn label(&self) -> String {
        match self.to {
            Some(to) => format!("{}–{}", Duration(self.from), Duration(to)),
            None => format!("{}+", Duration(self.from)),
        }
    }
}

/// Members per step whose counted attempt started on an event with this breakdown code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownRow {
    pub(crate) code: u32,
    pub(crate) members: Vec<u64>,
}

impl BreakdownRow {
    pub fn code(&self) -> u32 {
        self.code
    }

    /// Members per step, first step first.
    pub fn members(&self) -> &[u64] {
        &self.members
    }

    /// Last step over first step.
    pub fn overall(&self) -> Option<f64> {
        let (&first, &last) = (self.members.first()?, self.members.last()?);
        (first > 0).then(|| last as f64 / first as f64)
    }
}

/// Step rows from members per step.
pub(crate) fn step_counts(reached: &[u64]) -> Vec<StepCount> {
    let first = reached.first().copied().unwrap_or(0);
    reached
        .iter()
        .enumerate()
        .map(|(k, &members)| StepCount {
            members,
            from_previous: (k > 0 && reached[k - 1] > 0)
                .then(|| members as f64 / reached[k - 1] as f64),
            overall: (first > 0).then(|| members as f64 / first as f64),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_and_buckets_cover_every_value() {
        let mut elapsed = vec![30, 10, 20, 40, 3600, 3_000_000, 59, 60, 61, 100];
        let t = TimeToConvert::from_elapsed(&mut elapsed);
        assert_eq!(t.converted(), 10);
        assert_eq!(t.median(), Some(59));
        assert_eq!(t.p90(), Some(3600));
        let counts: Vec<u64> = t.histogram().iter().map(|b| b.members()).collect();
        assert_eq!(counts, [5, 3, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(t.histogram()[0].label(), "0s–1m");
        assert_eq!(t.histogram()[10].label(), "30d+");
        assert_eq!(TimeToConvert::from_elapsed(&mut []).median(), None);
    }

    #[test]
    fn conversions_are_shares_of_the_previous_and_the_first_step() {
        let rows = step_counts(&[10, 5, 0, 0]);
        assert_eq!(rows[0].from_previous(), None);
        assert_eq!(rows[0].overall(), Some(1.0));
        assert_eq!(rows[1].from_previous(), Some(0.5));
        assert_eq!(rows[2].overall(), Some(0.0));
        assert_eq!(rows[3].from_previous(), None);
        assert_eq!(step_counts(&[0, 0])[1].overall(), None);
    }
}
