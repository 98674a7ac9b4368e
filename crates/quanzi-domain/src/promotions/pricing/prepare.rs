//! Work done once per request before any set is evaluated: the canonical offer order, each
//! offer's eligible lines, the pairwise stacking table and each offer's bounds (savings,
//! shipping, points, gift coupons).

use std::ops::Range;

use super::evaluate::{apply, Effect, Scratch, State};
use super::model::{
    combines, Cart, Offer, OfferKind, PricingRequest, ThresholdBasis, ThresholdTier,
};

/// The order of offers inside the pipeline: stages 1–3, then the coupon sub-steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    Activity,
    Tier,
    Threshold,
    Gift,
    AmountOff,
    PercentOff,
    FreeShipping,
}

impl Step {
    fn of(kind: &OfferKind) -> Step {
        match kind {
            OfferKind::ActivityPrice { .. } => Step::Activity,
            OfferKind::TierDiscount { .. } => Step::Tier,
            OfferKind::Threshold { .. } => Step::Threshold,
            OfferKind::CouponGift { .. } => Step::Gift,
            OfferKind::CouponAmountOff { .. } => Step::AmountOff,
            OfferKind::CouponPercentOff { .. } => Step::PercentOff,
            OfferKind::CouponFreeShipping { .. } => Step::FreeShipping,
        }
    }
}

/// A cart line reduced to the numbers pricing needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineFacts {
    pub unit: i64,
    pub quantity: i64,
    pub floor_fen: i64,
}

impl LineFacts {
    pub fn list_fen(&self) -> i64 {
        self.unit * self.quantity
    }
}

/// A line an offer may touch. For an activity price, `price` is the activity price raised
/// to the line's floor (the lowest unit price it may set); otherwise unused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    pub line: usize,
    pub price: i64,
}

/// One considered offer, at its position in the pipeline.
#[derive(Debug)]
pub(crate) struct Prepped<'r> {
    pub offer: &'r Offer,
    /// Position of the id among the considered offers sorted by id (for tie-breaks).
    pub rank: u32,
    members: Range<usize>,
    /// Pipeline positions of the offers this one combines with.
    pub compatible: u64,
    /// Upper bound on the item savings this offer can add at any point of any evaluation.
    pub bound_fen: i64,
    /// Whether it can grant free shipping at any point of any evaluation.
    pub may_free_ship: bool,
    /// Upper bounds on the points and on the number of gift coupons it can grant at any
    /// point of any evaluation (only thresholds grant either).
    pub bound_points: i64,
    pub bound_gift_coupons: i64,
}

impl Prepped<'_> {
    /// Whether it can change anything in any set: an offer that cannot changes no state
    /// when added, so any set with it ties the same set without it and has more offers.
    pub fn may_give_anything(&self) -> bool {
        self.bound_fen > 0
            || self.may_free_ship
            || self.bound_points > 0
            || self.bound_gift_coupons > 0
    }
}

/// A request ready to price. Offer positions (0..n, pipeline order) index every per-offer
/// table and are the bits of the offer-set masks.
#[derive(Debug)]
pub(crate) struct Prepared<'r> {
    pub cart: &'r Cart,
    pub lines: Vec<LineFacts>,
    pub offers: Vec<Prepped<'r>>,
    members: Vec<Member>,
    pub shipping_fen: i64,
    pub subtotal_fen: i64,
    /// Sum over lines of what may be taken off before floors: no set saves more on items.
    pub headroom_fen: i64,
}

impl<'r> Prepared<'r> {
    /// Expects a request that passed [`PricingRequest::check`].
    pub fn new(request: &'r PricingRequest) -> Self {
        let cart = &request.cart;
        let lines: Vec<LineFacts> = cart
            .lines
            .iter()
            .map(|l| LineFacts {
                unit: l.unit_price_fen,
                quantity: l.quantity,
                floor_fen: l.floor_fen(),
            })
            .collect();
        let mut considered: Vec<&Offer> = request
            .offers
            .iter()
            .filter(|o| request.considers(o))
            .collect();
        // The canonical order makes the result independent of the order offers arrive in.
        considered.sort_by(|a, b| a.id.cmp(&b.id));
        assert!(
            considered.len() <= 64,
            "pricing takes at most 64 offers; check the request first"
        );
        let mut order: Vec<(Step, u32, &Offer)> = considered
            .iter()
            .enumerate()
            .map(|(rank, o)| (Step::of(&o.kind), rank as u32, *o))
            .collect();
        order.sort_by_key(|&(step, rank, _)| (step, rank));

        let mut members = Vec::new();
        let mut offers = Vec::with_capacity(order.len());
        for &(_, rank, offer) in &order {
            let start = members.len();
            for (i, line) in cart.lines.iter().enumerate() {
                if !offer.scope.covers(&line.sku, &line.category) {
                    continue;
                }
                let floor = line.floor_unit_fen.unwrap_or(0);
                match &offer.kind {
                    OfferKind::ActivityPrice { prices } => {
                        if let Some(&price) = prices.get(&line.sku) {
                            members.push(Member {
                                line: i,
                                price: price.max(floor),
                            });
                        }
                    }
                    OfferKind::CouponGift { sku } if *sku != line.sku => {}
                    _ => members.push(Member { line: i, price: 0 }),
                }
            }
            offers.push(Prepped {
                offer,
                rank,
                members: start..members.len(),
                compatible: 0,
                bound_fen: 0,
                may_free_ship: false,
                bound_points: 0,
                bound_gift_coupons: 0,
            });
        }
        for a in 0..offers.len() {
            for b in 0..offers.len() {
                if a != b && combines(&offers[a].offer.stacking, &offers[b].offer.stacking) {
                    offers[a].compatible |= 1 << b;
                }
            }
        }
        let mut prepared = Prepared {
            cart,
            subtotal_fen: lines.iter().map(LineFacts::list_fen).sum(),
            headroom_fen: lines
                .iter()
                .map(|l| (l.list_fen() - l.floor_fen).max(0))
                .sum(),
            lines,
            offers,
            members,
            shipping_fen: cart.shipping_fen,
        };
        prepared.compute_bounds();
        prepared
    }

    pub fn members(&self, pos: usize) -> &[Member] {
        &self.members[self.offers[pos].members.clone()]
    }

    /// Each offer's effect on the undiscounted cart bounds what it can add anywhere in a
    /// pipeline: every earlier stage only lowers amounts, unit prices and paid units, and
    /// each kind gives less on lower numbers (a gift never exceeds the unit price, see
    /// `evaluate`). A threshold is the exception, since a lower basis may reach a lower
    /// tier that gives more, so its bounds are the best of the tiers reachable on the list
    /// prices, taken separately for savings, shipping, points and gift coupons (a lower
    /// basis only ever reaches a subset of those tiers).
    fn compute_bounds(&mut self) {
        let fresh = State::fresh(&self.lines);
        let mut work = fresh.clone();
        let mut scratch = Scratch::default();
        for pos in 0..self.offers.len() {
            let bounds = match &self.offers[pos].offer.kind {
                OfferKind::Threshold { basis, tiers } => {
                    self.threshold_bounds(pos, *basis, tiers, &fresh)
                }
                _ => {
                    work.clone_from(&fresh);
                    match apply(self, pos, &mut work, &mut scratch, None) {
                        Effect::Applied {
                            items_fen,
                            shipping,
                            ..
                        } => Bounds {
                            items_fen,
                            shipping,
                            ..Bounds::default()
                        },
                        _ => Bounds::default(),
                    }
                }
            };
            let offer = &mut self.offers[pos];
            offer.bound_fen = bounds.items_fen;
            offer.may_free_ship = bounds.shipping && self.shipping_fen > 0;
            offer.bound_points = bounds.points;
            offer.bound_gift_coupons = bounds.gift_coupons;
        }
    }

    fn threshold_bounds(
        &self,
        pos: usize,
        basis: ThresholdBasis,
        tiers: &[ThresholdTier],
        fresh: &State,
    ) -> Bounds {
        let members = self.members(pos);
        let mut bounds = Bounds::default();
        if members.is_empty() {
            return bounds;
        }
        let measured = threshold_basis(self, members, fresh, basis);
        let amount: i64 = members.iter().map(|m| fresh.amount[m.line]).sum();
        let room: i64 = members
            .iter()
            .map(|m| fresh.headroom(&self.lines, m.line))
            .sum();
        for tier in tiers.iter().take_while(|t| t.at <= measured) {
            bounds.items_fen = bounds.items_fen.max(tier_nominal(tier, amount).min(room));
            bounds.shipping |= tier.free_shipping;
            bounds.points = bounds.points.max(tier.points);
            bounds.gift_coupons = bounds.gift_coupons.max(tier.gift_coupons.len() as i64);
        }
        bounds
    }
}

/// What one offer can give at most, anywhere.
#[derive(Debug, Default)]
struct Bounds {
    items_fen: i64,
    shipping: bool,
    points: i64,
    gift_coupons: i64,
}

/// What a threshold measures over its members in `state`.
pub(crate) fn threshold_basis(
    prep: &Prepared,
    members: &[Member],
    state: &State,
    basis: ThresholdBasis,
) -> i64 {
    match basis {
        ThresholdBasis::Amount => members.iter().map(|m| state.amount[m.line]).sum(),
        ThresholdBasis::Quantity => members.iter().map(|m| prep.lines[m.line].quantity).sum(),
    }
}

/// A tier's nominal discount on an in-scope amount, before floors.
pub(crate) fn tier_nominal(tier: &ThresholdTier, amount: i64) -> i64 {
    tier.amount_off_fen
        .saturating_add(percent_of(amount, tier.percent_off))
}

/// `bp` basis points of `amount`, rounded down so a promotion never gives more than stated.
pub(crate) fn basis_points_of(amount: i64, bp: u32) -> i64 {
    (i128::from(amount.max(0)) * i128::from(bp.min(10_000)) / 10_000) as i64
}

/// `percent` % of `amount`, rounded down so a promotion never gives more than stated.
pub(crate) fn percent_of(amount: i64, percent: u32) -> i64 {
    (i128::from(amount.max(0)) * i128::from(percent.min(100)) / 100) as i64
}
