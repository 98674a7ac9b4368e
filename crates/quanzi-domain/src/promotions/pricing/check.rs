//! Input validation: the bounds that keep pricing exact in `i64` and the search within a
//! 64-bit set.

use std::collections::BTreeSet;

use super::model::{Cart, Line, Offer, OfferKind, PricingRequest};
use crate::input::InvalidInput;

/// At most this many cart lines.
pub const MAX_LINES: usize = 200;
/// At most this many offers per request; offer sets are 64-bit masks in the search.
pub const MAX_OFFERS: usize = 64;
/// Bound on any single money field (¥100 million), so that a line (× quantity) and a cart
/// (× lines) stay far from `i64::MAX`.
pub const MAX_FEN: i64 = 10_000_000_000;
/// Bound on a line's quantity.
pub const MAX_QUANTITY: i64 = 100_000;
/// Bound on the length of ids, SKUs, categories and group names.
pub const MAX_NAME_LEN: usize = 128;
/// Bound on threshold tiers per offer.
pub const MAX_TIERS: usize = 32;

/// Invalid pricing input: which field (a path such as `offers[2].kind.tiers[1].at`) and a
/// lowercase human message. The application layer maps it to its own input error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PricingInputError {
    pub field: String,
    pub message: String,
}

impl PricingInputError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<InvalidInput> for PricingInputError {
    fn from(e: InvalidInput) -> Self {
        Self::new(e.field(), e.message())
    }
}

impl From<PricingInputError> for InvalidInput {
    fn from(e: PricingInputError) -> Self {
        InvalidInput::new(e.field, e.message)
    }
}

type Checked = Result<(), PricingInputError>;

fn fail(field: impl Into<String>, message: impl Into<String>) -> Checked {
    Err(PricingInputError::new(field, message))
}

fn fen(field: &str, value: i64) -> Checked {
    if !(0..=MAX_FEN).contains(&value) {
        return fail(field, format!("must be between 0 and {MAX_FEN} fen"));
    }
    Ok(())
}

fn name(field: &str, value: &str) -> Checked {
    if value.trim().is_empty() {
        return fail(field, "must not be empty");
    }
    if value.chars().count() > MAX_NAME_LEN {
        return fail(field, format!("must be at most {MAX_NAME_LEN} characters"));
    }
    Ok(())
}

fn percent(field: &str, value: u32, min: u32) -> Checked {
    if !(min..=100).contains(&value) {
        return fail(field, format!("must be between {min} and 100"));
    }
    Ok(())
}

impl Cart {
    pub fn check(&self) -> Checked {
        if self.lines.len() > MAX_LINES {
            return fail("cart.lines", format!("at most {MAX_LINES} lines"));
        }
        fen("cart.shipping_fen", self.shipping_fen)?;
        for (i, line) in self.lines.iter().enumerate() {
            line.check(&format!("cart.lines[{i}]"))?;
        }
        Ok(())
    }
}

impl Line {
    fn check(&self, at: &str) -> Checked {
        name(&format!("{at}.sku"), &self.sku)?;
        name(&format!("{at}.category"), &self.category)?;
        fen(&format!("{at}.unit_price_fen"), self.unit_price_fen)?;
        if !(1..=MAX_QUANTITY).contains(&self.quantity) {
            return fail(
                format!("{at}.quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            );
        }
        if let Some(floor) = self.floor_unit_fen {
            fen(&format!("{at}.floor_unit_fen"), floor)?;
        }
        Ok(())
    }
}

impl Offer {
    /// Checks one offer on its own; field paths start with `offer.`.
    pub fn check(&self) -> Checked {
        self.check_at("offer")
    }

    /// `at` is the offer's path in the request (e.g. `offers[3]`).
    fn check_at(&self, at: &str) -> Checked {
        name(&format!("{at}.id"), &self.id)?;
        if self.label.chars().count() > 4 * MAX_NAME_LEN {
            return fail(format!("{at}.label"), "is too long");
        }
        // Scopes and stacking follow the coupon templates' rules, since they share types.
        self.scope.check(&format!("{at}.scope"))?;
        self.stacking.check(&format!("{at}.stacking"))?;
        let at = format!("{at}.kind");
        match &self.kind {
            OfferKind::ActivityPrice { prices } => {
                if prices.is_empty() {
                    return fail(format!("{at}.prices"), "must list at least one sku");
                }
                for (sku, price) in prices {
                    name(&format!("{at}.prices"), sku)?;
                    fen(&format!("{at}.prices[{sku}]"), *price)?;
                }
            }
            OfferKind::TierDiscount { discount_bp } => {
                if !(1..=10_000).contains(discount_bp) {
                    return fail(format!("{at}.discount_bp"), "must be between 1 and 10000");
                }
            }
            OfferKind::Threshold { tiers, .. } => {
                if tiers.is_empty() {
                    return fail(format!("{at}.tiers"), "must have at least one tier");
                }
                if tiers.len() > MAX_TIERS {
                    return fail(format!("{at}.tiers"), format!("at most {MAX_TIERS} tiers"));
                }
                for (i, tier) in tiers.iter().enumerate() {
                    let t = format!("{at}.tiers[{i}]");
                    fen(&format!("{t}.at"), tier.at)?;
                    if i > 0 && tier.at <= tiers[i - 1].at {
                        return fail(
                            format!("{t}.at"),
                            "tiers must be in strictly ascending order",
                        );
                    }
                    fen(&format!("{t}.amount_off_fen"), tier.amount_off_fen)?;
                    percent(&format!("{t}.percent_off"), tier.percent_off, 0)?;
                    if !(0..=MAX_FEN).contains(&tier.points) {
                        return fail(format!("{t}.points"), "must not be negative");
                    }
                    for coupon in &tier.gift_coupons {
                        name(&format!("{t}.gift_coupons"), coupon)?;
                    }
                }
            }
            OfferKind::CouponAmountOff {
                threshold_fen,
                amount_fen,
            } => {
                fen(&format!("{at}.threshold_fen"), *threshold_fen)?;
                fen(&format!("{at}.amount_fen"), *amount_fen)?;
                if *amount_fen == 0 {
                    return fail(format!("{at}.amount_fen"), "must be positive");
                }
            }
            OfferKind::CouponPercentOff {
                threshold_fen,
                percent_off,
                cap_fen,
            } => {
                fen(&format!("{at}.threshold_fen"), *threshold_fen)?;
                percent(&format!("{at}.percent_off"), *percent_off, 1)?;
                if let Some(cap) = cap_fen {
                    fen(&format!("{at}.cap_fen"), *cap)?;
                }
            }
            OfferKind::CouponFreeShipping { threshold_fen } => {
                fen(&format!("{at}.threshold_fen"), *threshold_fen)?;
            }
            OfferKind::CouponGift { sku } => name(&format!("{at}.sku"), sku)?,
        }
        Ok(())
    }
}

impl PricingRequest {
    /// Everything [`solve`](super::solve) relies on: the cart and every offer are valid,
    /// offer ids are unique, at most [`MAX_OFFERS`] offers, and chosen coupons name coupon
    /// offers of this request.
    pub fn check(&self) -> Checked {
        self.cart.check()?;
        if self.offers.len() > MAX_OFFERS {
            return fail("offers", format!("at most {MAX_OFFERS} offers"));
        }
        let mut ids = BTreeSet::new();
        for (i, offer) in self.offers.iter().enumerate() {
            offer.check_at(&format!("offers[{i}]"))?;
            if !ids.insert(offer.id.as_str()) {
                return fail(format!("offers[{i}].id"), "duplicate offer id");
            }
        }
        if let Some(chosen) = &self.chosen_coupons {
            for id in chosen {
                let known = self.offers.iter().any(|o| &o.id == id && o.is_coupon());
                if !known {
                    return fail("chosen_coupons", format!("{id} is not a coupon offer"));
                }
            }
        }
        Ok(())
    }
}
