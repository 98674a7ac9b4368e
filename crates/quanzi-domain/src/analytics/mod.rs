//! Analytics: algorithms as pure functions over columnar inputs, used by the API on stored
//! data and by the command line on CSV files.
//!
//! # Layout
//! - [`anomaly`]: seasonal baselines (robust z-score, EWMA) and alert rules.
//! - [`attribution`]: multi-touch attribution over journeys (heuristics, exact Markov
//!   removal effect of order 1–3, Shapley values), ChannelAttribution's path table.
//! - [`clv`]: customer lifetime value (BG/NBD, Gamma-Gamma, discounted CLV).
//! - [`experiments`]: assignment by hashing, gbstats-style Bayesian tests, Beta-Binomial,
//!   Welch, sequential confidence sequences, CUPED, sample-ratio mismatch, top-two
//!   Thompson sampling, holdout lift.
//! - [`special`]: the special functions they share (log-gamma, incomplete gamma and beta,
//!   normal, Student t, chi-square).

pub mod anomaly;
pub mod attribution;
pub mod clv;
pub mod experiments;
pub mod special;
