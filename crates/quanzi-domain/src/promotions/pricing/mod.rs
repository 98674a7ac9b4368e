//! Cart pricing: the best price a cart can get from a set of promotion offers under their
//! stacking rules, with a line-by-line explanation.
//!
//! # Layout
//! - `model`: the inputs ([`Cart`], [`Line`], [`Offer`], [`OfferKind`], [`PricingRequest`])
//!   and the stacking rule [`combines`]; scopes and stacking groups are the coupon
//!   templates' own [`ProductScope`] and [`Stacking`], re-exported here.
//! - `priced`: the result ([`Priced`], [`AppliedOffer`], [`PricedLine`], [`NotApplied`],
//!   [`Reason`]).
//! - `check`: input validation and its bounds ([`PricingInputError`], [`MAX_LINES`], …).
//! - `prepare`: per-request tables (canonical order, eligible lines, stacking, bounds).
//! - `evaluate`: the pipeline, one offer at a time.
//! - `allocate`: spreading an order-level discount over lines within their floors.
//! - `search`: [`solve`] (branch-and-bound) and [`brute_force`] (the reference).
//! - `explain`: allocations, per-line discounts and reasons for offers left out.
//! - `sample`: [`typical_request`], a fixed request for benchmarks.
//!
//! # Money
//! All amounts are fen in `i64`. [`PricingRequest::check`] bounds every input so no sum
//! can overflow; percentages are computed in `i128` and rounded down, so an offer never
//! gives more than it states.
//!
//! # Stacking
//! Two offers combine iff neither is [`Stacking::Exclusive`] and each one's
//! `stacks_with` lists the other's group (so two offers of one group combine only if the
//! group lists itself). A set is valid iff every pair combines; an exclusive offer is
//! used alone.
//!
//! # The pipeline (how one set of offers is priced)
//! Each line starts at `unit_price × quantity`. Stages run in this order; within a stage
//! offers run by id (byte order):
//! 1. **Activity price**: an in-scope line whose SKU the offer lists gets unit price
//!    `min(current, max(activity, floor))`; with several, the lowest wins and gets the
//!    whole discount (ties to the smaller id). A price above the current one does nothing.
//! 2. **Tier discount**: `discount_bp` basis points of each in-scope line's current amount,
//!    rounded down, capped by the line's headroom.
//! 3. **Threshold** (满减送): the basis is the in-scope current amount (or quantity); the
//!    highest tier with `at <= basis` gives `amount_off + percent_off × in-scope amount`
//!    (both measured before this offer; rounded down), spread over the in-scope lines; its
//!    free shipping, points and gift coupons are recorded as benefits (points and gift
//!    coupons count in the objective, see below).
//! 4. **Coupons**: gift coupons (one unit of the SKU, the most valuable unit after floors,
//!    earliest line on ties, becomes free), then amount-off, then percent-off (capped),
//!    then free shipping; each threshold is checked on the in-scope current amount at that
//!    moment.
//! 5. **Shipping**: the first free-shipping benefit in this order makes shipping free and
//!    is credited with it; later ones give nothing.
//!
//! Margin floors: a line's headroom is `current amount − floor × quantity` (at least 0; a
//! line without floor may go to 0). Order-level discounts (thresholds, amount- and
//! percent-off coupons) are spread over the in-scope lines in proportion to their current
//! amounts by largest remainder (ties to the earlier line), capped at each line's headroom,
//! with the excess re-spread over lines that still have room. An offer may therefore give
//! less than its nominal amount; no line ever crosses its floor, and a line listed below
//! its floor gets no discount at all.
//!
//! # Objective
//! Sets are ranked lexicographically by:
//! 1. savings = item discounts + shipping discount (fen), highest first;
//! 2. points granted by the threshold tiers reached, most first;
//! 3. number of gift coupons granted by those tiers, most first;
//! 4. fewer offers;
//! 5. the lexicographically smallest sorted list of ids.
//!
//! Non-price benefits (满赠) are thus a tie-break after money: they never cost the shopper
//! a fen, but among sets that save the same, the one granting more is chosen, so a
//! reachable tier that only grants points or gift coupons is applied whenever it combines
//! with the best-saving set. Points and gift coupons are kept apart rather than summed
//! because they are in different units and a request states no value for a gift coupon;
//! points come first as the benefit with a stated quantity. An offer that grants nothing
//! at all (no savings, shipping, points or gift coupons) is never applied, since the same
//! set without it ranks higher on the offer count; it is reported in
//! [`Priced::not_applied`] as [`Reason::NoBenefit`].
//!
//! # Search
//! [`solve`] is an exact branch-and-bound (see its docs for the bound and why the naive
//! "marginal ≤ standalone" bound is unsafe here); [`brute_force`] evaluates every subset
//! and is the reference the property tests hold `solve` to. Both give identical results.

mod allocate;
mod check;
mod evaluate;
mod explain;
mod model;
mod prepare;
mod priced;
mod sample;
mod search;

#[cfg(test)]
mod brute_force_tests;
#[cfg(test)]
mod tests;

/// Scopes and stacking groups are the same types coupon templates use.
pub use crate::promotions::coupons::{ProductScope, Stacking};
pub use check::{
    PricingInputError, MAX_FEN, MAX_LINES, MAX_NAME_LEN, MAX_OFFERS, MAX_QUANTITY, MAX_TIERS,
};
pub use model::{
    combines, Cart, Line, Offer, OfferKind, PricingRequest, Stage, ThresholdBasis, ThresholdTier,
};
pub use priced::{Allocation, AppliedOffer, NotApplied, Priced, PricedLine, Reason};
pub use sample::typical_request;
pub use search::{brute_force, solve};
