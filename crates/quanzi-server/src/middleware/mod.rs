//! Request middleware, outermost first: request id → trace span → metrics → body limit →
//! (API only) authentication → (mutating routes) idempotency.

pub mod auth;
pub mod body_limit;
pub mod idempotency;
pub mod request_id;
