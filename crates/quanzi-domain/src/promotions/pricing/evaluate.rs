//! The pipeline: one offer applied to the running state of the cart.
//!
//! A set is evaluated by applying its offers one by one in pipeline order to a fresh
//! [`State`]. Because an offer only ever sees the effect of offers before it, the search
//! can extend a partial set without re-evaluating it.

use super::allocate::{spread, SpreadScratch};
use super::model::OfferKind;
use super::prepare::{
    basis_points_of, percent_of, threshold_basis, tier_nominal, LineFacts, Member, Prepared,
};
use super::priced::Allocation;

/// Marks "no offer" in the per-line and shipping attribution fields.
pub(crate) const NOBODY: u8 = u8::MAX;

/// The cart part-way through the pipeline.
#[derive(Debug, Clone)]
pub(crate) struct State {
    /// Current unit price (changed only by activity prices).
    pub unit: Vec<i64>,
    /// Current line amount.
    pub amount: Vec<i64>,
    /// Units not yet made free by a gift coupon.
    pub paid: Vec<i64>,
    /// Pipeline position of the activity offer that set the line's unit price.
    pub activity_by: Vec<u8>,
    /// Pipeline position of the offer credited with free shipping.
    pub shipping_by: u8,
    /// Item savings so far.
    pub items_fen: i64,
    /// Points granted so far (by the threshold tiers reached).
    pub points: i64,
    /// Gift coupons granted so far (by the threshold tiers reached).
    pub gift_coupons: i64,
}

/// What a set of offers is worth, compared lexicographically in field order (the derived
/// `Ord`): savings first, then points, then the number of gift coupons. Ties between equal
/// scores go to fewer offers, then to the smaller sorted list of ids (see `search`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Score {
    /// Item savings plus the shipping discount.
    pub savings_fen: i64,
    pub points: i64,
    pub gift_coupons: i64,
}

impl State {
    pub fn fresh(lines: &[LineFacts]) -> Self {
        State {
            unit: lines.iter().map(|l| l.unit).collect(),
            amount: lines.iter().map(LineFacts::list_fen).collect(),
            paid: lines.iter().map(|l| l.quantity).collect(),
            activity_by: vec![NOBODY; lines.len()],
            shipping_by: NOBODY,
            items_fen: 0,
            points: 0,
            gift_coupons: 0,
        }
    }

    /// What may still come off this line. A line listed below its floor has none, so it is
    /// never discounted.
    pub fn headroom(&self, lines: &[LineFacts], line: usize) -> i64 {
        (self.amount[line] - lines[line].floor_fen).max(0)
    }

    /// The objective for the offers applied so far.
    pub fn score(&self, shipping_fen: i64) -> Score {
        Score {
            savings_fen: self.savings_fen(shipping_fen),
            points: self.points,
            gift_coupons: self.gift_coupons,
        }
    }

    /// Item savings plus the shipping discount.
    pub fn savings_fen(&self, shipping_fen: i64) -> i64 {
        let shipping = if self.shipping_by == NOBODY {
            0
        } else {
            shipping_fen
        };
        self.items_fen + shipping
    }

    fn take_shipping(&mut self, prep: &Prepared, pos: usize) -> bool {
        if self.shipping_by == NOBODY && prep.shipping_fen > 0 {
            self.shipping_by = pos as u8;
            true
        } else {
            false
        }
    }
}

/// Buffers reused across applications so evaluating allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    weights: Vec<i64>,
    caps: Vec<i64>,
    out: Vec<i64>,
    spread: SpreadScratch,
}

/// What applying one offer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    NoEligibleItems,
    BelowThreshold {
        missing: i64,
    },
    /// The offer's condition held; it may still have given nothing.
    Applied {
        /// Index of the threshold tier reached.
        tier: Option<usize>,
        items_fen: i64,
        shipping: bool,
    },
}

/// Applies the offer at pipeline position `pos` to `state`. With `record`, item savings
/// are also written there line by line, except for activity prices: a later, lower
/// activity price takes over a line, so those are attributed from `State::activity_by`
/// once the whole set is applied.
pub(crate) fn apply(
    prep: &Prepared,
    pos: usize,
    state: &mut State,
    scratch: &mut Scratch,
    mut record: Option<&mut Vec<Allocation>>,
) -> Effect {
    let members = prep.members(pos);
    if members.is_empty() {
        return Effect::NoEligibleItems;
    }
    let lines = &prep.lines;
    let applied = |tier, items_fen, shipping| Effect::Applied {
        tier,
        items_fen,
        shipping,
    };
    let effect = match &prep.offers[pos].offer.kind {
        OfferKind::ActivityPrice { .. } => {
            let mut items = 0;
            for m in members {
                // `m.price` is already raised to the floor; a price at or above the
                // current one changes nothing, so earlier (smaller) ids keep ties.
                if m.price < state.unit[m.line] {
                    let off = (state.unit[m.line] - m.price) * lines[m.line].quantity;
                    state.unit[m.line] = m.price;
                    state.amount[m.line] -= off;
                    state.activity_by[m.line] = pos as u8;
                    items += off;
                }
            }
            applied(None, items, false)
        }
        OfferKind::TierDiscount { discount_bp } => {
            let mut items = 0;
            for m in members {
                let off = basis_points_of(state.amount[m.line], *discount_bp)
                    .min(state.headroom(lines, m.line));
                if off > 0 {
                    state.amount[m.line] -= off;
                    items += off;
                    if let Some(r) = record.as_deref_mut() {
                        r.push(Allocation {
                            line: m.line,
                            fen: off,
                        });
                    }
                }
            }
            applied(None, items, false)
        }
        OfferKind::Threshold { basis, tiers } => {
            let measured = threshold_basis(prep, members, state, *basis);
            match tiers.iter().rposition(|t| t.at <= measured) {
                None => Effect::BelowThreshold {
                    missing: tiers[0].at - measured,
                },
                Some(t) => {
                    let tier = &tiers[t];
                    let nominal = tier_nominal(tier, scope_amount(members, state));
                    let items = spread_over(prep, members, nominal, state, scratch, record);
                    let shipping = tier.free_shipping && state.take_shipping(prep, pos);
                    state.points += tier.points;
                    state.gift_coupons += tier.gift_coupons.len() as i64;
                    applied(Some(t), items, shipping)
                }
            }
        }
        OfferKind::CouponGift { .. } => {
            // The unit worth most after floors, earliest line on ties. A unit is never
            // worth more than the unit price: `amount <= unit * paid` holds until a floor
            // caps a gift, after which the line has no headroom left.
            let mut best: Option<(usize, i64)> = None;
            for m in members {
                let paid = state.paid[m.line];
                if paid == 0 {
                    continue;
                }
                let worth = (state.amount[m.line] / paid).min(state.headroom(lines, m.line));
                if best.is_none_or(|(_, w)| worth > w) {
                    best = Some((m.line, worth));
                }
            }
            let mut items = 0;
            if let Some((line, worth)) = best.filter(|&(_, w)| w > 0) {
                state.amount[line] -= worth;
                state.paid[line] -= 1;
                items = worth;
                if let Some(r) = record.as_deref_mut() {
                    r.push(Allocation { line, fen: worth });
                }
            }
            applied(None, items, false)
        }
        OfferKind::CouponAmountOff {
            threshold_fen,
            amount_fen,
        } => {
            let amount = scope_amount(members, state);
            if amount < *threshold_fen {
                Effect::BelowThreshold {
                    missing: threshold_fen - amount,
                }
            } else {
                let items = spread_over(prep, members, *amount_fen, state, scratch, record);
                applied(None, items, false)
            }
        }
        OfferKind::CouponPercentOff {
            threshold_fen,
            percent_off,
            cap_fen,
        } => {
            let amount = scope_amount(members, state);
            if amount < *threshold_fen {
                Effect::BelowThreshold {
                    missing: threshold_fen - amount,
                }
            } else {
                let nominal = percent_of(amount, *percent_off).min(cap_fen.unwrap_or(i64::MAX));
                let items = spread_over(prep, members, nominal, state, scratch, record);
                applied(None, items, false)
            }
        }
        OfferKind::CouponFreeShipping { threshold_fen } => {
            let amount = scope_amount(members, state);
            if amount < *threshold_fen {
                Effect::BelowThreshold {
                    missing: threshold_fen - amount,
                }
            } else {
                applied(None, 0, state.take_shipping(prep, pos))
            }
        }
    };
    if let Effect::Applied { items_fen, .. } = effect {
        state.items_fen += items_fen;
    }
    effect
}

fn scope_amount(members: &[Member], state: &State) -> i64 {
    members.iter().map(|m| state.amount[m.line]).sum()
}

/// An order-level discount over the offer's lines, capped at each line's headroom.
fn spread_over(
    prep: &Prepared,
    members: &[Member],
    nominal: i64,
    state: &mut State,
    scratch: &mut Scratch,
    record: Option<&mut Vec<Allocation>>,
) -> i64 {
    scratch.weights.clear();
    scratch.caps.clear();
    for m in members {
        scratch.weights.push(state.amount[m.line]);
        scratch.caps.push(state.headroom(&prep.lines, m.line));
    }
    scratch.out.clear();
    scratch.out.resize(members.len(), 0);
    let given = spread(
        nominal,
        &scratch.weights,
        &scratch.caps,
        &mut scratch.out,
        &mut scratch.spread,
    );
    for (m, &off) in members.iter().zip(&scratch.out) {
        state.amount[m.line] -= off;
    }
    if let Some(r) = record {
        let allocations = members.iter().zip(&scratch.out).filter(|(_, &off)| off > 0);
        r.extend(allocations.map(|(m, &off)| Allocation {
            line: m.line,
            fen: off,
        }));
    }
    given
}
