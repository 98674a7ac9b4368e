//! Turning the chosen set into a [`Priced`]: per-offer allocations, per-line discounts and
//! a reason for every considered offer left out.

use super::evaluate::{apply, Effect, Scratch, State, NOBODY};
use super::model::OfferKind;
use super::prepare::Prepared;
use super::priced::{Allocation, AppliedOffer, NotApplied, Priced, PricedLine, Reason};
use super::search::bits;

/// A set evaluated with everything recorded.
struct Evaluation {
    state: State,
    /// By pipeline position; `None` for offers outside the set.
    effects: Vec<Option<Effect>>,
    /// Item savings by pipeline position, line by line.
    allocations: Vec<Vec<Allocation>>,
}

impl Evaluation {
    fn of(prep: &Prepared, mask: u64) -> Self {
        let n = prep.offers.len();
        let mut state = State::fresh(&prep.lines);
        let mut scratch = Scratch::default();
        let mut effects = vec![None; n];
        let mut allocations = vec![Vec::new(); n];
        for pos in bits(mask) {
            let effect = apply(
                prep,
                pos,
                &mut state,
                &mut scratch,
                Some(&mut allocations[pos]),
            );
            effects[pos] = Some(effect);
        }
        // The activity price that set a line's final unit price gets its whole discount.
        for (line, facts) in prep.lines.iter().enumerate() {
            let by = state.activity_by[line];
            if by != NOBODY {
                let fen = (facts.unit - state.unit[line]) * facts.quantity;
                allocations[usize::from(by)].push(Allocation { line, fen });
            }
        }
        Evaluation {
            state,
            effects,
            allocations,
        }
    }

    fn items_fen(&self, pos: usize) -> i64 {
        self.allocations[pos].iter().map(|a| a.fen).sum()
    }

    /// The points and gift coupons of the threshold tier the offer at `pos` reached.
    fn benefits<'p>(&self, prep: &'p Prepared, pos: usize) -> (i64, &'p [String]) {
        match (&prep.offers[pos].offer.kind, self.effects[pos]) {
            (OfferKind::Threshold { tiers, .. }, Some(Effect::Applied { tier: Some(t), .. })) => {
                (tiers[t].points, &tiers[t].gift_coupons)
            }
            _ => (0, &[]),
        }
    }

    /// Whether the offer at `pos` granted points or gift coupons.
    fn grants(&self, prep: &Prepared, pos: usize) -> bool {
        let (points, gift_coupons) = self.benefits(prep, pos);
        points > 0 || !gift_coupons.is_empty()
    }

    fn shipping_fen(&self, prep: &Prepared, pos: usize) -> i64 {
        if usize::from(self.state.shipping_by) == pos {
            prep.shipping_fen
        } else {
            0
        }
    }
}

pub(crate) fn explain(prep: &Prepared, mask: u64) -> Priced {
    let eval = Evaluation::of(prep, mask);
    let mut lines: Vec<PricedLine> = prep
        .cart
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| PricedLine {
            line: i,
            sku: l.sku.clone(),
            list_fen: l.list_fen(),
            discounts: Vec::new(),
            final_fen: eval.state.amount[i],
        })
        .collect();
    let mut applied = Vec::with_capacity(mask.count_ones() as usize);
    for pos in bits(mask) {
        let offer = prep.offers[pos].offer;
        for a in &eval.allocations[pos] {
            lines[a.line].discounts.push((offer.id.clone(), a.fen));
        }
        let (points, gift_coupons) = eval.benefits(prep, pos);
        let mut allocations = eval.allocations[pos].clone();
        allocations.sort_by_key(|a| a.line);
        applied.push(AppliedOffer {
            offer_id: offer.id.clone(),
            stage: offer.stage(),
            savings_fen: eval.items_fen(pos),
            allocations,
            shipping_fen: eval.shipping_fen(prep, pos),
            points,
            gift_coupons: gift_coupons.to_vec(),
        });
    }
    let not_applied = (0..prep.offers.len())
        .filter(|pos| mask & (1 << pos) == 0)
        .map(|pos| NotApplied {
            offer_id: prep.offers[pos].offer.id.clone(),
            reason: reason(prep, mask, pos),
        })
        .collect();
    let discount_fen = eval.state.items_fen;
    let shipping_discount_fen = eval.state.savings_fen(prep.shipping_fen) - discount_fen;
    Priced {
        subtotal_fen: prep.subtotal_fen,
        discount_fen,
        shipping_fen: prep.shipping_fen,
        shipping_discount_fen,
        total_fen: prep.subtotal_fen - discount_fen + prep.shipping_fen - shipping_discount_fen,
        applied,
        lines,
        not_applied,
    }
}

/// Why the offer at `pos` is not in the best set `mask`: what it would do if added to
/// that set (at its own point in the pipeline, stacking ignored), then whether it may
/// combine with the set, else it simply does not improve on it.
fn reason(prep: &Prepared, mask: u64, pos: usize) -> Reason {
    if prep.members(pos).is_empty() {
        return Reason::NoEligibleItems;
    }
    let with = Evaluation::of(prep, mask | (1 << pos));
    match with.effects[pos] {
        Some(Effect::NoEligibleItems) => return Reason::NoEligibleItems,
        Some(Effect::BelowThreshold { missing }) => return Reason::BelowThreshold { missing },
        _ => {}
    }
    if with.items_fen(pos) + with.shipping_fen(prep, pos) == 0 && !with.grants(prep, pos) {
        return Reason::NoBenefit;
    }
    let conflict = bits(mask)
        .filter(|&other| prep.offers[pos].compatible & (1 << other) == 0)
        .min_by_key(|&other| prep.offers[other].rank);
    match conflict {
        Some(other) => Reason::NotCombinable {
            with: prep.offers[other].offer.id.clone(),
        },
        None => Reason::NotBetter,
    }
}
