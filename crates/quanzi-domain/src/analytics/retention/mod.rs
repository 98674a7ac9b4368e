//! Cohort retention: of the members who did a start event (sign up, first purchase) in a
//! period, how many came back to do a return event (purchase, open the app) in each later
//! period.
//!
//! Input is the event table of [`crate::analytics::funnel`] ([`EventColumns`]: member
//! code, time in seconds, event code, optional breakdown code such as the acquisition
//! channel); a [`RetentionSpec`] names the start and return events by code. [`retention`]
//! returns a [`RetentionTable`]: one [`Cohort`] per start period (and breakdown value)
//! with its size and retained members per period offset, [`Overall`] rows, and a
//! [`RetentionDefinition`] echoing what was counted.
//!
//! # What is counted
//! Periods are days, weeks (Monday to Sunday) or calendar months on the calendar of a
//! fixed UTC offset ([`UtcOffset`], e.g. +08:00 for China).
//!
//! A member's events are taken in time order; in the same second, start events come first
//! and among them the lowest breakdown code. A **cohort** is a period with a start event
//! of the member, and its **anchor** is the member's first start event in that period:
//! - **first-time** ([`CohortKind::FirstTime`]): only the period of the member's very first
//!   start event, so each member is in one cohort (Amplitude's "new users", Mixpanel's
//!   "first time");
//! - **recurring** ([`CohortKind::Recurring`]): every period with a start event, so a member
//!   is in one cohort per such period (Mixpanel's "recurring").
//!
//! A member of cohort `c` is **retained at offset `k`** (0 to `periods`) when they did the
//! return event after the anchor (at the same second or later, the anchor itself not
//! counting when start and return are the same event):
//! - [`RetentionMode::On`]: in period `c + k` exactly (Amplitude's "N-day retention");
//! - [`RetentionMode::Unbounded`]: in period `c + k` or any later one (Amplitude's
//!   "unbounded retention"), so rates never rise with `k`.
//!
//! Offset 0 is the cohort's own period: members who came back in it after starting. A cell
//! is reported only when its period has begun by the table's latest event (any event), so
//! the last period's cells may be partial; later cells are `None`. With a breakdown, a
//! member's cohorts are all filed under the breakdown value of their first start event
//! (the acquisition channel). An [`Overall`] row per breakdown value adds up, at each
//! offset, the cohorts whose cell is reported (Amplitude's weighted average).
//!
//! # Layout
//! - [`definition`]: [`RetentionSpec`], [`Period`], [`RetentionMode`], [`CohortKind`],
//!   [`UtcOffset`].
//! - `compute`: [`retention`], grouping events by member and walking each once per cohort,
//!   on several threads.
//! - [`table`]: [`RetentionTable`], [`Cohort`], [`Overall`], [`RetentionDefinition`].
//!
//! A brute-force `reference` straight from the definitions checks [`retention`] in
//! property tests.

mod compute;
pub mod definition;
#[cfg(test)]
mod reference;
pub mod table;

pub use crate::analytics::funnel::EventColumns;
pub use compute::retention;
pub use definition::{CohortKind, Period, RetentionMode, RetentionSpec, UtcOffset};
pub use table::{Cohort, Overall, RetentionDefinition, RetentionTable};
