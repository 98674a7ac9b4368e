//! Promotions: coupons, spend-threshold rules and timed discounts, cart pricing,
//! checkout locks and order hooks, flash sales, the original-price check and the
//! liability report.

mod coupon_doc;
pub mod coupons;
