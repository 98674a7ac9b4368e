//! Choosing models by name, so the command line and the API run the same set the same
//! way.

use super::{
    first_touch, last_touch, linear, markov, position_based, shapley, time_decay, Attribution,
    HalfLife, Journeys, MarkovOrder, ShapleySampling,
};
use crate::input::InvalidInput;

/// Every model's name, in the order results are shown.
pub const MODEL_NAMES: [&str; 9] = [
    "first", "last", "linear", "position", "decay", "markov1", "markov2", "markov3", "shapley",
];

/// Permutations Shapley samples when a table has more channels than the exact limit.
pub const SHAPLEY_PERMUTATIONS: usize = 10_000;

/// Checks model names (empty means all of them); the error names the bad one.
pub fn checked_models(names: &[String]) -> Result<Vec<&'static str>, InvalidInput> {
    if names.is_empty() {
        return Ok(MODEL_NAMES.to_vec());
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            MODEL_NAMES
                .iter()
                .find(|known| **known == name.as_str())
                .copied()
                .ok_or_else(|| {
                    InvalidInput::new(
                        format!("models[{i}]"),
                        format!("`{name}` is not a model: use {}", MODEL_NAMES.join(", ")),
                    )
                })
        })
        .collect()
}

/// Runs one model by its checked name.
pub fn run_model(journeys: &Journeys, name: &str, half_life: HalfLife) -> Attribution {
    match name {
        "first" => first_touch(journeys),
        "last" => last_touch(journeys),
        "linear" => linear(journeys),
        "position" => position_based(journeys),
        "decay" => time_decay(journeys, half_life),
        "markov1" | "markov2" | "markov3" => {
            let order = MarkovOrder::new(name.as_bytes()[6] - b'0').expect("orders 1 to 3 exist");
            markov(journeys, order).into_attribution()
        }
        "shapley" => shapley(
            journeys,
            ShapleySampling::new(SHAPLEY_PERMUTATIONS, 1).expect("more than two permutations"),
        )
        .into_attribution(),
        other => unreachable!("`{other}` was not checked with checked_models"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_models_are_named_by_position() {
        let err = checked_models(&["last".into(), "markov4".into()]).unwrap_err();
        assert_eq!(err.field(), "models[1]");
        assert_eq!(checked_models(&[]).unwrap().len(), 9);
    }

    #[test]
    fn every_model_runs_and_credits_the_total() {
        let journeys =
            Journeys::parse_rows([("a > b", 2.0, 20.0, 1.0), ("b", 1.0, 5.0, 3.0)]).unwrap();
        for name in MODEL_NAMES {
            let result = run_model(&journeys, name, HalfLife::new(2.0).unwrap());
            let total: f64 = result.credits().iter().map(|c| c.conversions()).sum();
            assert!((total - 3.0).abs() < 1e-9, "{name}: {total}");
        }
    }
}
