//! Choosing the offer set: an exact branch-and-bound ([`solve`]) and the exhaustive
//! reference it is tested against ([`brute_force`]).

use super::evaluate::{apply, Score, Scratch, State, NOBODY};
use super::explain::explain;
use super::model::{combines, PricingRequest};
use super::prepare::Prepared;
use super::priced::Priced;

/// The best set so far under the objective: the higher [`Score`] (savings, then points,
/// then gift coupons), then fewer offers, then the lexicographically smaller sorted list
/// of ids. That is a total order on sets (ids are unique), so the best set is unique and
/// [`solve`] and [`brute_force`] must find the same one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Best {
    pub mask: u64,
    pub score: Score,
    pub count: u32,
}

impl Best {
    fn empty() -> Self {
        Best {
            mask: 0,
            score: Score::default(),
            count: 0,
        }
    }

    fn consider(&mut self, prep: &Prepared, mask: u64, score: Score) {
        let count = mask.count_ones();
        let better = score > self.score
            || (score == self.score
                && (count < self.count
                    || (count == self.count && ids_before(prep, mask, self.mask))));
        if better {
            *self = Best { mask, score, count };
        }
    }
}

/// Whether the sorted ids of set `a` come before those of set `b`. Ranks are id order, so
/// comparing ascending ranks compares the id lists.
fn ids_before(prep: &Prepared, a: u64, b: u64) -> bool {
    let ranks = |mask: u64| {
        let mut ranked = 0u64;
        for pos in bits(mask) {
            ranked |= 1 << prep.offers[pos].rank;
        }
        ranked
    };
    let (mut a, mut b) = (ranks(a), ranks(b));
    loop {
        match (a, b) {
            (0, 0) => return false,
            (0, _) => return true,
            (_, 0) => return false,
            _ => {
                let (x, y) = (a.trailing_zeros(), b.trailing_zeros());
                if x != y {
                    return x < y;
                }
                a &= a - 1;
                b &= b - 1;
            }
        }
    }
}

/// Positions of the set bits, ascending.
pub(crate) fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let pos = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        Some(pos)
    })
}

/// Prices the cart with the best combination of offers the stacking rules allow.
///
/// Exact branch-and-bound over compatible subsets. Offers are decided in pipeline order
/// and each included offer is applied to a copy of its parent's state, so a node costs
/// one offer application, and an offer decided earlier is never affected by offers
/// decided later. A subtree is cut when even its bound cannot beat (or tie with fewer
/// offers) the best set found. The bound is a [`Score`] compared with the same
/// lexicographic order as the objective: savings so far plus the remaining compatible
/// offers' standalone bounds (capped by the headroom left) plus shipping once if any of
/// them may grant it; points so far plus the remaining offers' points bounds; gift
/// coupons likewise. Each part bounds its own part of every set in the subtree, so the
/// triple bounds their scores: a subtree whose savings bound only equals the best savings
/// is still searched when its points (or, on equal points, gift coupon) bound reaches the
/// best set's. The bounds hold because every later offer sees amounts no higher than the
/// list prices (see `Prepared::compute_bounds`). Note that "an offer adds at most its
/// standalone savings to any set" does *not* hold: an offer that lowers a threshold's
/// basis can make it fall a tier, leaving more for a coupon whose own threshold is then
/// reached; the search never relies on that claim.
///
/// Cost: one pass over the request to prepare, then a few hundred nanoseconds per node;
/// no allocation per node (states are reused by depth). Typical requests (20 lines, 10
/// offers) price in tens of microseconds in release builds;
/// [`typical_request`](super::typical_request) is such a request for benchmarks.
///
/// Expects a request that passed [`PricingRequest::check`]; panics if more than 64 offers
/// are considered.
pub fn solve(request: &PricingRequest) -> Priced {
    let prep = Prepared::new(request);
    let best = Search::run(&prep);
    explain(&prep, best.mask)
}

/// The reference: evaluates every subset of the considered offers (2^n), skipping those
/// that break a stacking rule, with the same pipeline and objective as [`solve`]. Only for
/// tests and small inputs; panics above 20 considered offers.
pub fn brute_force(request: &PricingRequest) -> Priced {
    let prep = Prepared::new(request);
    let n = prep.offers.len();
    assert!(n <= 20, "brute force is for at most 20 offers");
    let fresh = State::fresh(&prep.lines);
    let mut state = fresh.clone();
    let mut scratch = Scratch::default();
    let mut best = Best::empty();
    for mask in 1u64..(1 << n) {
        let valid = bits(mask).all(|a| {
            bits(mask).all(|b| {
                a == b
                    || combines(
                        &prep.offers[a].offer.stacking,
                        &prep.offers[b].offer.stacking,
                    )
            })
        });
        if !valid {
            continue;
        }
        state.clone_from(&fresh);
        for pos in bits(mask) {
            apply(&prep, pos, &mut state, &mut scratch, None);
        }
        best.consider(&prep, mask, state.score(prep.shipping_fen));
    }
    explain(&prep, best.mask)
}

struct Search<'p, 'r> {
    prep: &'p Prepared<'r>,
    /// `states[d]` is the cart after the `d` offers on the current path.
    states: Vec<State>,
    scratch: Scratch,
    best: Best,
}

impl<'p, 'r> Search<'p, 'r> {
    fn run(prep: &'p Prepared<'r>) -> Best {
        let mut search = Search {
            prep,
            states: vec![State::fresh(&prep.lines)],
            scratch: Scratch::default(),
            best: Best::empty(),
        };
        // An offer that can give nothing anywhere (no savings, shipping, points or gift
        // coupons) changes nothing when added, so any set with it ties the same set
        // without it and loses on the offer count.
        let mut useful = 0u64;
        for (pos, o) in prep.offers.iter().enumerate() {
            if o.may_give_anything() {
                useful |= 1 << pos;
            }
        }
        search.dfs(0, 0, 0, useful);
        search.best
    }

    /// Extends the set `mask` (state `states[depth]`) with offers at positions `>= start`
    /// that are in `allowed` (compatible with every member and not yet decided).
    fn dfs(&mut self, depth: usize, start: usize, mask: u64, allowed: u64) {
        let prep = self.prep;
        let count = mask.count_ones();
        for pos in start..prep.offers.len() {
            let bit = 1u64 << pos;
            if allowed & bit == 0 {
                continue;
            }
            // Each part of the bound only shrinks as `pos` grows, so once it fails it fails
            // for the rest of the loop.
            let rest = allowed & !(bit - 1);
            let bound = self.bound(&self.states[depth], rest);
            if bound < self.best.score || (bound == self.best.score && count + 1 > self.best.count)
            {
                break;
            }
            if self.states.len() == depth + 1 {
                let copy = self.states[depth].clone();
                self.states.push(copy);
            } else {
                let (parents, children) = self.states.split_at_mut(depth + 1);
                children[0].clone_from(&parents[depth]);
            }
            let child = &mut self.states[depth + 1];
            apply(prep, pos, child, &mut self.scratch, None);
            let score = child.score(prep.shipping_fen);
            self.best.consider(prep, mask | bit, score);
            let next = allowed & prep.offers[pos].compatible & !(bit | (bit - 1));
            if next != 0 {
                self.dfs(depth + 1, pos + 1, mask | bit, next);
            }
        }
    }

    /// The best score any set reached by adding offers from `rest` to the state can have,
    /// part by part.
    fn bound(&self, state: &State, rest: u64) -> Score {
        let prep = self.prep;
        let mut items: i64 = 0;
        let mut ship = false;
        let mut points = state.points;
        let mut gift_coupons = state.gift_coupons;
        for pos in bits(rest) {
            let o = &prep.offers[pos];
            items = items.saturating_add(o.bound_fen);
            ship |= o.may_free_ship;
            points = points.saturating_add(o.bound_points);
            gift_coupons = gift_coupons.saturating_add(o.bound_gift_coupons);
        }
        // Every discount comes out of headroom, so the remaining headroom caps the rest.
        let items = items.min(prep.headroom_fen - state.items_fen);
        let shipping = if ship && state.shipping_by == NOBODY {
            prep.shipping_fen
        } else {
            0
        };
        Score {
            savings_fen: state.savings_fen(prep.shipping_fen) + items + shipping,
            points,
            gift_coupons,
        }
    }
}
