//! What a retention computation returns: cohorts with their retained counts per period
//! offset, overall rows and an echo of the definition.

use std::fmt;

use super::definition::RetentionSpec;
use crate::calendar::LocalDate;

/// The members who started in one period (and, with a breakdown, one breakdown value),
/// and how many of them were retained at each offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    pub(crate) breakdown: Option<u32>,
    pub(crate) period: i64,
    pub(crate) start: LocalDate,
    pub(crate) start_ts: i64,
    pub(crate) size: u64,
    pub(crate) retained: Vec<Option<u64>>,
}

impl Cohort {
    /// The breakdown code of the cohort's members' first start event, with a breakdown.
    pub fn breakdown(&self) -> Option<u32> {
        self.breakdown
    }

    /// The local date the cohort's period starts.
    pub fn start(&self) -> LocalDate {
        self.start
    }

    /// The instant the cohort's period starts, in seconds since the epoch.
    pub fn start_ts(&self) -> i64 {
        self.start_ts
    }

    /// Members in the cohort.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Retained members at offsets 0, 1, …, `periods`; `None` for periods that had not
    /// begun by the table's latest event.
    pub fn retained(&self) -> &[Option<u64>] {
        &self.retained
    }

    /// The share of the cohort retained at `offset`, if that period has begun.
    pub fn rate(&self, offset: usize) -> Option<f64> {
        let retained = (*self.retained.get(offset)?)?;
        (self.size > 0).then(|| retained as f64 / self.size as f64)
    }
}

/// All cohorts together (of one breakdown value, with a breakdown): at each offset, the
/// members of the cohorts whose period at that offset has begun, and how many of them
/// were retained — Amplitude's weighted average row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overall {
    pub(crate) breakdown: Option<u32>,
    pub(crate) size: u64,
    pub(crate) eligible: Vec<u64>,
    pub(crate) retained: Vec<u64>,
}

impl Overall {
    pub fn breakdown(&self) -> Option<u32> {
        self.breakdown
    }

    /// Members over all cohorts (a member in several recurring cohorts counts in each).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Members of the cohorts that reach each offset.
    pub fn eligible(&self) -> &[u64] {
        &self.eligible
    }

    pub fn retained(&self) -> &[u64] {
        &self.retained
    }

    pub fn rate(&self, offset: usize) -> Option<f64> {
        let eligible = *self.eligible.get(offset)?;
        (eligible > 0).then(|| self.retained[offset] as f64 / eligible as f64)
    }
}

/// What was counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionDefinition {
    pub(crate) spec: RetentionSpec,
    pub(crate) members: u64,
    pub(crate) events_considered: u64,
    pub(crate) events_total: u64,
    pub(crate) last_period: Option<LocalDate>,
}

impl RetentionDefinition {
    pub fn spec(&self) -> &RetentionSpec {
        &self.spec
    }

    /// Members with at least one start event.
    pub fn members(&self) -> u64 {
        self.members
    }

    /// Start and return events in the table.
    pub fn events_considered(&self) -> u64 {
        self.events_considered
    }

    pub fn events_total(&self) -> u64 {
        self.events_total
    }

    /// The start of the period holding the table's latest event (which may be partial):
    /// periods after it are not reported.
    pub fn last_period(&self) -> Option<LocalDate> {
        self.last_period
    }

    /// A sentence saying what was computed, with event names from `name`.
    pub fn describe(&self, name: impl Fn(u32) -> String) -> String {
        let spec = &self.spec;
        let mode = match spec.mode() {
            super::RetentionMode::On => "returned in that period exactly",
            super::RetentionMode::Unbounded => "returned in that period or later",
        };
        let cohorts = match spec.kind() {
            super::CohortKind::FirstTime => "first-time cohorts by each member's first",
            super::CohortKind::Recurring => "recurring cohorts by every period with a",
        };
        let mut text = format!(
            "retention of `{}` → `{}`, {cohorts} start, by {} in {}, periods 0–{} ({} mode: {mode}); {} members, {} of {} events considered",
            name(spec.start()),
            name(spec.return_event()),
            spec.period(),
            spec.offset(),
            spec.periods(),
            spec.mode(),
            self.members,
            self.events_considered,
            self.events_total,
        );
        if let Some(last) = self.last_period {
            text.push_str(&format!("; the last period begins {last}"));
        }
        if spec.breakdown() {
            text.push_str("; broken down by the first start event's breakdown value");
        }
        text
    }
}

impl fmt::Display for RetentionDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(|code| format!("#{code}")))
    }
}

/// Cohorts (ordered by breakdown code, then start), overall rows (one per breakdown value,
/// or one) and the definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionTable {
    pub(crate) cohorts: Vec<Cohort>,
    pub(crate) overall: Vec<Overall>,
    pub(crate) definition: RetentionDefinition,
}

impl RetentionTable {
    pub fn cohorts(&self) -> &[Cohort] {
        &self.cohorts
    }

    pub fn overall(&self) -> &[Overall] {
        &self.overall
    }

    pub fn definition(&self) -> &RetentionDefinition {
        &self.definition
    }
}
