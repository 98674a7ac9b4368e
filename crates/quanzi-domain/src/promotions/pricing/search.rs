//! Choosing the offer set: an exact branch-and-bound ([`solve`]) and the exhaustive
//! reference it is tested against ([`brute_force`]).

use super::evaluate::{apply, Scratch, State, NOBODY};
use super::explain::explain;
use super::model::{combines, PricingRequest};
use super::prepare::Prepared;
use super::priced::Priced;

/// The best set so far and the objective order: more savings, then fewer offers, then the
/// lexicographically smaller sorted list of ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Best {
    pub mask: u64,
    pub savings_fen: i64,
    pub count: u32,
}

impl Best {
    fn empty() -> Self {
        Best {
            mask: 0,
            savings_fen: 0,
            count: 0,
        }
    }

    fn consider(&mut self, prep: &Prepared, mask: u64, savings_fen: i64) {
        let count = mask.count_ones();
        let better = savings_fen > self.savings_fen
            || (savings_fen == self.savings_fen
                && (count < self.count
                    || (count == self.count && ids_before(prep, mask, self.mask))));
        if better {
            *self = Best {
                mask,
                savings_fen,
                count,
            };
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
/// offers) the best set found: savings so far, plus the remaining compatible offers'
/// standalone bounds (capped by the headroom left), plus shipping once if any of them may
/// grant it. The bounds hold because every later offer sees amounts no higher than the
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
/// that break a stacking rule, with the same pipeline and tie-break as [`solve`]. Only for
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
        best.consider(&prep, mask, state.savings_fen(prep.shipping_fen));
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
        // An offer that can give nothing anywhere changes nothing when added, so any set
        // with it ties the same set without it and loses on the offer count.
        let mut useful = 0u64;
        for (pos, o) in prep.offers.iter().enumerate() {
            if o.bound_fen > 0 || o.may_free_ship {
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
            // The bound only shrinks as `pos` grows, so once it fails it fails for the
            // rest of the loop.
            let rest = allowed & !(bit - 1);
            let bound = self.bound(&self.states[depth], rest);
            if bound < self.best.savings_fen
                || (bound == self.best.savings_fen && count + 1 > self.best.count)
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
            let savings = child.savings_fen(prep.shipping_fen);
            self.best.consider(prep, mask | bit, savings);
            let next = allowed & prep.offers[pos].compatible & !(bit | (bit - 1));
            if next != 0 {
                self.dfs(depth + 1, pos + 1, mask | bit, next);
            }
        }
    }

    /// The most any set reached by adding offers from `rest` to the state can save.
    fn bound(&self, state: &State, rest: u64) -> i64 {
        let prep = self.prep;
        let mut items: i64 = 0;
        let mut ship = false;
        for pos in bits(rest) {
            items = items.saturating_add(prep.offers[pos].bound_fen);
            ship |= prep.offers[pos].may_free_ship;
        }
        // Every discount comes out of headroom, so the remaining headroom caps the rest.
        let items = items.min(prep.headroom_fen - state.items_fen);
        let shipping = if ship && state.shipping_by == NOBODY {
            prep.shipping_fen
        } else {
            0
        };
        state.savings_fen(prep.shipping_fen) + items + shipping
    }
}
