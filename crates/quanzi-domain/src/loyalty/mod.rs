//! Loyalty: the points ledger and the rules that feed it.
//!
//! # Layout
//! - [`ledger`]: the double-entry points ledger as a pure state machine (accounts,
//!   transfers, pending holds, lots consumed oldest first, expiry and refund reversal).
//! - [`earning`]: earning rules, expiry policies and per-member caps.
//! - [`checkin`]: daily check-in (签到) streaks and ladders.
//! - [`tiers`]: tier ladders by growth value, benefits and downgrade.

pub mod checkin;
pub mod earning;
pub mod ledger;
pub mod tiers;
