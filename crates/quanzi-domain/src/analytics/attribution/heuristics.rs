//! Rule-based models: each path's conversions and value are split over its touches by a
//! fixed weight vector that sums to 1, so credits always add up to the totals.
//!
//! Every touch is credited separately: in `a > b > a` channel `a` holds two touches and
//! collects both shares (as ChannelAttribution's linear model does).

use super::credit::{Attribution, ModelName};
use super::journeys::Journeys;
use crate::input::InvalidInput;

/// Everything to the first touch.
pub fn first_touch(journeys: &Journeys) -> Attribution {
    by_touch(
        journeys,
        ModelName::FirstTouch,
        "first touch: all of a path's conversions and value to its first channel".into(),
        |weights| {
            weights.fill(0.0);
            weights[0] = 1.0;
        },
    )
}

/// Everything to the last touch.
pub fn last_touch(journeys: &Journeys) -> Attribution {
    by_touch(
        journeys,
        ModelName::LastTouch,
        "last touch: all of a path's conversions and value to its last channel".into(),
        |weights| {
            weights.fill(0.0);
            let last = weights.len() - 1;
            weights[last] = 1.0;
        },
    )
}

/// Equal shares per touch.
pub fn linear(journeys: &Journeys) -> Attribution {
    by_touch(
        journeys,
        ModelName::Linear,
        "linear: a path's conversions and value split equally over its touches".into(),
        |weights| {
            let share = 1.0 / weights.len() as f64;
            weights.fill(share);
        },
    )
}

/// 40 % to the first touch, 40 % to the last, 20 % split equally over the touches between;
/// a one-touch path gives it everything and a two-touch path splits 50/50 (there is no
/// middle to hold the 20 %).
pub fn position_based(journeys: &Journeys) -> Attribution {
    by_touch(
        journeys,
        ModelName::PositionBased,
        "position based: 40% first touch, 40% last touch, 20% shared by the middle touches; \
         one touch 100%, two touches 50/50"
            .into(),
        |weights| match weights.len() {
            1 => weights[0] = 1.0,
            2 => weights.fill(0.5),
            len => {
                weights.fill(0.2 / (len - 2) as f64);
                weights[0] = 0.4;
                weights[len - 1] = 0.4;
            }
        },
    )
}

/// A half-life measured in touches, for [`time_decay`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HalfLife(f64);

impl HalfLife {
    /// A finite half-life > 0 touches.
    pub fn new(touches: f64) -> Result<Self, InvalidInput> {
        if touches.is_finite() && touches > 0.0 {
            Ok(Self(touches))
        } else {
            Err(InvalidInput::new(
                "half_life",
                format!("must be a finite number of touches > 0, got {touches}"),
            ))
        }
    }

    pub fn touches(self) -> f64 {
        self.0
    }
}

/// The touch `k` steps before conversion (the last touch has `k = 0`) weighs
/// `2^(-k / half_life)`, normalised per path.
///
/// A path table has no timestamps, so distance is counted in touches, not hours: with a
/// half-life of 1 each earlier touch counts half as much as the one after it.
pub fn time_decay(journeys: &Journeys, half_life: HalfLife) -> Attribution {
    let ratio = 0.5f64.powf(1.0 / half_life.0);
    // decay[k] = 2^(-k / half_life), grown on demand to the longest path.
    let mut decay: Vec<f64> = vec![1.0];
    by_touch(
        journeys,
        ModelName::TimeDecay,
        format!(
            "time decay: weight 2^(-k/{}) for the touch k steps before conversion, \
             normalised per path (k counts touches; the path table has no timestamps)",
            half_life.0
        ),
        move |weights| {
            let len = weights.len();
            while decay.len() < len {
                let next = decay[decay.len() - 1] * ratio;
                decay.push(next);
            }
            let total: f64 = decay[..len].iter().sum();
            for (position, weight) in weights.iter_mut().enumerate() {
                *weight = decay[len - 1 - position] / total;
            }
        },
    )
}

/// Splits every path by the weights `fill` writes (one per touch, summing to 1).
fn by_touch(
    journeys: &Journeys,
    model: ModelName,
    definition: String,
    mut fill: impl FnMut(&mut [f64]),
) -> Attribution {
    let channels = journeys.channels().len();
    let mut conversions = vec![0.0; channels];
    let mut value = vec![0.0; channels];
    let mut weights: Vec<f64> = Vec::new();
    let mut last_len = 0;
    for ((path, &path_conversions), &path_value) in journeys
        .paths()
        .zip(journeys.conversions())
        .zip(journeys.value())
    {
        if path_conversions == 0.0 && path_value == 0.0 {
            continue;
        }
        // Weights depend only on the path length, so they are refilled only when it changes.
        if path.len() != last_len {
            weights.resize(path.len(), 0.0);
            fill(&mut weights);
            last_len = path.len();
        }
        for (&channel, &weight) in path.iter().zip(&weights) {
            conversions[channel as usize] += path_conversions * weight;
            value[channel as usize] += path_value * weight;
        }
    }
    Attribution::new(
        model,
        journeys.channels(),
        conversions,
        value,
        (journeys.total_conversions(), journeys.total_value()),
        definition,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credits(attribution: &Attribution) -> Vec<(String, f64, f64)> {
        attribution
            .credits()
            .iter()
            .map(|c| (c.channel().to_owned(), c.conversions(), c.value()))
            .collect()
    }

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
    }

    fn four_touches() -> Journeys {
        Journeys::parse_rows([("a > b > c > d", 1.0, 100.0, 5.0)]).unwrap()
    }

    #[test]
    fn first_and_last_touch_take_everything() {
        let journeys =
            Journeys::parse_rows([("a > b > c", 2.0, 30.0, 0.0), ("b", 1.0, 5.0, 9.0)]).unwrap();
        let first = credits(&first_touch(&journeys));
        assert_eq!(
            first,
            [
                ("a".into(), 2.0, 30.0),
                ("b".into(), 1.0, 5.0),
                ("c".into(), 0.0, 0.0)
            ]
        );
        let last = credits(&last_touch(&journeys));
        assert_eq!(
            last,
            [
                ("a".into(), 0.0, 0.0),
                ("b".into(), 1.0, 5.0),
                ("c".into(), 2.0, 30.0)
            ]
        );
    }

    #[test]
    fn linear_splits_equally_per_touch_so_repeats_count_twice() {
        let journeys = Journeys::parse_rows([("a > b > a", 3.0, 30.0, 0.0)]).unwrap();
        let linear = linear(&journeys);
        close(linear.credit("a").unwrap().conversions(), 2.0);
        close(linear.credit("b").unwrap().value(), 10.0);
    }

    #[test]
    fn position_based_gives_forty_twenty_forty() {
        let result = position_based(&four_touches());
        for (channel, share) in [("a", 0.4), ("b", 0.1), ("c", 0.1), ("d", 0.4)] {
            close(result.credit(channel).unwrap().conversions(), share);
            close(result.credit(channel).unwrap().value(), share * 100.0);
        }
    }

    #[test]
    fn position_based_handles_one_and_two_touch_paths() {
        let journeys =
            Journeys::parse_rows([("a", 1.0, 0.0, 0.0), ("b > c", 1.0, 0.0, 0.0)]).unwrap();
        let result = position_based(&journeys);
        close(result.credit("a").unwrap().conversions(), 1.0);
        close(result.credit("b").unwrap().conversions(), 0.5);
        close(result.credit("c").unwrap().conversions(), 0.5);
    }

    #[test]
    fn time_decay_halves_per_touch_with_a_half_life_of_one() {
        // Weights 1/8, 1/4, 1/2, 1 normalised by 15/8.
        let result = time_decay(&four_touches(), HalfLife::new(1.0).unwrap());
        for (channel, share) in [
            ("a", 1.0 / 15.0),
            ("b", 2.0 / 15.0),
            ("c", 4.0 / 15.0),
            ("d", 8.0 / 15.0),
        ] {
            close(result.credit(channel).unwrap().conversions(), share);
        }
    }

    #[test]
    fn time_decay_with_half_life_two_uses_square_roots() {
        let journeys = Journeys::parse_rows([("a > b", 1.0, 0.0, 0.0)]).unwrap();
        let result = time_decay(&journeys, HalfLife::new(2.0).unwrap());
        let a = 0.5f64.sqrt();
        close(result.credit("a").unwrap().conversions(), a / (1.0 + a));
    }

    #[test]
    fn half_lives_must_be_positive_and_finite() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(HalfLife::new(bad).unwrap_err().field(), "half_life");
        }
    }
}
