//! Analytics: algorithms as pure functions over columnar inputs, used by the API on stored
//! data and by the command line on CSV files.
//!
//! # Layout
//! - [`anomaly`]: seasonal baselines (robust z-score, EWMA) and alert rules.
//! - [`attribution`]: multi-touch attribution over journeys (heuristics, exact Markov
//!   removal effect of order 1–3, Shapley values), ChannelAttribution's path table.
//! - [`clv`]: customer lifetime value (BG/NBD, Gamma-Gamma, discounted CLV).
//! - [`columns`]: what the CSV readers share (lines, fields, timestamps, interning names in
//!   cache-sized buckets).
//! - [`experiments`]: assignment by hashing, gbstats-style Bayesian tests, Beta-Binomial,
//!   Welch, sequential confidence sequences, CUPED, sample-ratio mismatch, top-two
//!   Thompson sampling, holdout lift.
//! - [`funnel`]: conversion funnels (ordered, strict, unordered; window, exclusions,
//!   breakdown) over an event table, with a fast CSV reader.
//! - [`retention`]: cohort retention (first-time or recurring, on or unbounded, by day,
//!   week or month), with a breakdown by acquisition channel.
//! - [`rfm`]: RFM scores and segments over an orders table, as the member profile defines them.
//! - [`special`]: the special functions they share (log-gamma, incomplete gamma and beta,
//!   normal, Student t, chi-square).

pub mod anomaly;
pub mod attribution;
pub mod clv;
pub mod columns;
pub mod experiments;
pub mod funnel;
pub mod retention;
pub mod rfm;
pub mod special;
