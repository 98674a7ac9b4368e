//! Promotions' tables.
//!
//! # Layout
//! - `coupons`: templates, instances and the conditional counters behind every limit.
//! - `flash`: flash sales, bucketed stock and reservations.
//! - `flash_group`: a group of reservation attempts in one transaction, in the lock
//!   order that keeps nodes from deadlocking.
//! - `flash_cancel`: cancelling a whole sale so that no reservation commits after it.
//! - `rules`: spend-threshold rules and timed discounts.
//! - `prices`: SKU price history for the original-price check.
//! - `merge`: what a merged member's promotions hand to the survivor.
//! - `benefits`: what a checkout grants on payment (满送 points and gift coupons).

mod benefits;
mod coupons;
mod flash;
mod flash_cancel;
mod flash_group;
mod merge;
mod prices;
mod rules;

pub use coupons::{CouponLock, CouponRow, CouponTemplateRow, CouponTemplateUsage};
pub use flash::{FlashSaleRow, FlashSkuRow, ReservationRow, ReserveRefusal};
pub use flash_group::{FlashAttempt, FlashOutcome};
pub use prices::SoldUnit;
pub use rules::PromotionRow;
