//! One pass over one member's sorted events per mode, finding the attempt that counts.
//!
//! Every mode answers the same question: over all attempts (see the module
//! documentation), how deep does the deepest one get, and which attempt gets there first
//! (the one that started last, if several get there with the same event)? Each walker
//! does it in time linear in the member's events, where trying every start would be
//! quadratic; `reference` in the tests tries every start and checks these against it.

use super::group::{RANK_BITS, RANK_EXCLUSION, RANK_MASK, RANK_OTHER};

const MAX_STEPS: usize = super::definition::FunnelDefinition::MAX_STEPS;

/// The attempt that counts for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Steps reached, 0 when the member never did a step that starts an attempt.
    pub(crate) depth: usize,
    /// Index (in the member's sorted events) of the attempt's first event.
    pub(crate) start: usize,
    /// Seconds from that first event to the event that reached `depth`.
    pub(crate) elapsed: i64,
}

impl Outcome {
    const NONE: Outcome = Outcome {
        depth: 0,
        start: 0,
        elapsed: 0,
    };
}

#[inline]
fn ts(key: u64) -> i64 {
    (key >> RANK_BITS) as i64
}

#[inline]
fn rank(key: u64) -> u8 {
    (key & RANK_MASK) as u8
}

/// Ordered: a step-k + 1 event extends the attempt with the latest start among those at
/// step k, because a later start leaves the most window for what follows (ClickHouse's
/// `windowFunnel` keeps the same table). An exclusion ends every attempt in progress.
pub(crate) fn ordered(keys: &[u64], steps: usize, window: i64) -> Outcome {
    // `start_of[k]`: the index of the latest-starting attempt that has reached step k + 1.
    let mut start_of = [0usize; MAX_STEPS];
    let mut reached = 0u64;
    let mut out = Outcome::NONE;
    for (i, &key) in keys.iter().enumerate() {
        let rank = rank(key);
        if rank == RANK_EXCLUSION {
            reached = 0;
            continue;
        }
        let k = usize::from(rank - 1);
        if k == 0 {
            start_of[0] = i;
            reached |= 1;
        } else {
            if reached & (1 << (k - 1)) == 0 {
                continue;
            }
            let start = start_of[k - 1];
            if ts(key) - ts(keys[start]) > window {
                continue;
            }
            start_of[k] = start;
            reached |= 1 << k;
        }
        if k + 1 > out.depth {
            let start = start_of[k];
            out = Outcome {
                depth: k + 1,
                start,
                elapsed: ts(key) - ts(keys[start]),
            };
            if out.depth == steps {
                break;
            }
        }
    }
    out
}

/// Strict: an attempt is a run of consecutive events that are steps 1, 2, 3, … in order;
/// any other event (exclusions included) ends it, so at most one attempt is alive.
pub(crate) fn strict(keys: &[u64], steps: usize, window: i64) -> Outcome {
    let mut level = 0;
    let mut start = 0;
    let mut out = Outcome::NONE;
    for (i, &key) in keys.iter().enumerate() {
        let rank = rank(key);
        if rank == RANK_OTHER || rank == RANK_EXCLUSION {
            level = 0;
            continue;
        }
        let k = usize::from(rank - 1);
        if level > 0 && k == level && ts(key) - ts(keys[start]) <= window {
            level += 1;
        } else if k == 0 {
            level = 1;
            start = i;
        } else {
            level = 0;
            continue;
        }
        if level > out.depth {
            out = Outcome {
                depth: level,
                start,
                elapsed: ts(key) - ts(keys[start]),
            };
            if level == steps {
                break;
            }
        }
    }
    out
}

/// Unordered: any step starts an attempt, which counts the distinct steps from there to the
/// end of its window or the next exclusion. A sliding window finds the deepest count; a
/// second pass finds the first event reaching it and the latest start that still does.
pub(crate) fn unordered(keys: &[u64], steps: usize, window: i64) -> Outcome {
    let mut slide = Slide::new(steps);
    let mut deepest = 0;
    for (j, &key) in keys.iter().enumerate() {
        slide.push(keys, j, key, window);
        deepest = deepest.max(slide.distinct);
        if deepest == steps {
            break;
        }
    }
    if deepest == 0 {
        return Outcome::NONE;
    }
    let mut slide = Slide::new(steps);
    for (j, &key) in keys.iter().enumerate() {
        slide.push(keys, j, key, window);
        if slide.distinct == deepest {
            // Drop starts while the rest of the window still holds `deepest` steps.
            while slide.counts[step_of(keys[slide.left])] > 1 {
                slide.pop_left(keys);
            }
            return Outcome {
                depth: deepest,
                start: slide.left,
                elapsed: ts(key) - ts(keys[slide.left]),
            };
        }
    }
    unreachable!("the second pass reaches the depth the first one found")
}

fn step_of(key: u64) -> usize {
    usize::from(rank(key) - 1)
}

/// The events from the earliest start whose window and exclusion-free stretch still
/// cover event `j`, with how often each step occurs among them.
struct Slide {
    counts: [u32; MAX_STEPS],
    distinct: usize,
    left: usize,
    steps: usize,
}

impl Slide {
    fn new(steps: usize) -> Self {
        Self {
            counts: [0; MAX_STEPS],
            distinct: 0,
            left: 0,
            steps,
        }
    }

    fn push(&mut self, keys: &[u64], j: usize, key: u64, window: i64) {
        if rank(key) == RANK_EXCLUSION {
            self.counts[..self.steps].fill(0);
            self.distinct = 0;
            self.left = j + 1;
            return;
        }
        let k = step_of(key);
        self.counts[k] += 1;
        if self.counts[k] == 1 {
            self.distinct += 1;
        }
        while ts(key) - ts(keys[self.left]) > window {
            self.pop_left(keys);
        }
    }

    fn pop_left(&mut self, keys: &[u64]) {
        let k = step_of(keys[self.left]);
        self.counts[k] -= 1;
        if self.counts[k] == 0 {
            self.distinct -= 1;
        }
        self.left += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys for `(ts, step)` pairs; step 0 is an exclusion, 1.. are steps, 9 is other.
    fn keys(events: &[(i64, u8)]) -> Vec<u64> {
        events
            .iter()
            .map(|&(t, s)| {
                let rank = match s {
                    0 => RANK_EXCLUSION,
                    9 => RANK_OTHER,
                    s => s,
                };
                (t as u64) << RANK_BITS | u64::from(rank)
            })
            .collect()
    }

    #[test]
    fn ordered_uses_the_latest_start_for_the_window() {
        // Step 1 at 0 and 5, step 2 at 12: only the second start is within 10.
        let out = ordered(&keys(&[(0, 1), (5, 1), (12, 2), (13, 3)]), 3, 10);
        assert_eq!(
            out,
            Outcome {
                depth: 3,
                start: 1,
                elapsed: 8
            }
        );
        // Other events between steps do not matter; an exclusion ends the attempt.
        assert_eq!(
            ordered(&keys(&[(0, 1), (1, 2), (2, 0), (3, 3)]), 3, 10).depth,
            2
        );
        assert_eq!(ordered(&keys(&[(0, 2), (1, 3)]), 3, 10).depth, 0);
    }

    #[test]
    fn strict_needs_consecutive_events() {
        assert_eq!(
            strict(&keys(&[(0, 1), (1, 2), (2, 9), (3, 3)]), 3, 10).depth,
            2
        );
        let out = strict(&keys(&[(0, 1), (1, 2), (2, 1), (3, 2), (4, 3)]), 3, 10);
        assert_eq!((out.depth, out.start, out.elapsed), (3, 2, 2));
        assert_eq!(strict(&keys(&[(0, 1), (11, 2)]), 2, 10).depth, 1);
    }

    #[test]
    fn unordered_counts_distinct_steps_in_any_order() {
        let out = unordered(&keys(&[(0, 3), (1, 3), (2, 1), (4, 2)]), 3, 10);
        assert_eq!((out.depth, out.start, out.elapsed), (3, 1, 3));
        // The window drops the early 3; the exclusion cuts the later run.
        assert_eq!(
            unordered(&keys(&[(0, 3), (20, 1), (21, 2)]), 3, 10).depth,
            2
        );
        assert_eq!(unordered(&keys(&[(0, 3), (1, 0), (2, 1)]), 3, 10).depth, 1);
    }
}
