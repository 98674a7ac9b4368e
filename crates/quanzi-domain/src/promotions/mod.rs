//! Promotions: coupon templates, flash sales, the cart pricing solver and the
//! original-price check.
//!
//! # Layout
//! - [`coupons`]: coupon templates (kinds, windows, limits, scope, stacking, budget) and
//!   the life of a coupon instance.
//! - [`flash`]: flash-sale (秒杀) slots, stock buckets and reservation rules.
//! - [`compliance`]: the crossed-out "original price" check (价格欺诈).
//! - [`pricing`]: the best-price solver over activity prices, tier discounts,
//!   spend-threshold rules and coupons, with a line-by-line explanation.

pub mod compliance;
pub mod coupons;
pub mod flash;
pub mod pricing;
