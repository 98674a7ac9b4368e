//! Flash sales (秒杀): a time slot, per-SKU flash prices and stock, a per-member limit and
//! a payment timeout after which a reservation's stock comes back.
//!
//! Stock may be split into buckets (rows) so that concurrent buyers update different rows
//! instead of queueing on one; a buyer starts at the bucket their member id hashes to and
//! moves on to the others only when it is empty, so "sold out" is only said when every
//! bucket is empty.

use sha2::{Digest, Sha256};

use crate::input::InvalidInput;
use crate::time::Timestamp;

pub const MAX_BUCKETS: i64 = 64;
pub const MIN_PAYMENT_TIMEOUT_SECONDS: i64 = 60;
pub const MAX_PAYMENT_TIMEOUT_SECONDS: i64 = 86_400;

/// One SKU on sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashSku {
    pub sku: String,
    pub flash_price_fen: i64,
    /// The crossed-out price shown beside the flash price.
    pub original_price_fen: i64,
    pub stock: i64,
}

/// A checked flash sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashSale {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub payment_timeout_seconds: i64,
    /// Units one member may hold (reserved or paid) across the sale's SKUs.
    pub per_member_limit: i64,
    pub buckets: i64,
    pub skus: Vec<FlashSku>,
}

impl FlashSale {
    pub fn check(&self) -> Result<(), InvalidInput> {
        if self.ends_at <= self.starts_at {
            return Err(InvalidInput::new("ends_at", "must be after starts_at"));
        }
        if !(MIN_PAYMENT_TIMEOUT_SECONDS..=MAX_PAYMENT_TIMEOUT_SECONDS)
            .contains(&self.payment_timeout_seconds)
        {
            return Err(InvalidInput::new(
                "payment_timeout_seconds",
                format!("must be {MIN_PAYMENT_TIMEOUT_SECONDS} to {MAX_PAYMENT_TIMEOUT_SECONDS}"),
            ));
        }
        if !(1..=1_000).contains(&self.per_member_limit) {
            return Err(InvalidInput::new("per_member_limit", "must be 1 to 1000"));
        }
        if !(1..=MAX_BUCKETS).contains(&self.buckets) {
            return Err(InvalidInput::new(
                "buckets",
                format!("must be 1 to {MAX_BUCKETS}"),
            ));
        }
        if self.skus.is_empty() || self.skus.len() > 100 {
            return Err(InvalidInput::new(
                "skus",
                "a flash sale needs 1 to 100 SKUs",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, sku) in self.skus.iter().enumerate() {
            let field = |name: &str| format!("skus[{i}].{name}");
            super::coupons::check_code(&field("sku"), &sku.sku)?;
            if !seen.insert(sku.sku.as_str()) {
                return Err(InvalidInput::new(field("sku"), "appears twice"));
            }
            if !(1..=10_000_000_000).contains(&sku.original_price_fen) {
                return Err(InvalidInput::new(
                    field("original_price_fen"),
                    "must be 1 to 10000000000 fen",
                ));
            }
            if !(0..sku.original_price_fen).contains(&sku.flash_price_fen) {
                return Err(InvalidInput::new(
                    field("flash_price_fen"),
                    "must be at least 0 and below original_price_fen",
                ));
            }
            if !(1..=100_000_000).contains(&sku.stock) {
                return Err(InvalidInput::new(field("stock"), "must be 1 to 100000000"));
            }
        }
        Ok(())
    }

    pub fn phase(&self, now: Timestamp) -> Phase {
        phase(self.starts_at, self.ends_at, now)
    }
}

/// Where `now` falls in the slot `[starts_at, ends_at)`.
pub fn phase(starts_at: Timestamp, ends_at: Timestamp, now: Timestamp) -> Phase {
    if now < starts_at {
        Phase::NotStarted
    } else if now >= ends_at {
        Phase::Ended
    } else {
        Phase::Open
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    NotStarted,
    Open,
    Ended,
}

/// Splits `stock` over `buckets` rows as evenly as possible (the first rows take the
/// remainder), so the rows add up to the stock exactly.
pub fn split_stock(stock: i64, buckets: i64) -> Vec<i64> {
    let buckets = buckets.max(1);
    (0..buckets)
        .map(|i| stock / buckets + i64::from(i < stock % buckets))
        .collect()
}

/// The order in which a member tries the buckets: their own first, then the rest in turn.
pub fn bucket_order(member_id: &str, buckets: i64) -> Vec<i64> {
    let buckets = buckets.max(1);
    let digest = Sha256::digest(member_id.as_bytes());
    let first =
        (u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % buckets as u64) as i64;
    (0..buckets).map(|i| (first + i) % buckets).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_flash_price_must_be_below_the_original() {
        let sale = FlashSale {
            starts_at: Timestamp::from_millis(0),
            ends_at: Timestamp::from_millis(1_000),
            payment_timeout_seconds: 900,
            per_member_limit: 1,
            buckets: 4,
            skus: vec![FlashSku {
                sku: "tea".into(),
                flash_price_fen: 9_900,
                original_price_fen: 9_900,
                stock: 100,
            }],
        };
        assert_eq!(sale.check().unwrap_err().field(), "skus[0].flash_price_fen");
    }

    #[test]
    fn a_sale_is_open_from_its_start_until_its_end() {
        let sale = FlashSale {
            starts_at: Timestamp::from_millis(100),
            ends_at: Timestamp::from_millis(200),
            payment_timeout_seconds: 900,
            per_member_limit: 1,
            buckets: 1,
            skus: Vec::new(),
        };
        assert_eq!(sale.phase(Timestamp::from_millis(99)), Phase::NotStarted);
        assert_eq!(sale.phase(Timestamp::from_millis(100)), Phase::Open);
        assert_eq!(sale.phase(Timestamp::from_millis(200)), Phase::Ended);
    }

    proptest! {
        #[test]
        fn split_stock_adds_up_and_differs_by_at_most_one(stock in 0i64..1_000_000, buckets in 1i64..=64) {
            let parts = split_stock(stock, buckets);
            prop_assert_eq!(parts.len() as i64, buckets);
            prop_assert_eq!(parts.iter().sum::<i64>(), stock);
            let (min, max) = (parts.iter().min().unwrap(), parts.iter().max().unwrap());
            prop_assert!(max - min <= 1);
        }

        #[test]
        fn every_bucket_is_tried_once(member in "[a-z0-9]{1,20}", buckets in 1i64..=64) {
            let mut order = bucket_order(&member, buckets);
            order.sort_unstable();
            prop_assert_eq!(order, (0..buckets).collect::<Vec<_>>());
        }
    }
}
