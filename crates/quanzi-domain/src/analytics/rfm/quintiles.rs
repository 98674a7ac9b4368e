//! Quintile scores 1–5, shared by the member profile ([`crate::members::rfm_scores`]) and
//! the RFM over an orders table, so both give every value the same score.
//!
//! The rule: sort the `n` values ascending; a value whose first position in that order is
//! `p` (0-based; equal values share the first position they take) scores
//! `1 + p * 5 / n` (integer division). The score only depends on the multiset of values,
//! never on their order.
//!
//! Rather than sort, it is enough to know four order statistics: the score of `v` is at
//! least `k + 1` exactly when at least `ceil(k * n / 5)` values are smaller than `v`, that
//! is when `v` is larger than the value at sorted position `ceil(k * n / 5) - 1`. So the
//! score is one plus the number of these four cut values below `v`, and finding them takes
//! a counting pass when the values span a small range (days, order counts) and
//! `select_nth_unstable` otherwise (money), both linear.

/// The four cut values of a set of values: see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quintiles {
    cuts: [i64; 4],
}

/// Counting is used when the values span at most this many integers plus twice their
/// number: the histogram then costs about as much as the values themselves.
const COUNTING_SPAN: u64 = 1 << 16;

impl Quintiles {
    /// The cut values of `values` (any order; empty gives cuts no value exceeds).
    pub fn of(values: &[i64]) -> Quintiles {
        let n = values.len();
        if n == 0 {
            return Quintiles {
                cuts: [i64::MAX; 4],
            };
        }
        // Sorted positions whose values are the cuts: ceil(k * n / 5) - 1 for k = 1..=4.
        let positions = [1, 2, 3, 4].map(|k| (k * n).div_ceil(5) - 1);
        let (min, max) = values
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let span = max.abs_diff(min);
        let cuts = if span <= COUNTING_SPAN + 2 * n as u64 {
            by_counting(values, min, span as usize + 1, positions)
        } else {
            by_selection(values, positions)
        };
        Quintiles { cuts }
    }

    /// The score 1–5 of `value`, which should be one of the values the cuts came from
    /// (any value gets the score it would have among them, were it counted at its first
    /// position).
    #[inline]
    pub fn score(&self, value: i64) -> u8 {
        1 + self
            .cuts
            .iter()
            .map(|&cut| u8::from(value > cut))
            .sum::<u8>()
    }

    /// The cut values: the values at sorted positions `ceil(k * n / 5) - 1`, k = 1..=4.
    pub fn cuts(&self) -> [i64; 4] {
        self.cuts
    }

    /// Scores of every value, in the order given.
    pub fn scores(values: &[i64]) -> Vec<u8> {
        let quintiles = Self::of(values);
        values.iter().map(|&v| quintiles.score(v)).collect()
    }
}

/// A histogram over `min..min + width`, walked once to the four positions.
fn by_counting(values: &[i64], min: i64, width: usize, positions: [usize; 4]) -> [i64; 4] {
    let mut counts = vec![0u32; width];
    for &v in values {
        counts[v.abs_diff(min) as usize] += 1;
    }
    let mut cuts = [0; 4];
    let mut k = 0;
    let mut seen = 0usize;
    for (offset, &count) in counts.iter().enumerate() {
        seen += count as usize;
        // Values at sorted positions `seen - count .. seen` equal this one.
        while k < 4 && positions[k] < seen {
            cuts[k] = min.wrapping_add(offset as i64);
            k += 1;
        }
        if k == 4 {
            break;
        }
    }
    cuts
}

/// Selection on a copy, largest position first so each later search runs only on the
/// part below the previous one (which holds the smallest values).
fn by_selection(values: &[i64], positions: [usize; 4]) -> [i64; 4] {
    let mut copy = values.to_vec();
    let mut cuts = [0; 4];
    let mut end = copy.len();
    for k in (0..4).rev() {
        let position = positions[k];
        cuts[k] = if position < end {
            *copy[..end].select_nth_unstable(position).1
        } else {
            // The same position as the next cut (only for fewer than five values).
            cuts[k + 1]
        };
        end = position;
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule as written: sort, and score each value by its first sorted position.
    fn by_sorting(values: &[i64]) -> Vec<u8> {
        let n = values.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| values[i]);
        let mut scores = vec![0u8; n];
        let mut first_position = 0;
        for (position, &i) in order.iter().enumerate() {
            if position > 0 && values[i] != values[order[position - 1]] {
                first_position = position;
            }
            scores[i] = (1 + first_position * 5 / n) as u8;
        }
        scores
    }

    #[test]
    fn ten_distinct_values_fill_two_per_quintile() {
        let values: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(Quintiles::scores(&values), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
        assert_eq!(Quintiles::of(&values).cuts(), [2, 4, 6, 8]);
    }

    #[test]
    fn ties_share_the_score_of_their_first_position() {
        assert_eq!(Quintiles::scores(&[7, 7, 7, 9]), [1, 1, 1, 4]);
        assert_eq!(Quintiles::scores(&[5]), [1]);
        assert_eq!(Quintiles::scores(&[]), Vec::<u8>::new());
        assert_eq!(Quintiles::scores(&[3, 3]), [1, 1]);
        assert_eq!(Quintiles::scores(&[3, 4]), [1, 3]);
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let values = [i64::MIN, i64::MAX, 0, -1, 1, i64::MIN];
        assert_eq!(Quintiles::scores(&values), by_sorting(&values));
        let narrow = [i64::MAX, i64::MAX - 1, i64::MAX - 7];
        assert_eq!(Quintiles::scores(&narrow), by_sorting(&narrow));
    }

    proptest! {
        #[test]
        fn counting_and_selection_agree_with_sorting(
            small in prop::collection::vec(-5i64..40, 0..300),
            large in prop::collection::vec(any::<i64>(), 0..300),
            mixed in prop::collection::vec(prop_oneof![Just(0i64), Just(1_000_000_000), -3i64..3], 0..300),
        ) {
            for values in [&small, &large, &mixed] {
                prop_assert_eq!(Quintiles::scores(values), by_sorting(values));
            }
        }
    }
}
