//! Loyalty use cases: the points ledger and what feeds it.
//!
//! # Layout
//! - [`checkin`]: daily check-in with streaks, ladders and paid make-ups.
//! - [`ledger`]: submitting ledger requests (the one path every point takes), balances,
//!   lots, history, operator adjustments, the liability report and reconciliation.
//! - [`mall`]: the points mall (stock, per-member limits, redemptions as holds).
//! - `orders`: points for paid orders (pending through the return window) and their
//!   reversal on refunds.
//! - `queue`: group commit of concurrent API batches on one node.
//! - [`tiers`]: tiers by growth value, re-decided after orders, on reads and daily.
//! - `rules`: earning rules that pay for events (share, review with photo, referral,
//!   custom), run inside the ingest transaction, capped per member.
//! - [`settings`]: the workspace's programme (shortfall policy, expiry notices, check-in
//!   ladder, points on orders).

pub mod checkin;
pub mod ledger;
pub mod mall;
pub(crate) mod orders;
pub(crate) mod queue;
pub(crate) mod rules;
pub mod settings;
pub mod tiers;
