//! Analytics on stored data.
//!
//! # Layout
//! - `metrics`: metric series per day or hour in the workspace's time zone, judged
//!   against their seasonal baseline, and period totals with the previous period beside
//!   them (the overview dashboard).
//! - `alerts`: anomaly alert rules, their evaluation (the `analytics.alerts` job) and the
//!   alerts they fire, with their actions.
//! - `attribution`: journeys assembled from stored touches and orders, credited by every
//!   model.
//! - `experiments`: experiments, deterministic assignment with exposure logging, and
//!   results (Bayesian, Beta-Binomial, CUPED, SRM, holdout lift).

pub mod alerts;
pub mod attribution;
pub mod experiments;
pub mod metrics;
