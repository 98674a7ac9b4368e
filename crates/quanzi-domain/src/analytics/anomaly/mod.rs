//! Anomaly detection on metric series (GMV, orders, conversion, refund rate, share rate…)
//! with seasonal baselines, and the alert rules that watch them.
//!
//! # Layout
//! - [`baseline`]: the two baselines — robust z-score (median and MAD of the same season in
//!   earlier cycles) and seasonal EWMA — and [`evaluate`], which scores every point of a
//!   series against the history before it.
//! - [`rule`]: an alert rule (metric, granularity, method, threshold, direction) as an
//!   operator defines it, checked once at the edge.
//!
//! A season is the position in the cycle the metric repeats over: the weekday for daily
//! buckets (cycle 7), the hour of the week for hourly buckets (cycle 168). Comparing a
//! Monday with earlier Mondays keeps the weekend dip of a shop from raising alerts every
//! week.

pub mod baseline;
pub mod rule;

pub use baseline::{evaluate, AnomalyConfig, Direction, Method, Point};
