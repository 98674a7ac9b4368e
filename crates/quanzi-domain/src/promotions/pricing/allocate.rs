//! Spreading an order-level discount over lines without crossing any line's floor.

/// Reusable buffer for [`spread`], so the search allocates nothing per node.
#[derive(Debug, Default)]
pub(crate) struct SpreadScratch {
    /// (remainder, index, share) for the lines still taking part in a round.
    shares: Vec<(i128, usize, i64)>,
}

/// Spreads `total` over lines in proportion to `weights` (their current amounts) by largest
/// remainder, ties to the earlier line, never giving a line more than its `caps` entry
/// (its headroom above the floor). What a capped line could not take is re-spread, in the
/// same proportions, over the lines that still have room, until all is given or every line
/// is full; so the result is `min(total, sum(caps))`. Writes each line's share into `out`
/// (same length as `weights`) and returns the sum.
///
/// Callers pass `weight >= cap` (headroom never exceeds the amount); a line with room but
/// weight 0 can then not occur, which keeps every round's divisor positive.
pub(crate) fn spread(
    total: i64,
    weights: &[i64],
    caps: &[i64],
    out: &mut [i64],
    scratch: &mut SpreadScratch,
) -> i64 {
    debug_assert!(weights.len() == caps.len() && caps.len() == out.len());
    out.fill(0);
    let room: i64 = caps.iter().map(|c| (*c).max(0)).sum();
    let given = total.min(room).max(0);
    let mut remaining = given;
    // Each round either gives everything or fills at least one more line, so this runs at
    // most once per line.
    while remaining > 0 {
        let shares = &mut scratch.shares;
        shares.clear();
        let mut weight_sum: i128 = 0;
        for i in 0..weights.len() {
            if out[i] < caps[i] {
                weight_sum += i128::from(weights[i].max(0));
                shares.push((0, i, 0));
            }
        }
        if shares.is_empty() {
            break;
        }
        // Only reachable if a caller broke `weight >= cap`: split evenly instead.
        let even = weight_sum == 0;
        let divisor = if even {
            shares.len() as i128
        } else {
            weight_sum
        };
        let mut handed: i64 = 0;
        for entry in shares.iter_mut() {
            let w = if even {
                1
            } else {
                i128::from(weights[entry.1].max(0))
            };
            let numerator = i128::from(remaining) * w;
            entry.2 = (numerator / divisor) as i64;
            entry.0 = numerator % divisor;
            handed += entry.2;
        }
        let leftover = (remaining - handed) as usize;
        if leftover > 0 {
            shares.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            for entry in shares.iter_mut().take(leftover) {
                entry.2 += 1;
            }
        }
        for &(_, i, share) in shares.iter() {
            let take = share.min(caps[i] - out[i]);
            out[i] += take;
            remaining -= take;
        }
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(total: i64, weights: &[i64], caps: &[i64]) -> (i64, Vec<i64>) {
        let mut out = vec![0; weights.len()];
        let given = spread(
            total,
            weights,
            caps,
            &mut out,
            &mut SpreadScratch::default(),
        );
        (given, out)
    }

    #[test]
    fn a_discount_is_spread_in_proportion_to_amounts() {
        assert_eq!(run(60, &[100, 200], &[100, 200]), (60, vec![20, 40]));
    }

    #[test]
    fn the_leftover_fen_goes_to_the_largest_remainder_and_ties_to_the_earlier_line() {
        assert_eq!(
            run(10, &[100, 100, 100], &[100, 100, 100]),
            (10, vec![4, 3, 3])
        );
        // Shares 0.5, 1.0, 0.5: the spare fen goes to the first of the two halves.
        assert_eq!(run(2, &[10, 20, 10], &[10, 20, 10]), (2, vec![1, 1, 0]));
    }

    #[test]
    fn a_capped_line_passes_its_excess_to_lines_with_room() {
        // Even split would be 50/50; the first line can take only 10.
        assert_eq!(run(100, &[100, 100], &[10, 100]), (100, vec![10, 90]));
    }

    #[test]
    fn a_discount_larger_than_all_headroom_gives_only_the_headroom() {
        assert_eq!(run(500, &[100, 100], &[30, 40]), (70, vec![30, 40]));
    }

    #[test]
    fn nothing_is_given_without_headroom() {
        assert_eq!(run(50, &[100, 100], &[0, 0]), (0, vec![0, 0]));
        assert_eq!(run(50, &[], &[]), (0, vec![]));
    }
}
