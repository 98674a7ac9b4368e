//! Deterministic assignment of members to variants and to holdout groups.
//!
//! A member's variant is a pure function of (experiment id, member id): no table of
//! assignments is needed, every app node agrees, and a member sees the same variant on
//! every visit. SHA-256 of a domain-separated, length-prefixed encoding of the ids gives
//! 53 uniform bits, i.e. a point `u` in `[0, 1)`; the variant is the first one whose
//! cumulative normalised weight exceeds `u`.
//!
//! A holdout keeps a share of members out of every experiment in a *family* (e.g. all
//! push-message tests), so the family's total incrementality can be measured against
//! them. Holdout membership hashes (family, member) under a different domain tag, so it
//! is independent of the variant split: members left in the experiment are still split
//! by the configured weights.

use sha2::{Digest, Sha256};

use crate::input::InvalidInput;

/// Tags the hash inputs so an experiment id can never collide with a holdout family.
const VARIANT_DOMAIN: &[u8] = b"quanzi/experiments/variant/v1";
const HOLDOUT_DOMAIN: &[u8] = b"quanzi/experiments/holdout/v1";

/// Variant weights: non-negative, at least one positive, stored as cumulative shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    cumulative: Vec<f64>,
}

impl Weights {
    pub fn new(weights: &[f64]) -> Result<Self, InvalidInput> {
        if weights.is_empty() {
            return Err(InvalidInput::new("weights", "needs at least one variant"));
        }
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(InvalidInput::new(
                "weights",
                "must be finite numbers of at least 0",
            ));
        }
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return Err(InvalidInput::new(
                "weights",
                "need at least one positive weight",
            ));
        }
        let mut running = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                running += w;
                running / total
            })
            .collect();
        Ok(Self { cumulative })
    }

    /// `k` equal weights.
    pub fn equal(k: usize) -> Result<Self, InvalidInput> {
        Self::new(&vec![1.0; k])
    }

    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// The normalised share of each variant.
    pub fn shares(&self) -> Vec<f64> {
        let mut previous = 0.0;
        self.cumulative
            .iter()
            .map(|c| {
                let share = c - previous;
                previous = *c;
                share
            })
            .collect()
    }

    /// The variant that owns the point `u ∈ [0, 1)`.
    fn variant_at(&self, u: f64) -> usize {
        match self.cumulative.iter().position(|c| u < *c) {
            Some(i) => i,
            // Rounding left the last cumulative share a hair below 1 and u fell in the
            // gap: give it to the last variant with any weight.
            None => self
                .shares()
                .iter()
                .rposition(|s| *s > 0.0)
                .unwrap_or(self.cumulative.len() - 1),
        }
    }
}

/// The share of a family's members held out of all its experiments, in `[0, 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutShare(f64);

impl HoldoutShare {
    pub fn new(share: f64) -> Result<Self, InvalidInput> {
        if share.is_finite() && (0.0..1.0).contains(&share) {
            Ok(Self(share))
        } else {
            Err(InvalidInput::new(
                "holdout_share",
                "must be at least 0 and below 1, e.g. 0.05",
            ))
        }
    }

    pub fn get(&self) -> f64 {
        self.0
    }
}

/// Where a member lands in a family of experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// Held out of every experiment in the family.
    Holdout,
    /// In the experiment, with this variant index.
    Variant(usize),
}

/// The member's point in `[0, 1)` for a hash domain and two ids.
fn unit_point(domain: &[u8], first: &str, second: &str) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(domain);
    for part in [first, second] {
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    // The top 53 bits fill an f64 mantissa exactly, so every point is equally likely.
    (u64::from_be_bytes(head) >> 11) as f64 / (1u64 << 53) as f64
}

/// The member's point for an experiment, exposed so callers can log and audit it.
pub fn assignment_point(experiment: &str, member: &str) -> f64 {
    unit_point(VARIANT_DOMAIN, experiment, member)
}

/// The variant index of `member` in `experiment`.
pub fn assign(experiment: &str, member: &str, weights: &Weights) -> usize {
    weights.variant_at(assignment_point(experiment, member))
}

/// Whether `member` is held out of every experiment in `family`.
pub fn in_holdout(family: &str, member: &str, share: HoldoutShare) -> bool {
    unit_point(HOLDOUT_DOMAIN, family, member) < share.get()
}

/// The holdout check, then the variant: what a running experiment in a family does.
pub fn assign_in_family(
    family: &str,
    share: HoldoutShare,
    experiment: &str,
    member: &str,
    weights: &Weights,
) -> Assignment {
    if in_holdout(family, member, share) {
        Assignment::Holdout
    } else {
        Assignment::Variant(assign(experiment, member, weights))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Counts of each variant over `n` synthetic member ids.
    fn split(experiment: &str, weights: &Weights, n: usize) -> Vec<usize> {
        let mut counts = vec![0; weights.len()];
        for i in 0..n {
            counts[assign(experiment, &format!("mem_{i}"), weights)] += 1;
        }
        counts
    }

    #[test]
    fn zero_weight_variants_get_nobody() {
        let weights = Weights::new(&[1.0, 0.0, 3.0]).unwrap();
        let counts = split("exp_zero", &weights, 10_000);
        assert_eq!(counts[1], 0);
        assert_eq!(counts.iter().sum::<usize>(), 10_000);
    }

    #[test]
    fn invalid_weights_are_refused() {
        assert!(Weights::new(&[]).is_err());
        assert!(Weights::new(&[0.0, 0.0]).is_err());
        assert!(Weights::new(&[1.0, -1.0]).is_err());
        assert!(Weights::new(&[f64::NAN]).is_err());
        assert!(HoldoutShare::new(1.0).is_err());
    }

    #[test]
    fn ids_are_length_prefixed_so_concatenations_do_not_collide() {
        assert_ne!(assignment_point("ab", "c"), assignment_point("a", "bc"));
    }

    #[test]
    fn holdout_members_are_excluded_and_the_rest_keep_the_weights() {
        let share = HoldoutShare::new(0.1).unwrap();
        let weights = Weights::new(&[1.0, 1.0]).unwrap();
        let n = 40_000;
        let (mut held, mut counts) = (0usize, [0usize; 2]);
        for i in 0..n {
            let member = format!("mem_{i}");
            match assign_in_family("push", share, "exp_a", &member, &weights) {
                Assignment::Holdout => {
                    held += 1;
                    // The same member is held out of every experiment in the family.
                    let other = assign_in_family("push", share, "exp_b", &member, &weights);
                    assert_eq!(other, Assignment::Holdout);
                }
                Assignment::Variant(v) => counts[v] += 1,
            }
        }
        let p = held as f64 / n as f64;
        assert!((p - 0.1).abs() < 4.0 * (0.1 * 0.9 / n as f64).sqrt());
        let inside = (n - held) as f64;
        let half = counts[0] as f64 / inside;
        assert!((half - 0.5).abs() < 4.0 * (0.25 / inside).sqrt());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn assignment_is_stable_for_the_same_ids(
            experiment in "[a-z0-9_]{1,20}",
            member in "[a-z0-9_]{1,30}",
            raw in proptest::collection::vec(0.0f64..10.0, 1..6),
        ) {
            prop_assume!(raw.iter().any(|w| *w > 0.0));
            let weights = Weights::new(&raw).unwrap();
            let first = assign(&experiment, &member, &weights);
            prop_assert_eq!(first, assign(&experiment, &member, &weights));
            prop_assert!(first < weights.len());
            prop_assert!(raw[first] > 0.0);
        }

        #[test]
        fn the_split_matches_the_weights_within_sampling_error(
            experiment in "[a-z0-9]{4,12}",
            raw in proptest::collection::vec(0.5f64..5.0, 2..5),
        ) {
            let weights = Weights::new(&raw).unwrap();
            let n = 20_000;
            let counts = split(&experiment, &weights, n);
            for (count, share) in counts.iter().zip(weights.shares()) {
                let observed = *count as f64 / n as f64;
                let se = (share * (1.0 - share) / n as f64).sqrt();
                // Five standard errors: a false alarm about once in 1.7 million checks.
                prop_assert!((observed - share).abs() < 5.0 * se,
                    "share {} observed {}", share, observed);
            }
        }
    }
}
