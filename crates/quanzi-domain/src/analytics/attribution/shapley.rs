//! Shapley values over channel coalitions.
//!
//! The characteristic function is the standard "path subset" one: `v(S)` is the
//! conversions (respectively value) of the journeys whose *set* of channels lies inside
//! `S` — a coalition earns what its channels could have produced on their own. Order and
//! repeats within a path do not matter. Each channel gets its average marginal
//! contribution `v(P ∪ {c}) − v(P)` over all orders in which the coalition can form.
//!
//! Properties (tested): efficiency — credits sum to `v(all)`, the table's totals;
//! symmetry — channels that can be swapped without changing the table get equal credit;
//! null player — a channel that only appears on journeys without conversions (so adding it
//! never changes `v`) gets exactly 0.
//!
//! Up to [`EXACT_CHANNEL_LIMIT`] channels the values are computed exactly over all `2^n`
//! coalitions (bitmasks; `v` by a subset-sum transform). Above it, permutations are sampled
//! and each channel's credit comes with a standard error.
//!
//! Note: `v` is a sum of unanimity games, one per distinct channel set `T` with dividend
//! `f(T)` (the conversions of journeys with exactly that set), so the exact value is also
//! `Σ_{T ∋ c} f(T) / |T|`. The tests use that identity as an independent oracle.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::credit::{Attribution, ModelName};
use super::journeys::Journeys;
use crate::input::InvalidInput;

/// Above this many channels `2^n` coalitions are too many and [`shapley`] samples.
pub const EXACT_CHANNEL_LIMIT: usize = 15;

/// How [`shapley`] samples when the table names more than [`EXACT_CHANNEL_LIMIT`] channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapleySampling {
    permutations: usize,
    seed: u64,
}

impl ShapleySampling {
    /// At least 2 permutations (a standard error needs two); the same seed gives the same
    /// result for the same table and `rand` version.
    pub fn new(permutations: usize, seed: u64) -> Result<Self, InvalidInput> {
        if permutations < 2 {
            return Err(InvalidInput::new(
                "permutations",
                format!("must be at least 2, got {permutations}"),
            ));
        }
        Ok(Self { permutations, seed })
    }

    pub fn permutations(self) -> usize {
        self.permutations
    }

    pub fn seed(self) -> u64 {
        self.seed
    }
}

/// The standard error of one channel's sampled credit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StandardError {
    pub conversions: f64,
    pub value: f64,
}

/// Shapley credits, with standard errors when they were sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapleyAttribution {
    attribution: Attribution,
    standard_errors: Option<Vec<StandardError>>,
}

impl ShapleyAttribution {
    pub fn attribution(&self) -> &Attribution {
        &self.attribution
    }

    pub fn into_attribution(self) -> Attribution {
        self.attribution
    }

    /// Per channel, in the table's channel order; `None` when the values are exact.
    pub fn standard_errors(&self) -> Option<&[StandardError]> {
        self.standard_errors.as_deref()
    }
}

/// Exact Shapley values up to [`EXACT_CHANNEL_LIMIT`] channels, sampled beyond.
pub fn shapley(journeys: &Journeys, sampling: ShapleySampling) -> ShapleyAttribution {
    if journeys.channels().len() <= EXACT_CHANNEL_LIMIT {
        exact(journeys)
    } else {
        sampled(journeys, sampling)
    }
}

/// Exact Shapley values over all `2^n` coalitions; refuses more than
/// [`EXACT_CHANNEL_LIMIT`] channels.
pub fn shapley_exact(journeys: &Journeys) -> Result<ShapleyAttribution, InvalidInput> {
    let channels = journeys.channels().len();
    if channels > EXACT_CHANNEL_LIMIT {
        return Err(InvalidInput::new(
            "channels",
            format!("exact shapley values take at most {EXACT_CHANNEL_LIMIT} channels, the table names {channels}"),
        ));
    }
    Ok(exact(journeys))
}

/// Shapley values estimated from sampled channel orders, any number of channels.
pub fn shapley_sampled(journeys: &Journeys, sampling: ShapleySampling) -> ShapleyAttribution {
    sampled(journeys, sampling)
}

fn exact(journeys: &Journeys) -> ShapleyAttribution {
    let n = journeys.channels().len();
    let coalitions = 1usize << n;
    // v[mask] starts as the dividends f(T) and becomes Σ_{T ⊆ mask} f(T).
    let mut v_conversions = vec![0.0; coalitions];
    let mut v_value = vec![0.0; coalitions];
    for ((path, &c), &value) in journeys
        .paths()
        .zip(journeys.conversions())
        .zip(journeys.value())
    {
        let mask = path.iter().fold(0usize, |mask, &ch| mask | (1 << ch));
        v_conversions[mask] += c;
        v_value[mask] += value;
    }
    for bit in 0..n {
        for mask in 0..coalitions {
            if mask & (1 << bit) != 0 {
                v_conversions[mask] += v_conversions[mask ^ (1 << bit)];
                v_value[mask] += v_value[mask ^ (1 << bit)];
            }
        }
    }
    // weight[s] = s! (n − s − 1)! / n!, the chance that exactly a given s-coalition precedes c.
    let weight: Vec<f64> = (0..n)
        .map(|s| {
            let mut w = 1.0 / n as f64;
            for k in 1..=s {
                w *= k as f64 / (n - k) as f64;
            }
            w
        })
        .collect();
    let mut conversions = vec![0.0; n];
    let mut value = vec![0.0; n];
    for mask in 0..coalitions {
        let w = weight
            .get(mask.count_ones() as usize)
            .copied()
            .unwrap_or(0.0);
        for channel in 0..n {
            let bit = 1 << channel;
            if mask & bit == 0 {
                conversions[channel] += w * (v_conversions[mask | bit] - v_conversions[mask]);
                value[channel] += w * (v_value[mask | bit] - v_value[mask]);
            }
        }
    }
    ShapleyAttribution {
        attribution: Attribution::new(
            ModelName::Shapley,
            journeys.channels(),
            conversions,
            value,
            (journeys.total_conversions(), journeys.total_value()),
            format!(
                "shapley, exact over all 2^{n} coalitions; v(S) = conversions and value of \
                 journeys whose channel set is a subset of S"
            ),
        ),
        standard_errors: None,
    }
}

/// Distinct channel sets of converting journeys with their dividends, flattened.
struct Dividends {
    offsets: Vec<usize>,
    members: Vec<u16>,
    conversions: Vec<f64>,
    value: Vec<f64>,
}

fn dividends(journeys: &Journeys) -> Dividends {
    let mut by_set: std::collections::HashMap<Vec<u16>, usize> = std::collections::HashMap::new();
    let mut out = Dividends {
        offsets: vec![0],
        members: Vec::new(),
        conversions: Vec::new(),
        value: Vec::new(),
    };
    let mut set: Vec<u16> = Vec::new();
    for ((path, &c), &value) in journeys
        .paths()
        .zip(journeys.conversions())
        .zip(journeys.value())
    {
        if c == 0.0 && value == 0.0 {
            continue;
        }
        set.clear();
        set.extend_from_slice(path);
        set.sort_unstable();
        set.dedup();
        match by_set.get(set.as_slice()) {
            Some(&i) => {
                out.conversions[i] += c;
                out.value[i] += value;
            }
            None => {
                by_set.insert(set.clone(), out.conversions.len());
                out.members.extend_from_slice(&set);
                out.offsets.push(out.members.len());
                out.conversions.push(c);
                out.value.push(value);
            }
        }
    }
    out
}

/// Samples orders of the channels. In one order, the journeys with channel set `T` add
/// their conversions exactly when the last member of `T` joins, so that member's marginal
/// contribution gains `f(T)`; averaging over orders estimates the Shapley value, and each
/// sampled order's credits already sum to `v(all)` (efficiency holds exactly).
fn sampled(journeys: &Journeys, sampling: ShapleySampling) -> ShapleyAttribution {
    let n = journeys.channels().len();
    let sets = dividends(journeys);
    let mut rng = StdRng::seed_from_u64(sampling.seed);
    let mut order: Vec<u16> = (0..n as u16).collect();
    let mut position = vec![0u32; n];
    let mut round_conversions = vec![0.0; n];
    let mut round_value = vec![0.0; n];
    let mut sum = vec![(0.0, 0.0); n];
    let mut sum_squares = vec![(0.0, 0.0); n];
    for _ in 0..sampling.permutations {
        order.shuffle(&mut rng);
        for (rank, &channel) in order.iter().enumerate() {
            position[channel as usize] = rank as u32;
        }
        round_conversions.fill(0.0);
        round_value.fill(0.0);
        for set in 0..sets.conversions.len() {
            let members = &sets.members[sets.offsets[set]..sets.offsets[set + 1]];
            let last = *members
                .iter()
                .max_by_key(|&&c| position[c as usize])
                .expect("channel sets are never empty") as usize;
            round_conversions[last] += sets.conversions[set];
            round_value[last] += sets.value[set];
        }
        for channel in 0..n {
            let (c, v) = (round_conversions[channel], round_value[channel]);
            sum[channel].0 += c;
            sum[channel].1 += v;
            sum_squares[channel].0 += c * c;
            sum_squares[channel].1 += v * v;
        }
    }
    let rounds = sampling.permutations as f64;
    let standard_error = |sum: f64, squares: f64| {
        let mean = sum / rounds;
        let variance = ((squares - rounds * mean * mean) / (rounds - 1.0)).max(0.0);
        (variance / rounds).sqrt()
    };
    let standard_errors = (0..n)
        .map(|c| StandardError {
            conversions: standard_error(sum[c].0, sum_squares[c].0),
            value: standard_error(sum[c].1, sum_squares[c].1),
        })
        .collect();
    ShapleyAttribution {
        attribution: Attribution::new(
            ModelName::Shapley,
            journeys.channels(),
            sum.iter().map(|s| s.0 / rounds).collect(),
            sum.iter().map(|s| s.1 / rounds).collect(),
            (journeys.total_conversions(), journeys.total_value()),
            format!(
                "shapley, monte-carlo over {} sampled channel orders (seed {}), with standard \
                 errors; v(S) = conversions and value of journeys whose channel set is a \
                 subset of S",
                sampling.permutations, sampling.seed
            ),
        ),
        standard_errors: Some(standard_errors),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::synthetic::synthetic_journeys;
    use super::*;

    fn oracle(journeys: &Journeys) -> Vec<(f64, f64)> {
        let sets = dividends(journeys);
        let mut out = vec![(0.0, 0.0); journeys.channels().len()];
        for set in 0..sets.conversions.len() {
            let members = &sets.members[sets.offsets[set]..sets.offsets[set + 1]];
            for &c in members {
                out[c as usize].0 += sets.conversions[set] / members.len() as f64;
                out[c as usize].1 += sets.value[set] / members.len() as f64;
            }
        }
        out
    }

    #[test]
    fn a_two_channel_example_matches_the_hand_computation() {
        // v({a}) = 1, v({b}) = 0, v({a, b}) = 3: a = ½·1 + ½·(3 − 0) = 2, b = ½·0 + ½·(3 − 1) = 1.
        let journeys =
            Journeys::parse_rows([("a", 1.0, 0.0, 0.0), ("a > b > a", 2.0, 0.0, 5.0)]).unwrap();
        let result = shapley_exact(&journeys).unwrap();
        assert!((result.attribution().credit("a").unwrap().conversions() - 2.0).abs() < 1e-12);
        assert!((result.attribution().credit("b").unwrap().conversions() - 1.0).abs() < 1e-12);
        assert!(result.standard_errors().is_none());
    }

    #[test]
    fn more_than_fifteen_channels_are_refused_exactly_and_sampled_by_default() {
        let rows: Vec<String> = (0..16)
            .map(|c| format!("c{c} > c{}", (c + 1) % 16))
            .collect();
        let journeys =
            Journeys::parse_rows(rows.iter().map(|r| (r.as_str(), 1.0, 2.0, 0.0))).unwrap();
        assert_eq!(shapley_exact(&journeys).unwrap_err().field(), "channels");
        let result = shapley(&journeys, ShapleySampling::new(100, 1).unwrap());
        assert!(result.standard_errors().is_some());
        let total: f64 = result
            .attribution()
            .credits()
            .iter()
            .map(|c| c.conversions())
            .sum();
        assert!((total - 16.0).abs() < 1e-9);
    }

    #[test]
    fn fewer_than_two_permutations_are_refused() {
        assert_eq!(
            ShapleySampling::new(1, 0).unwrap_err().field(),
            "permutations"
        );
    }

    #[test]
    fn sampled_values_fall_within_three_standard_errors_of_exact_on_ten_channels() {
        let journeys = synthetic_journeys(20_000, 10, 7);
        let exact = shapley_exact(&journeys).unwrap();
        let sampled = shapley_sampled(&journeys, ShapleySampling::new(2_000, 11).unwrap());
        let errors = sampled.standard_errors().unwrap();
        for ((e, s), se) in exact
            .attribution()
            .credits()
            .iter()
            .zip(sampled.attribution().credits())
            .zip(errors)
        {
            assert!(se.conversions > 0.0);
            assert!(
                (e.conversions() - s.conversions()).abs() <= 3.0 * se.conversions + 1e-9,
                "{}: exact {} sampled {} ± {}",
                e.channel(),
                e.conversions(),
                s.conversions(),
                se.conversions
            );
            assert!((e.value() - s.value()).abs() <= 3.0 * se.value + 1e-9);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_sample() {
        let journeys = synthetic_journeys(2_000, 20, 3);
        let sampling = ShapleySampling::new(50, 9).unwrap();
        assert_eq!(shapley(&journeys, sampling), shapley(&journeys, sampling));
    }

    fn table() -> impl Strategy<Value = Vec<(Vec<u8>, f64, f64)>> {
        prop::collection::vec(
            (
                prop::collection::vec(0u8..6, 1..6),
                prop_oneof![Just(0.0), 0.0..10.0],
                0.0..3.0,
            ),
            1..12,
        )
    }

    fn parse(rows: &[(Vec<u8>, f64, f64)], rename: impl Fn(u8) -> u8) -> Journeys {
        let texts: Vec<String> = rows
            .iter()
            .map(|(p, _, _)| {
                p.iter()
                    .map(|&c| format!("c{}", rename(c)))
                    .collect::<Vec<_>>()
                    .join(" > ")
            })
            .collect();
        Journeys::parse_rows(
            texts
                .iter()
                .zip(rows)
                .map(|(t, (_, c, n))| (t.as_str(), *c, *c * 3.0, *n)),
        )
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn exact_values_equal_the_dividend_identity_and_are_efficient(rows in table()) {
            let journeys = parse(&rows, |c| c);
            let result = shapley_exact(&journeys).unwrap();
            for (credit, (c, v)) in result.attribution().credits().iter().zip(oracle(&journeys)) {
                prop_assert!((credit.conversions() - c).abs() < 1e-9);
                prop_assert!((credit.value() - v).abs() < 1e-9);
            }
            let total: f64 = result.attribution().credits().iter().map(|c| c.conversions()).sum();
            prop_assert!((total - journeys.total_conversions()).abs() <= 1e-9 * (1.0 + total));
        }

        #[test]
        fn interchangeable_channels_get_equal_credit(rows in table()) {
            // Add every journey again with channels 0 and 1 swapped: the table is now
            // symmetric in them.
            let swap = |c: u8| match c { 0 => 1, 1 => 0, c => c };
            let mut doubled = rows.clone();
            doubled.extend(rows.iter().map(|(p, c, n)| (p.iter().map(|&x| swap(x)).collect(), *c, *n)));
            let journeys = parse(&doubled, |c| c);
            let result = shapley_exact(&journeys).unwrap();
            if let (Some(a), Some(b)) = (result.attribution().credit("c0"), result.attribution().credit("c1")) {
                prop_assert!((a.conversions() - b.conversions()).abs() < 1e-9);
                prop_assert!((a.value() - b.value()).abs() < 1e-9);
            }
        }

        #[test]
        fn a_channel_only_on_journeys_without_conversions_gets_nothing(rows in table(), seed in 0u64..1000) {
            let mut rows = rows;
            rows.push((vec![9, 0], 0.0, 2.0));
            rows.push((vec![9], 0.0, 1.0));
            let journeys = parse(&rows, |c| c);
            let exact = shapley_exact(&journeys).unwrap();
            prop_assert_eq!(exact.attribution().credit("c9").unwrap().conversions(), 0.0);
            let sampled = shapley_sampled(&journeys, ShapleySampling::new(20, seed).unwrap());
            prop_assert_eq!(sampled.attribution().credit("c9").unwrap().conversions(), 0.0);
            prop_assert_eq!(sampled.standard_errors().unwrap()[journeys.channels().iter().position(|c| c == "c9").unwrap()].conversions, 0.0);
        }
    }
}
