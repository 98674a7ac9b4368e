//! Bargaining (砍价): a member shares a product and each friend who helps cuts its price,
//! from the start price down to a floor, over a fixed number of helpers.
//!
//! The cuts are random, which is the fun of it, but never unfair: every cut lies within
//! the campaign's `min_cut_fen..=max_cut_fen`, the price reaches the floor exactly at the
//! last needed helper and never passes it. Each cut is drawn from the range that still
//! leaves the remaining helpers able to cover the rest within their own bounds, so no later
//! helper is ever forced outside them.
//!
//! The sequence is a pure function of the rules and a per-bargain seed (drawn once when the
//! member starts and stored with the bargain), so the store only keeps a count of helpers:
//! replaying the seed gives the same cuts on any node, platform or `rand` version, because
//! the generator is the self-contained splitmix64 below rather than a library's.
//!
//! Cuts are front-loaded like the 砍价 people know — a first friend's big cut, then smaller
//! and smaller ones: the k-th of `n` helpers aims for a share of what is left proportional
//! to the helpers still to come (weights `n, n-1, …, 1`), jittered by ±50% and clamped
//! into the feasible range. The first helper therefore cuts about twice the average and the
//! last few little more than `min_cut_fen`.

use crate::input::InvalidInput;

/// ¥100,000,000: far above any real price, low enough that no product here can overflow.
pub const MAX_PRICE_FEN: i64 = 10_000_000_000;
pub const MAX_HELPERS: usize = 500;
pub const MIN_DURATION_SECONDS: i64 = 60;
/// A week: bargains are meant to spread in a burst, not linger.
pub const MAX_DURATION_SECONDS: i64 = 7 * 86_400;

/// When the member may buy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BargainMode {
    /// Only once the price has reached the floor (e.g. "砍到 0 元免费拿").
    MustReachFloor,
    /// At any time, at the price reached so far.
    BuyAtCurrent,
}

/// A bargaining campaign's rules; call [`BargainRules::check`] before using them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BargainRules {
    pub start_price_fen: i64,
    /// The lowest price; reached exactly when the last needed helper has cut.
    pub floor_price_fen: i64,
    pub helpers_needed: usize,
    /// The smallest cut one helper makes; at least 1 fen so every helper counts.
    pub min_cut_fen: i64,
    pub max_cut_fen: i64,
    /// How long a member's bargain stays open after they start it.
    pub duration_seconds: i64,
    pub mode: BargainMode,
    /// Only members new to the brand may help (the usual acquisition goal).
    pub new_users_only: bool,
}

impl BargainRules {
    /// Refuses rules under which the floor cannot be reached exactly with every cut inside
    /// its bounds: `helpers_needed × min_cut ≤ start − floor ≤ helpers_needed × max_cut`.
    pub fn check(&self) -> Result<(), InvalidInput> {
        if !(1..=MAX_PRICE_FEN).contains(&self.start_price_fen) {
            return Err(InvalidInput::new(
                "start_price_fen",
                format!("must be 1 to {MAX_PRICE_FEN} fen"),
            ));
        }
        if !(0..self.start_price_fen).contains(&self.floor_price_fen) {
            return Err(InvalidInput::new(
                "floor_price_fen",
                "must be at least 0 and below start_price_fen",
            ));
        }
        if !(1..=MAX_HELPERS).contains(&self.helpers_needed) {
            return Err(InvalidInput::new(
                "helpers_needed",
                format!("must be 1 to {MAX_HELPERS}"),
            ));
        }
        if !(MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&self.duration_seconds) {
            return Err(InvalidInput::new(
                "duration_seconds",
                format!("must be {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS}"),
            ));
        }
        let total = self.total_cut_fen();
        if self.min_cut_fen < 1 {
            return Err(InvalidInput::new("min_cut_fen", "must be at least 1 fen"));
        }
        if self.max_cut_fen < self.min_cut_fen {
            return Err(InvalidInput::new(
                "max_cut_fen",
                "must be at least min_cut_fen",
            ));
        }
        if self.max_cut_fen > total {
            return Err(InvalidInput::new(
                "max_cut_fen",
                format!("must be at most the total to cut ({total} fen)"),
            ));
        }
        // Both cuts are now at most 10^10 and helpers at most 500: no overflow.
        let helpers = self.helpers_needed as i64;
        if helpers * self.min_cut_fen > total {
            return Err(InvalidInput::new(
                "min_cut_fen",
                format!(
                    "{helpers} helpers cutting at least {} fen each would pass the floor; \
                     the total to cut is {total} fen",
                    self.min_cut_fen
                ),
            ));
        }
        if helpers * self.max_cut_fen < total {
            return Err(InvalidInput::new(
                "max_cut_fen",
                format!(
                    "{helpers} helpers cutting at most {} fen each cannot reach the floor; \
                     the total to cut is {total} fen",
                    self.max_cut_fen
                ),
            ));
        }
        Ok(())
    }

    /// `start_price_fen − floor_price_fen`: what all helpers cut together.
    pub fn total_cut_fen(&self) -> i64 {
        self.start_price_fen.saturating_sub(self.floor_price_fen)
    }
}

/// The cut of helper `helper_index` (0-based); 0 from `helpers_needed` on.
pub fn cut_for(rules: &BargainRules, seed: u64, helper_index: usize) -> i64 {
    Cuts::new(rules, seed).nth(helper_index).unwrap_or(0)
}

/// Every needed helper's cut, in order; they add up to `start − floor` exactly.
pub fn cuts(rules: &BargainRules, seed: u64) -> Vec<i64> {
    Cuts::new(rules, seed).collect()
}

/// The price once `helpers_so_far` helpers have cut; the floor from `helpers_needed` on.
pub fn price_after(rules: &BargainRules, seed: u64, helpers_so_far: usize) -> i64 {
    rules.start_price_fen - Cuts::new(rules, seed).take(helpers_so_far).sum::<i64>()
}

/// What the member may pay now, or `None` while a [`BargainMode::MustReachFloor`] bargain
/// is still above its floor.
pub fn purchase_price(rules: &BargainRules, seed: u64, helpers_so_far: usize) -> Option<i64> {
    match rules.mode {
        BargainMode::MustReachFloor if helpers_so_far < rules.helpers_needed => None,
        _ => Some(price_after(rules, seed, helpers_so_far)),
    }
}

/// The cut sequence as an iterator; one generator draw per helper keeps the stream aligned
/// with the helper index whatever range each draw falls in.
///
/// For rules that fail [`BargainRules::check`] the cuts are meaningless, but nothing panics.
struct Cuts {
    rng: SplitMix64,
    remaining: i64,
    left: i64,
    min: i64,
    max: i64,
}

impl Cuts {
    fn new(rules: &BargainRules, seed: u64) -> Self {
        Self {
            rng: SplitMix64(seed),
            remaining: rules.total_cut_fen(),
            left: rules.helpers_needed.min(MAX_HELPERS) as i64,
            min: rules.min_cut_fen,
            max: rules.max_cut_fen,
        }
    }
}

impl Iterator for Cuts {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        if self.left <= 0 {
            return None;
        }
        let rest = self.left - 1;
        // Invariant (from check): left × min ≤ remaining ≤ left × max. Any cut in lo..=hi
        // keeps it for the helpers after this one; for the last helper lo = hi = remaining.
        let lo = self
            .min
            .max(self.remaining.saturating_sub(rest.saturating_mul(self.max)));
        let hi = self
            .max
            .min(self.remaining.saturating_sub(rest.saturating_mul(self.min)))
            .max(lo);
        // Weights left, left-1, …, 1 give this helper 2 / (left + 1) of what remains.
        let aim = self.remaining.saturating_mul(2) / (self.left + 1);
        let jitter = aim / 2;
        let cut = self.rng.between(
            (aim - jitter).clamp(lo, hi),
            aim.saturating_add(jitter).clamp(lo, hi),
        );
        self.remaining -= cut;
        self.left -= 1;
        Some(cut)
    }
}

/// splitmix64 (Steele, Lea and Flood, 2014): tiny, fast, statistically sound for this use,
/// and fixed here so a stored seed means the same cuts forever.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `lo..=hi` by multiply-shift; the bias is below 2^-30 for spans under
    /// 2^34 fen, far finer than anyone can notice in a cut.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo) as u64 + 1;
        lo + ((u128::from(self.next()) * u128::from(span)) >> 64) as i64
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rules(start: i64, floor: i64, helpers: usize, min: i64, max: i64) -> BargainRules {
        BargainRules {
            start_price_fen: start,
            floor_price_fen: floor,
            helpers_needed: helpers,
            min_cut_fen: min,
            max_cut_fen: max,
            duration_seconds: 86_400,
            mode: BargainMode::BuyAtCurrent,
            new_users_only: false,
        }
    }

    #[test]
    fn check_accepts_a_typical_campaign() {
        assert_eq!(rules(19_900, 0, 10, 100, 5_000).check(), Ok(()));
    }

    #[test]
    fn check_refuses_impossible_prices_and_counts() {
        let field = |r: BargainRules| r.check().unwrap_err().field().to_owned();
        assert_eq!(field(rules(0, 0, 1, 1, 1)), "start_price_fen");
        assert_eq!(
            field(rules(MAX_PRICE_FEN + 1, 0, 1, 1, 1)),
            "start_price_fen"
        );
        assert_eq!(field(rules(100, 100, 1, 1, 1)), "floor_price_fen");
        assert_eq!(field(rules(100, -1, 1, 1, 1)), "floor_price_fen");
        assert_eq!(field(rules(100, 0, 0, 1, 100)), "helpers_needed");
        assert_eq!(field(rules(100_000, 0, 501, 1, 100)), "helpers_needed");
        let mut short = rules(100, 0, 1, 100, 100);
        short.duration_seconds = 59;
        assert_eq!(field(short), "duration_seconds");
    }

    #[test]
    fn check_refuses_cut_bounds_that_cannot_land_on_the_floor() {
        let field = |r: BargainRules| r.check().unwrap_err().field().to_owned();
        assert_eq!(field(rules(100, 0, 1, 0, 100)), "min_cut_fen");
        assert_eq!(field(rules(100, 0, 1, 50, 40)), "max_cut_fen");
        assert_eq!(field(rules(100, 0, 1, 1, 101)), "max_cut_fen");
        // 10 helpers × at least 11 fen = 110 > 100: the floor would be passed.
        assert_eq!(field(rules(100, 0, 10, 11, 20)), "min_cut_fen");
        // 10 helpers × at most 9 fen = 90 < 100: the floor is out of reach.
        assert_eq!(field(rules(100, 0, 10, 1, 9)), "max_cut_fen");
        // The exact edges are fine.
        assert_eq!(rules(100, 0, 10, 10, 10).check(), Ok(()));
        assert_eq!(rules(100, 0, 10, 1, 10).check(), Ok(()));
    }

    #[test]
    fn tight_bounds_give_the_only_possible_sequence() {
        assert_eq!(cuts(&rules(100, 0, 10, 10, 10), 7), vec![10; 10]);
        assert_eq!(cuts(&rules(100, 0, 10, 1, 10), 7), vec![10; 10]);
        assert_eq!(cuts(&rules(100, 40, 1, 1, 60), 7), vec![60]);
    }

    #[test]
    fn the_generator_is_the_reference_splitmix64() {
        // First output of splitmix64 seeded with 0, as in the published reference code.
        assert_eq!(SplitMix64(0).next(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn a_seed_means_the_same_cuts_forever() {
        // Pinned: changing the algorithm would change every stored bargain's price.
        let r = rules(19_900, 990, 8, 100, 6_000);
        assert_eq!(
            cuts(&r, 42),
            [4_993, 2_296, 2_585, 2_543, 1_397, 3_487, 748, 861]
        );
    }

    #[test]
    fn helpers_beyond_the_needed_cut_nothing_and_the_price_stays_at_the_floor() {
        let r = rules(19_900, 990, 8, 100, 6_000);
        assert_eq!(cut_for(&r, 1, 8), 0);
        assert_eq!(cut_for(&r, 1, 1_000), 0);
        assert_eq!(price_after(&r, 1, 8), 990);
        assert_eq!(price_after(&r, 1, 20), 990);
        assert_eq!(price_after(&r, 1, 0), 19_900);
    }

    #[test]
    fn must_reach_floor_bargains_can_only_be_bought_at_the_floor() {
        let mut r = rules(19_900, 0, 5, 100, 10_000);
        r.mode = BargainMode::MustReachFloor;
        assert_eq!(purchase_price(&r, 3, 4), None);
        assert_eq!(purchase_price(&r, 3, 5), Some(0));
        r.mode = BargainMode::BuyAtCurrent;
        assert_eq!(purchase_price(&r, 3, 0), Some(19_900));
        assert_eq!(purchase_price(&r, 3, 2), Some(price_after(&r, 3, 2)));
    }

    #[test]
    fn early_helpers_cut_more_on_average() {
        let r = rules(100_000, 0, 20, 1, 100_000);
        let sums = (0..500u64).fold(vec![0i64; 20], |mut acc, seed| {
            for (a, c) in acc.iter_mut().zip(cuts(&r, seed)) {
                *a += c;
            }
            acc
        });
        assert!(sums[0] > sums[5] && sums[5] > sums[10] && sums[10] > sums[19]);
        // About twice the average share for the first helper.
        let first = sums[0] as f64 / 500.0 / (100_000.0 / 20.0);
        assert!((1.7..2.3).contains(&first), "first helper's share {first}");
    }

    fn valid_rules() -> impl Strategy<Value = BargainRules> {
        (
            1usize..=MAX_HELPERS,
            1i64..=2_000,
            0i64..=20_000,
            any::<u64>(),
            0i64..=1_000_000,
            any::<bool>(),
        )
            .prop_map(|(helpers, min, spread, pick, floor, must_reach)| {
                let n = helpers as i64;
                let total = n * min + (pick % (n * spread + 1) as u64) as i64;
                BargainRules {
                    start_price_fen: floor + total,
                    floor_price_fen: floor,
                    helpers_needed: helpers,
                    min_cut_fen: min,
                    max_cut_fen: (min + spread).min(total),
                    duration_seconds: 86_400,
                    mode: if must_reach {
                        BargainMode::MustReachFloor
                    } else {
                        BargainMode::BuyAtCurrent
                    },
                    new_users_only: must_reach,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn cuts_stay_in_bounds_and_land_exactly_on_the_floor(
            r in valid_rules(),
            seed in any::<u64>(),
        ) {
            prop_assert_eq!(r.check(), Ok(()));
            let sequence = cuts(&r, seed);
            prop_assert_eq!(sequence.len(), r.helpers_needed);
            for &cut in &sequence {
                let bounds = r.min_cut_fen..=r.max_cut_fen;
                prop_assert!(bounds.contains(&cut), "cut {} out of bounds", cut);
            }
            prop_assert_eq!(sequence.iter().sum::<i64>(), r.total_cut_fen());
            prop_assert_eq!(price_after(&r, seed, r.helpers_needed), r.floor_price_fen);
            let mut price = r.start_price_fen;
            for (k, &cut) in sequence.iter().enumerate() {
                price -= cut;
                prop_assert!(price >= r.floor_price_fen);
                prop_assert_eq!(price_after(&r, seed, k + 1), price);
                prop_assert_eq!(cut_for(&r, seed, k), cut);
            }
        }

        #[test]
        fn the_same_seed_gives_the_same_sequence(r in valid_rules(), seed in any::<u64>()) {
            prop_assert_eq!(cuts(&r, seed), cuts(&r.clone(), seed));
        }
    }
}
