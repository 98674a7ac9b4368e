//! Analytics tables and the aggregate reads analytics runs on.
//!
//! # Layout
//! - `metrics`: per-bucket totals (orders, GMV, buyers, refunds, active members, sharers,
//!   new members) in one time zone, the input of anomaly alerts and dashboards.
//! - `alerts`: alert rules and the alerts they fired (one per rule and bucket).
//! - `experiments`: experiments and their exposures, and the per-member outcomes their
//!   results read.
//! - `behaviour`: events of some types and paid orders (as `order`), for funnels and
//!   retention.
//! - `profiles`: every live member's RFM scores and activity times, for the RFM and
//!   lifecycle distribution.
//! - `touches`: members' touches on one touchpoint column and their orders, the input
//!   of attribution.

mod alerts;
mod behaviour;
mod experiments;
mod metrics;
mod profiles;
mod touches;

pub use alerts::{AlertRow, AlertRuleRow};
pub use behaviour::{BehaviourRow, ORDER_STEP};
pub use experiments::{ExperimentRow, ExposureOutcome};
pub use metrics::BucketTotals;
pub use profiles::ProfileScoreRow;
pub use touches::{ConversionRow, TouchRow, TOUCH_COLUMNS};
