//! The rules of quanzi, free of IO.
//!
//! # Layout
//! - [`analytics`]: attribution, lifetime value, experiments and other analyses.
//! - [`ids`]: prefixed, time-sortable public ids (`ws_…`, `op_…`, `key_…`, `job_…`).
//! - [`time`]: UTC timestamps and the injectable [`time::Clock`].
//! - [`input`]: checked input newtypes (workspace names, emails) and the validation error.
//! - [`auth`]: roles, API-key scopes, bearer credentials, login throttling.
//! - [`jobs`]: durable job states and the retry/backoff policy.
//! - [`idempotency`]: the `Idempotency-Key` decision table.
//! - [`members`]: OneID identities (normal forms, keyed hashes, masks), events, orders and
//!   refund allocation.
//! - [`promotions`]: coupons, flash sales, cart pricing and price compliance.
//! - [`social`]: group buying, bargaining, referral fission and distribution commissions.
//!
//! Nothing here does IO, spawns tasks or knows about SQL or HTTP: everything is a plain
//! function or value, so every rule is unit- and property-tested in isolation.
#![forbid(unsafe_code)]

pub mod analytics;
pub mod auth;
pub mod calendar;
pub mod idempotency;
pub mod ids;
pub mod input;
pub mod jobs;
pub mod loyalty;
pub mod members;
pub mod promotions;
pub mod segments;
pub mod social;
pub mod time;
