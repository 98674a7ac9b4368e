//! The inputs: a cart, the offers that may apply to it, and the request that joins them.
//!
//! These are plain values with public fields so the application layer can build them from
//! its own rows; [`PricingRequest::check`](super::PricingRequest::check) is the one gate
//! that makes them safe to price.

use std::collections::{BTreeMap, BTreeSet};

use crate::promotions::coupons::{ProductScope, Stacking};

/// A shopping cart. Money is in fen (分).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cart {
    pub lines: Vec<Line>,
    /// Shipping charged before any free-shipping benefit.
    pub shipping_fen: i64,
}

/// One cart line: a SKU, its category, the list unit price and how many units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub sku: String,
    pub category: String,
    pub unit_price_fen: i64,
    pub quantity: i64,
    /// Margin floor per unit: the line is never sold below `floor * quantity`. A line whose
    /// list price is already below its floor gets no discount at all.
    pub floor_unit_fen: Option<i64>,
}

impl Line {
    /// A line without a margin floor.
    pub fn new(
        sku: impl Into<String>,
        category: impl Into<String>,
        unit_price_fen: i64,
        quantity: i64,
    ) -> Self {
        Self {
            sku: sku.into(),
            category: category.into(),
            unit_price_fen,
            quantity,
            floor_unit_fen: None,
        }
    }

    /// The same line with a margin floor per unit.
    pub fn with_floor(mut self, floor_unit_fen: i64) -> Self {
        self.floor_unit_fen = Some(floor_unit_fen);
        self
    }

    /// List price of the whole line.
    pub fn list_fen(&self) -> i64 {
        self.unit_price_fen * self.quantity
    }

    /// The lowest amount the whole line may be sold for (0 without a floor).
    pub fn floor_fen(&self) -> i64 {
        self.floor_unit_fen.unwrap_or(0) * self.quantity
    }
}

/// A promotion the cart may use: an activity price, a member tier discount, a threshold
/// promotion (满减送) or a coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Unique within a request; also the canonical order within a pipeline stage.
    pub id: String,
    /// Shown to the shopper.
    pub label: String,
    pub kind: OfferKind,
    pub scope: ProductScope,
    pub stacking: Stacking,
}

impl Offer {
    /// An offer on every product that combines with nothing: the safe defaults, to be
    /// widened with [`Offer::scope`] and [`Offer::stacking`].
    pub fn new(id: impl Into<String>, kind: OfferKind) -> Self {
        let id = id.into();
        Self {
            label: id.clone(),
            id,
            kind,
            scope: ProductScope::everything(),
            stacking: Stacking::Exclusive,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn scope(mut self, scope: ProductScope) -> Self {
        self.scope = scope;
        self
    }

    pub fn stacking(mut self, stacking: Stacking) -> Self {
        self.stacking = stacking;
        self
    }

    /// Coupons are the offers a shopper holds and may pick (see
    /// [`PricingRequest::chosen_coupons`](super::PricingRequest::chosen_coupons)).
    pub fn is_coupon(&self) -> bool {
        matches!(
            self.kind,
            OfferKind::CouponAmountOff { .. }
                | OfferKind::CouponPercentOff { .. }
                | OfferKind::CouponFreeShipping { .. }
                | OfferKind::CouponGift { .. }
        )
    }

    /// The pipeline stage this offer is evaluated in.
    pub fn stage(&self) -> Stage {
        match self.kind {
            OfferKind::ActivityPrice { .. } => Stage::ActivityPrice,
            OfferKind::TierDiscount { .. } => Stage::TierDiscount,
            OfferKind::Threshold { .. } => Stage::Threshold,
            _ => Stage::Coupon,
        }
    }
}

/// What an offer does. Percentages are "percent off": 5 means the shopper pays 95 %.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferKind {
    /// Timed discount or flash price: SKU → unit price in fen.
    ActivityPrice { prices: BTreeMap<String, i64> },
    /// Member tier discount on every in-scope line, in basis points (250 = 2.5 % off,
    /// 九七五折), as tiers state it.
    TierDiscount { discount_bp: u32 },
    /// 满减送: the highest tier reached by the in-scope amount or quantity applies.
    Threshold {
        basis: ThresholdBasis,
        tiers: Vec<ThresholdTier>,
    },
    /// 满减: `amount_fen` off once the in-scope amount reaches `threshold_fen`
    /// (无门槛 = threshold 0).
    CouponAmountOff { threshold_fen: i64, amount_fen: i64 },
    /// Percent off the in-scope amount, optionally capped.
    CouponPercentOff {
        threshold_fen: i64,
        percent_off: u32,
        cap_fen: Option<i64>,
    },
    /// Free shipping once the in-scope amount reaches `threshold_fen`.
    CouponFreeShipping { threshold_fen: i64 },
    /// Exchange or gift coupon: one unit of `sku` already in the cart becomes free.
    CouponGift { sku: String },
}

/// What a threshold promotion measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ThresholdBasis {
    /// In-scope amount in fen, after activity prices and tier discounts.
    Amount,
    /// In-scope item count.
    Quantity,
}

/// One step of a threshold ladder. A tier may reduce the price, and may also grant free
/// shipping, points and gift coupons (which do not change the price).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThresholdTier {
    /// Fen or item count, depending on the basis.
    pub at: i64,
    pub amount_off_fen: i64,
    pub percent_off: u32,
    pub free_shipping: bool,
    pub points: i64,
    pub gift_coupons: Vec<String>,
}

impl ThresholdTier {
    /// 满 `at` 减 `amount_off_fen`.
    pub fn amount_off(at: i64, amount_off_fen: i64) -> Self {
        Self {
            at,
            amount_off_fen,
            ..Self::default()
        }
    }

    /// 满 `at` 打折: `percent_off` of the in-scope amount.
    pub fn percent_off(at: i64, percent_off: u32) -> Self {
        Self {
            at,
            percent_off,
            ..Self::default()
        }
    }
}

/// The stacking rule for a pair of offers: neither is [`Stacking::Exclusive`] and each
/// one's `stacks_with` lists the other's group (so two offers of one group combine only if
/// the group lists itself). Symmetric by construction.
pub fn combines(a: &Stacking, b: &Stacking) -> bool {
    match (a, b) {
        (
            Stacking::Group {
                group: a,
                stacks_with: a_with,
            },
            Stacking::Group {
                group: b,
                stacks_with: b_with,
            },
        ) => a_with.contains(b) && b_with.contains(a),
        _ => false,
    }
}

/// The pipeline stages, in evaluation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    ActivityPrice,
    TierDiscount,
    Threshold,
    /// Gift coupons, then amount-off, then percent-off, then free shipping.
    Coupon,
}

/// What to price: the cart, every offer that may apply, and optionally the coupons the
/// shopper picked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PricingRequest {
    pub cart: Cart,
    pub offers: Vec<Offer>,
    /// `Some`: only these coupons are considered (non-coupon offers always are); every id
    /// must name a coupon in `offers`. `None`: the solver picks among all coupons.
    pub chosen_coupons: Option<BTreeSet<String>>,
}

impl PricingRequest {
    /// Whether the solver may use this offer at all.
    pub fn considers(&self, offer: &Offer) -> bool {
        match &self.chosen_coupons {
            Some(chosen) if offer.is_coupon() => chosen.contains(&offer.id),
            _ => true,
        }
    }
}
