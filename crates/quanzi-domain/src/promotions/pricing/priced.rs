//! The result: the best price and why, line by line and offer by offer.

use super::model::Stage;

/// A priced cart. `total_fen = subtotal_fen - discount_fen + shipping_fen -
/// shipping_discount_fen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    /// Sum of list prices.
    pub subtotal_fen: i64,
    /// Item discounts of all applied offers.
    pub discount_fen: i64,
    pub shipping_fen: i64,
    pub shipping_discount_fen: i64,
    pub total_fen: i64,
    /// The chosen offers, in pipeline order (stage, then id).
    pub applied: Vec<AppliedOffer>,
    /// One entry per cart line, in cart order.
    pub lines: Vec<PricedLine>,
    /// Every considered offer that was not applied, in pipeline order, with the reason.
    pub not_applied: Vec<NotApplied>,
}

impl Priced {
    /// What the shopper saves: item discounts plus the shipping discount (the objective's
    /// first part).
    pub fn savings_fen(&self) -> i64 {
        self.discount_fen + self.shipping_discount_fen
    }

    /// Points granted by the applied offers (the objective's second part).
    pub fn points(&self) -> i64 {
        self.applied.iter().map(|a| a.points).sum()
    }

    /// Number of gift coupons granted by the applied offers (the objective's third part).
    pub fn gift_coupon_count(&self) -> usize {
        self.applied.iter().map(|a| a.gift_coupons.len()).sum()
    }

    /// Ids of the applied offers, in pipeline order.
    pub fn applied_ids(&self) -> Vec<&str> {
        self.applied.iter().map(|a| a.offer_id.as_str()).collect()
    }
}

/// One applied offer and what it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedOffer {
    pub offer_id: String,
    pub stage: Stage,
    /// Item savings; equals the sum of `allocations`.
    pub savings_fen: i64,
    /// Where the item savings landed; lines that got nothing are left out.
    pub allocations: Vec<Allocation>,
    /// Shipping discount credited to this offer (the first free-shipping benefit in
    /// pipeline order gets all of it).
    pub shipping_fen: i64,
    /// Points granted by the threshold tier reached.
    pub points: i64,
    /// Coupons granted by the threshold tier reached.
    pub gift_coupons: Vec<String>,
}

/// Part of an offer's item savings on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocation {
    /// Index into the cart's lines.
    pub line: usize,
    pub fen: i64,
}

/// One cart line after pricing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// Index into the cart's lines.
    pub line: usize,
    pub sku: String,
    pub list_fen: i64,
    /// (offer id, fen) in pipeline order; offers that gave this line nothing are left out.
    pub discounts: Vec<(String, i64)>,
    pub final_fen: i64,
}

/// A considered offer the best price does not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotApplied {
    pub offer_id: String,
    pub reason: Reason,
}

/// Why an offer is not applied, judged against the best set: the first that holds of
/// `NoEligibleItems`, `BelowThreshold`, `NoBenefit`, `NotCombinable`, `NotBetter`. The
/// offer's own effect comes first because it is what a shopper can act on ("add ¥20
/// more"); combinability only matters for an offer that would otherwise give something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No cart line is in scope (for an activity price: no in-scope line has a listed
    /// SKU; for a gift coupon: no in-scope line has its SKU).
    NoEligibleItems,
    /// Added to the best set, its threshold would not be reached at its point in the
    /// pipeline; `missing` is fen or items short of the lowest threshold.
    BelowThreshold { missing: i64 },
    /// Added to the best set, it would give nothing (no savings, shipping, points or gift
    /// coupons): floors reached, activity price not lower, free shipping already granted,
    /// no shipping charged, a threshold tier reached that grants nothing…
    NoBenefit,
    /// It would give something but does not combine with this applied offer (the first by
    /// id it conflicts with).
    NotCombinable { with: String },
    /// Compatible and useful, but the best set ranks higher without it (saves more, or
    /// saves as much with more points or gift coupons, or ties with fewer offers).
    NotBetter,
}
