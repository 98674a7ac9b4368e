//! Promotions: coupons, spend-threshold rules and timed discounts, cart pricing,
//! checkout locks and order hooks, flash sales, the original-price check and the
//! liability report.

pub mod checkout;
mod coupon_doc;
pub mod coupons;
pub mod flash;
pub mod flash_cache;
pub mod flash_cancel;
pub mod flash_lines;
pub(crate) mod flash_queue;
pub mod liability;
pub(crate) mod order_hooks;
pub mod redis_gate;
pub mod rules;
