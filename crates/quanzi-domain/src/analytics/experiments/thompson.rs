//! Top-two Thompson sampling (Russo, 2016) to move traffic towards the best arm while
//! still measuring the runner-up.
//!
//! 1. Each arm's conversion rate has a Beta posterior. `P(arm i is best)` is estimated by
//!    Monte Carlo: draw every arm's rate `draws` times and count how often each is the
//!    largest. The generator is seeded, so the same inputs and seed give the same answer.
//! 2. Top-two allocation: with probability β play the arm a Thompson draw ranks first;
//!    otherwise redraw until a different arm ranks first and play that challenger. Given
//!    the best-arm probabilities `pᵢ`, an arm's expected share is
//!    `wᵢ = β pᵢ + (1 − β) Σ_{j≠i} pⱼ · pᵢ / (1 − pⱼ)`, which sums to one. When the
//!    estimate says one arm is certainly best (`pⱼ = 1`), its challenger share is split
//!    evenly among the others, because Monte Carlo saw no other winner to weight by.
//!
//! β = 0.5 is Russo's recommended default: it keeps at least half the traffic off the
//! leader until the runner-up is also well measured.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::beta_binomial::BetaDistribution;
use super::sampling;
use crate::input::InvalidInput;

/// How to sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThompsonConfig {
    /// Monte Carlo draws; the standard error of each probability is at most `0.5/√draws`.
    pub draws: u32,
    /// The top-two β in `[0, 1]`.
    pub top_two_beta: f64,
    pub seed: u64,
}

impl Default for ThompsonConfig {
    fn default() -> Self {
        Self {
            draws: 10_000,
            top_two_beta: 0.5,
            seed: 0,
        }
    }
}

/// The inputs, echoed.
#[derive(Debug, Clone, PartialEq)]
pub struct ThompsonDefinition {
    pub arms: Vec<BetaDistribution>,
    pub config: ThompsonConfig,
}

/// Best-arm probabilities and the traffic shares to use next.
#[derive(Debug, Clone, PartialEq)]
pub struct ThompsonResult {
    pub definition: ThompsonDefinition,
    pub probability_best: Vec<f64>,
    pub allocation: Vec<f64>,
}

/// Estimates the best-arm probabilities and the top-two allocation.
pub fn top_two_thompson(
    arms: &[BetaDistribution],
    config: &ThompsonConfig,
) -> Result<ThompsonResult, InvalidInput> {
    if arms.len() < 2 {
        return Err(InvalidInput::new("arms", "needs at least two arms"));
    }
    if config.draws == 0 {
        return Err(InvalidInput::new("draws", "must be at least 1"));
    }
    if !(0.0..=1.0).contains(&config.top_two_beta) {
        return Err(InvalidInput::new(
            "top_two_beta",
            "must be between 0 and 1, e.g. 0.5",
        ));
    }
    let probability_best = probability_best(arms, config.draws, config.seed);
    let allocation = top_two_allocation(&probability_best, config.top_two_beta);
    Ok(ThompsonResult {
        definition: ThompsonDefinition {
            arms: arms.to_vec(),
            config: *config,
        },
        probability_best,
        allocation,
    })
}

/// Monte Carlo `P(arm i has the highest rate)`.
fn probability_best(arms: &[BetaDistribution], draws: u32, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut wins = vec![0u32; arms.len()];
    for _ in 0..draws {
        let mut best = (0, f64::NEG_INFINITY);
        for (i, arm) in arms.iter().enumerate() {
            let rate = sampling::beta(&mut rng, arm.alpha(), arm.beta());
            if rate > best.1 {
                best = (i, rate);
            }
        }
        wins[best.0] += 1;
    }
    wins.iter().map(|w| *w as f64 / draws as f64).collect()
}

/// `wᵢ = β pᵢ + (1 − β) Σ_{j≠i} pⱼ pᵢ / (1 − pⱼ)`.
pub fn top_two_allocation(probability_best: &[f64], beta: f64) -> Vec<f64> {
    let k = probability_best.len();
    let mut allocation: Vec<f64> = probability_best.iter().map(|p| beta * p).collect();
    for (j, &leader) in probability_best.iter().enumerate() {
        if leader <= 0.0 {
            continue;
        }
        let challenger_mass = (1.0 - beta) * leader;
        let rest = 1.0 - leader;
        for (i, share) in allocation.iter_mut().enumerate() {
            if i == j {
                continue;
            }
            *share += if rest > 0.0 {
                challenger_mass * probability_best[i] / rest
            } else {
                challenger_mass / (k - 1) as f64
            };
        }
    }
    allocation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posterior(n: u64, conversions: u64) -> BetaDistribution {
        BetaDistribution::UNIFORM.posterior(n, conversions).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_allocation() {
        let arms = [
            posterior(1000, 100),
            posterior(1000, 110),
            posterior(1000, 95),
        ];
        let config = ThompsonConfig {
            seed: 42,
            ..ThompsonConfig::default()
        };
        let first = top_two_thompson(&arms, &config).unwrap();
        let second = top_two_thompson(&arms, &config).unwrap();
        assert_eq!(first, second);
        let total: f64 = first.allocation.iter().sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!(first.probability_best[1] > first.probability_best[0]);
    }

    #[test]
    fn two_arm_probabilities_match_the_exact_beta_comparison() {
        let arms = [posterior(500, 50), posterior(500, 60)];
        let config = ThompsonConfig {
            draws: 100_000,
            ..ThompsonConfig::default()
        };
        let result = top_two_thompson(&arms, &config).unwrap();
        let (exact, _) =
            crate::analytics::experiments::beta_binomial::probability_greater(arms[1], arms[0]);
        let se = (exact * (1.0 - exact) / 100_000.0).sqrt();
        assert!((result.probability_best[1] - exact).abs() < 3.0 * se);
    }

    #[test]
    fn two_arms_with_beta_one_half_split_traffic_evenly() {
        // With two arms the challenger of each is the other, so β = 1/2 gives 1/2 each.
        let allocation = top_two_allocation(&[0.9, 0.1], 0.5);
        assert!((allocation[0] - 0.5).abs() < 1e-15);
        assert!((allocation[1] - 0.5).abs() < 1e-15);
    }

    #[test]
    fn allocation_matches_the_worked_formula_for_three_arms() {
        let p = [0.6, 0.3, 0.1];
        let allocation = top_two_allocation(&p, 0.5);
        // w₀ = 0.3 + 0.5 (0.3·0.6/0.7 + 0.1·0.6/0.9), and so on.
        let w0 = 0.5 * 0.6 + 0.5 * (0.3 * 0.6 / 0.7 + 0.1 * 0.6 / 0.9);
        let w1 = 0.5 * 0.3 + 0.5 * (0.6 * 0.3 / 0.4 + 0.1 * 0.3 / 0.9);
        let w2 = 0.5 * 0.1 + 0.5 * (0.6 * 0.1 / 0.4 + 0.3 * 0.1 / 0.7);
        for (got, want) in allocation.iter().zip([w0, w1, w2]) {
            assert!((got - want).abs() < 1e-15);
        }
        assert!((allocation.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn a_certain_leader_shares_its_challenger_slot_evenly() {
        let allocation = top_two_allocation(&[1.0, 0.0, 0.0], 0.5);
        assert_eq!(allocation, vec![0.5, 0.25, 0.25]);
    }

    #[test]
    fn bad_configuration_is_refused() {
        let arms = [posterior(10, 1), posterior(10, 2)];
        let config = ThompsonConfig {
            top_two_beta: 1.5,
            ..ThompsonConfig::default()
        };
        assert_eq!(
            top_two_thompson(&arms, &config).unwrap_err().field(),
            "top_two_beta"
        );
        assert!(top_two_thompson(&arms[..1], &ThompsonConfig::default()).is_err());
    }
}
