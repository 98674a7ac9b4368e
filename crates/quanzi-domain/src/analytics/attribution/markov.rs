//! Markov-chain attribution by removal effect, solved exactly (no simulation).
//!
//! The chain is estimated from the path table as described in `chain`
//! (ChannelAttribution's order-`k` convention). P(conversion) is the probability of being
//! absorbed in conversion from start, solved as in `absorb`. Removing channel `c`
//! redirects every transition into a state whose tuple contains `c` to null; its removal
//! effect is `RE_c = 1 − P(conversion without c) / P(conversion)`. Channel `c` is credited
//! `total · RE_c / Σ RE`, for conversions and value alike.
//!
//! # A hand-computed example (order 1)
//!
//! | path  | conversions | value | nulls |
//! |-------|-------------|-------|-------|
//! | a > b | 1           | 10    | 0     |
//! | a     | 0           | 0     | 1     |
//! | b     | 1           | 30    | 1     |
//!
//! Weights `conversions + nulls` are 1, 1 and 2, so start → a 2, start → b 2, a → b 1,
//! a → null 1, b → conversion 2, b → null 1. From b, P = 2/3; from a, P = ½ · 2/3 = 1/3;
//! from start, P = ½ · 1/3 + ½ · 2/3 = ½.
//! Without a: start → a goes to null, P = ½ · 2/3 = 1/3, RE_a = 1 − (1/3)/(½) = 1/3.
//! Without b: nothing reaches conversion, RE_b = 1. So a gets 2 · (1/3)/(4/3) = ½ of the 2
//! conversions and 10 of the 40 value; b gets 1½ and 30.

use super::absorb::{conversion_probability, Method};
use super::chain::Chain;
use super::credit::{Attribution, ModelName};
use super::journeys::Journeys;
use crate::input::InvalidInput;

/// The order of a Markov model: how many most recent channels a state remembers (1–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkovOrder(u8);

impl MarkovOrder {
    pub const MAX: u8 = 3;

    pub fn new(order: u8) -> Result<Self, InvalidInput> {
        if (1..=Self::MAX).contains(&order) {
            Ok(Self(order))
        } else {
            Err(InvalidInput::new(
                "order",
                format!("must be 1, 2 or 3, got {order}"),
            ))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A Markov attribution with what it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkovAttribution {
    attribution: Attribution,
    removal_effects: Vec<f64>,
    conversion_probability: f64,
    states: usize,
    certified_error: f64,
}

impl MarkovAttribution {
    pub fn attribution(&self) -> &Attribution {
        &self.attribution
    }

    pub fn into_attribution(self) -> Attribution {
        self.attribution
    }

    /// `RE_c` per channel, in the table's channel order (0 for channels only seen on paths
    /// with neither conversions nor nulls).
    pub fn removal_effects(&self) -> &[f64] {
        &self.removal_effects
    }

    /// P(conversion) from start on the full chain.
    pub fn conversion_probability(&self) -> f64 {
        self.conversion_probability
    }

    /// Number of transient states (channel tuples) in the chain.
    pub fn states(&self) -> usize {
        self.states
    }

    /// The widest certified bracket around any P(conversion) solved (0 when every solve was
    /// by elimination); see `absorb`.
    pub fn certified_error(&self) -> f64 {
        self.certified_error
    }
}

/// Attributes conversions and value by removal effect on the order-`order` chain.
pub fn markov(journeys: &Journeys, order: MarkovOrder) -> MarkovAttribution {
    markov_with(journeys, order, Method::Auto)
}

pub(crate) fn markov_with(
    journeys: &Journeys,
    order: MarkovOrder,
    method: Method,
) -> MarkovAttribution {
    let channels = journeys.channels().len();
    let chain = Chain::estimate(journeys, order.0 as usize);
    let mut pinned = vec![false; chain.states()];
    let full = conversion_probability(&chain, &pinned, method);
    let mut certified_error = full.width;
    let mut method_used = full.method;

    let mut removal_effects = vec![0.0; channels];
    if full.probability > 0.0 {
        for (channel, states) in chain.states_by_channel(channels).into_iter().enumerate() {
            if states.is_empty() {
                continue;
            }
            for &state in &states {
                pinned[state as usize] = true;
            }
            let without = conversion_probability(&chain, &pinned, method);
            for &state in &states {
                pinned[state as usize] = false;
            }
            certified_error = certified_error.max(without.width);
            if without.method == Method::GaussSeidel {
                method_used = Method::GaussSeidel;
            }
            removal_effects[channel] =
                (1.0 - without.probability / full.probability).clamp(0.0, 1.0);
        }
    }

    let total_conversions = journeys.total_conversions();
    let total_value = journeys.total_value();
    let effect_sum: f64 = removal_effects.iter().sum();
    let share = |effect: f64, total: f64| {
        if effect_sum > 0.0 {
            total * effect / effect_sum
        } else {
            0.0
        }
    };
    let conversions = removal_effects
        .iter()
        .map(|&e| share(e, total_conversions))
        .collect();
    let value = removal_effects
        .iter()
        .map(|&e| share(e, total_value))
        .collect();
    let solver = match method_used {
        Method::GaussSeidel => {
            format!("gauss-seidel with a certified bracket of width {certified_error:.1e}")
        }
        _ => "gaussian elimination".to_owned(),
    };
    let definition = format!(
        "markov order {}, removal effect, exact absorbing-chain solve ({solver}; {} states)",
        order.0,
        chain.states()
    );
    MarkovAttribution {
        attribution: Attribution::new(
            ModelName::Markov { order: order.0 },
            journeys.channels(),
            conversions,
            value,
            (total_conversions, total_value),
            definition,
        ),
        removal_effects,
        conversion_probability: full.probability,
        states: chain.states(),
        certified_error,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn order(k: u8) -> MarkovOrder {
        MarkovOrder::new(k).unwrap()
    }

    #[test]
    fn the_hand_computed_example_in_the_docs_holds() {
        let journeys = Journeys::parse_rows([
            ("a > b", 1.0, 10.0, 0.0),
            ("a", 0.0, 0.0, 1.0),
            ("b", 1.0, 30.0, 1.0),
        ])
        .unwrap();
        for method in [Method::Elimination, Method::GaussSeidel] {
            let result = markov_with(&journeys, order(1), method);
            assert!((result.conversion_probability() - 0.5).abs() < 1e-13);
            assert!((result.removal_effects()[0] - 1.0 / 3.0).abs() < 1e-12);
            assert!((result.removal_effects()[1] - 1.0).abs() < 1e-12);
            let a = result.attribution().credit("a").unwrap();
            let b = result.attribution().credit("b").unwrap();
            assert!((a.conversions() - 0.5).abs() < 1e-12);
            assert!((b.conversions() - 1.5).abs() < 1e-12);
            assert!((a.value() - 10.0).abs() < 1e-10);
            assert!((b.value() - 30.0).abs() < 1e-10);
        }
    }

    #[test]
    fn orders_outside_one_to_three_are_refused() {
        assert_eq!(MarkovOrder::new(0).unwrap_err().field(), "order");
        assert!(MarkovOrder::new(4).is_err());
        assert_eq!(MarkovOrder::new(3).unwrap().get(), 3);
    }

    #[test]
    fn a_table_without_conversions_credits_nothing() {
        let journeys = Journeys::parse_rows([("a > b", 0.0, 0.0, 3.0)]).unwrap();
        let result = markov(&journeys, order(2));
        assert_eq!(result.conversion_probability(), 0.0);
        assert!(result
            .attribution()
            .credits()
            .iter()
            .all(|c| c.conversions() == 0.0));
    }

    #[test]
    fn second_order_separates_what_first_order_merges() {
        // In order 1, "x > c" and "y > c" share state c; in order 2 they are distinct states,
        // so the chain remembers that conversion follows only x.
        let journeys =
            Journeys::parse_rows([("x > c", 4.0, 0.0, 0.0), ("y > c", 0.0, 0.0, 4.0)]).unwrap();
        let first = markov(&journeys, order(1));
        let second = markov(&journeys, order(2));
        assert!((first.conversion_probability() - 0.5).abs() < 1e-12);
        assert!((second.conversion_probability() - 0.5).abs() < 1e-12);
        // Order 2: removing y changes nothing, so y earns no credit.
        assert!(second.removal_effects()[2] < 1e-12);
        assert!((second.attribution().credit("x").unwrap().conversions() - 2.0).abs() < 1e-12);
        assert_eq!(second.states(), 2);
        assert_eq!(first.states(), 3);
    }

    /// An independent reference: states as strings in ChannelAttribution's ramp-up-free
    /// convention, a dense `(I − Q)` over every state, solved by Gauss–Jordan with pivoting.
    fn reference(
        rows: &[(Vec<usize>, f64, f64)],
        order: usize,
        channels: usize,
    ) -> (f64, Vec<f64>) {
        let mut names: BTreeMap<Vec<usize>, usize> = BTreeMap::new();
        let mut count: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        // Index 0 = start; then states; conversion and null are columns of their own.
        let mut conversion: BTreeMap<usize, f64> = BTreeMap::new();
        let mut null: BTreeMap<usize, f64> = BTreeMap::new();
        for (path, c, n) in rows {
            if c + n == 0.0 {
                continue;
            }
            let width = order.min(path.len());
            let mut previous = 0;
            for start in 0..=path.len() - width {
                let tuple = path[start..start + width].to_vec();
                let next_id = names.len() + 1;
                let id = *names.entry(tuple).or_insert(next_id);
                *count.entry((previous, id)).or_default() += c + n;
                previous = id;
            }
            *conversion.entry(previous).or_default() += c;
            *null.entry(previous).or_default() += n;
        }
        let states = names.len() + 1;
        let solve = |removed: Option<usize>| -> f64 {
            let blocked: Vec<bool> = (0..states)
                .map(|id| {
                    removed.is_some_and(|c| {
                        names
                            .iter()
                            .any(|(tuple, &i)| i == id && tuple.contains(&c))
                    })
                })
                .collect();
            let mut a = vec![vec![0.0; states + 1]; states];
            for (s, row) in a.iter_mut().enumerate() {
                row[s] = 1.0;
                if blocked[s] {
                    continue;
                }
                let total: f64 = count
                    .iter()
                    .filter(|((f, _), _)| *f == s)
                    .map(|(_, w)| w)
                    .sum::<f64>()
                    + conversion.get(&s).unwrap_or(&0.0)
                    + null.get(&s).unwrap_or(&0.0);
                if total == 0.0 {
                    continue;
                }
                for ((_, t), w) in count.iter().filter(|((f, _), _)| *f == s) {
                    if !blocked[*t] {
                        row[*t] -= w / total;
                    }
                }
                row[states] = conversion.get(&s).unwrap_or(&0.0) / total;
            }
            for col in 0..states {
                let pivot = (col..states)
                    .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
                    .unwrap();
                a.swap(col, pivot);
                let pivot_row = a[col].clone();
                for (r, row) in a.iter_mut().enumerate() {
                    if r != col {
                        let f = row[col] / pivot_row[col];
                        for (cell, v) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                            *cell -= f * v;
                        }
                    }
                }
            }
            a[0][states] / a[0][0]
        };
        let p = solve(None);
        let effects = (0..channels)
            .map(|c| {
                if p > 0.0 {
                    (1.0 - solve(Some(c)) / p).clamp(0.0, 1.0)
                } else {
                    0.0
                }
            })
            .collect();
        (p, effects)
    }

    fn path_table() -> impl Strategy<Value = Vec<(Vec<usize>, f64, f64)>> {
        prop::collection::vec(
            (
                prop::collection::vec(0usize..4, 1..6),
                prop_oneof![Just(0.0), 0.0..5.0],
                prop_oneof![Just(0.0), 0.0..5.0],
            ),
            1..10,
        )
    }

    fn journeys_of(rows: &[(Vec<usize>, f64, f64)]) -> Journeys {
        let texts: Vec<String> = rows
            .iter()
            .map(|(p, _, _)| {
                p.iter()
                    .map(|c| format!("ch{c}"))
                    .collect::<Vec<_>>()
                    .join(" > ")
            })
            .collect();
        Journeys::parse_rows(
            texts
                .iter()
                .zip(rows)
                .map(|(text, (_, c, n))| (text.as_str(), *c, *c * 10.0, *n)),
        )
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn exact_solves_match_a_dense_reference_for_orders_one_to_three(
            rows in path_table(),
            k in 1u8..=3,
        ) {
            let journeys = journeys_of(&rows);
            // Channel ids in `journeys` follow first appearance; map the reference's ids.
            let ids: Vec<usize> = journeys
                .channels()
                .iter()
                .map(|name| name[2..].parse().unwrap())
                .collect();
            let (p, effects) = reference(&rows, k as usize, 4);
            for method in [Method::Elimination, Method::GaussSeidel] {
                let result = markov_with(&journeys, order(k), method);
                prop_assert!((result.conversion_probability() - p).abs() < 1e-9,
                    "{method:?}: {} vs {p}", result.conversion_probability());
                for (channel, &reference_id) in ids.iter().enumerate() {
                    prop_assert!((result.removal_effects()[channel] - effects[reference_id]).abs() < 1e-9,
                        "{method:?} channel {reference_id}: {} vs {}",
                        result.removal_effects()[channel], effects[reference_id]);
                }
            }
        }
    }
}
