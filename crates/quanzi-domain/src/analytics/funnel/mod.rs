//! Conversion funnels: how many members got from a first step (view an item) through each
//! later step (add to cart, check out, pay) within a conversion window.
//!
//! Input is an event table in columnar form ([`EventColumns`]: member code, time in
//! seconds, event code, optional breakdown code such as a channel or KOL), read from CSV by
//! [`EventTable::from_csv`] or built by the caller; a [`FunnelDefinition`] names the steps
//! by event code. [`funnel`] returns a [`FunnelReport`]: members per step with step-to-step
//! and overall conversion, the time to convert, rows per breakdown value and a
//! [`DefinitionEcho`] of what was counted.
//!
//! # What is counted
//! A member's events are taken in time order; events in the same second are ordered
//! exclusions first, then the steps in funnel order, then other events (so a step and the
//! next one logged in the same second count as in order), then as they came in the input.
//!
//! An **attempt** starts at an event that can begin the funnel — step 1 in ordered and
//! strict mode, any step in unordered mode — and reaches the steps it can take:
//! - **ordered**: step k + 1 is any later occurrence of its event; other events in between
//!   do not matter;
//! - **strict**: step k + 1 must be the member's very next event, whatever its type (every
//!   event in the table counts, not only the funnel's), so any other event ends the
//!   attempt;
//! - **unordered**: the attempt reaches step k when k distinct steps (counting the one it
//!   started with) have happened.
//!
//! Every step must happen within the **conversion window** of the attempt's first event:
//! at most `window` seconds after it, inclusive. An **exclusion** event after an attempt's
//! first event ends that attempt: it keeps the steps it took before the exclusion and
//! takes no more (as Mixpanel's exclusion steps: the member is excluded from the funnel
//! from that point on). A new first step after the exclusion starts a fresh attempt. In
//! strict mode an exclusion is redundant, since any other event already ends the attempt.
//!
//! A member counts at the **deepest step any of their attempts reaches**: members at step
//! k are members with an attempt reaching step k, so counts never increase along the
//! steps. The member's **counted attempt** is the one that reaches that deepest step
//! first (earliest event), and of several reaching it with the same event, the one that
//! started last. Its first event's breakdown code places the member in a **breakdown**
//! row, and for members who reach the last step its duration from first event to last step
//! is the **time to convert** (median, 90th percentile and a fixed log-scale histogram).
//!
//! The ordered count equals the classic "greedy from every step-1 event" SQL (a step-k + 1
//! event at or after step k and within the window of step 1, for some step-1 event), so
//! `bench/peers/duckdb_funnel.sh` checks it against DuckDB.
//!
//! # Layout
//! - [`events`]: [`EventColumns`] and [`EventTable`] (columns with their names).
//! - [`dictionary`]: [`Dictionary`], names interned to dense codes.
//! - `csv`: [`EventTable::from_csv`], a byte-level parser in parallel chunks, on the pieces
//!   in [`crate::analytics::columns`].
//! - [`definition`]: [`FunnelDefinition`], [`FunnelMode`], [`ConversionWindow`].
//! - `group`: events grouped by member in time order (counting sort on member codes).
//! - `walk`: one linear pass per member and mode, finding the counted attempt.
//! - `compute`: [`funnel`], tying them together on two threads.
//! - [`report`]: [`FunnelReport`] and its rows.
//! - [`synthetic`]: a deterministic event log for benchmarks.
//!
//! A brute-force `reference` (every start, exhaustive matching) checks the walks in
//! property tests.

mod compute;
mod csv;
pub mod definition;
pub mod dictionary;
pub mod events;
mod group;
#[cfg(test)]
mod reference;
pub mod report;
pub mod synthetic;
mod walk;

pub use compute::{funnel, funnel_with_threads};
pub use definition::{ConversionWindow, FunnelDefinition, FunnelMode};
pub use dictionary::Dictionary;
pub use events::{EventColumns, EventTable};
pub use report::{
    BreakdownRow, DefinitionEcho, FunnelReport, HistogramBucket, StepCount, TimeToConvert,
    TIME_TO_CONVERT_EDGES,
};
pub use synthetic::{synthetic_events, SyntheticEvents};
