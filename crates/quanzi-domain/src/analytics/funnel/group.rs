//! Grouping events by member, in time order, without sorting the whole table.
//!
//! Member codes are dense, so a counting sort puts every member's events side by side in
//! two passes over the columns; it is stable, so an event log written in time order (the
//! usual case) comes out already sorted per member and only the rare out-of-order member
//! is sorted again, in place. Each event becomes one `u64`: its time since the table's
//! earliest event, shifted left by [`RANK_BITS`], with its *rank* in the low bits. The rank
//! orders events of the same second: exclusions first, then the steps in funnel order,
//! then everything else, so "step k + 1 at the same second as step k" counts as after it.
//!
//! Work is split between threads by member ranges holding about equal numbers of events;
//! each thread scans all rows but writes only its own members, so the output is split
//! into disjoint slices and no unsafe code or locking is needed.

use std::ops::Range;

use super::events::EventColumns;
use crate::input::InvalidInput;

pub(crate) const RANK_BITS: u32 = 6;
pub(crate) const RANK_MASK: u64 = (1 << RANK_BITS) - 1;
/// Exclusion events sort before the steps of the same second.
pub(crate) const RANK_EXCLUSION: u8 = 0;
/// Events that are neither steps nor exclusions (kept only in strict mode).
pub(crate) const RANK_OTHER: u8 = (1 << RANK_BITS) - 1;
/// Events the funnel ignores altogether.
pub(crate) const DROP: u8 = u8::MAX;

/// The rank of step `index` (0-based).
pub(crate) fn step_rank(index: usize) -> u8 {
    index as u8 + 1
}

/// How each event code takes part: a rank, or [`DROP`]; codes past the end are `other`.
pub(crate) struct Ranks {
    by_code: Vec<u8>,
    other: u8,
}

impl Ranks {
    pub(crate) fn new(by_code: Vec<u8>, other: u8) -> Self {
        Self { by_code, other }
    }

    #[inline]
    fn of(&self, code: u32) -> u8 {
        self.by_code
            .get(code as usize)
            .copied()
            .unwrap_or(self.other)
    }
}

/// One member's events, sorted by (time, rank, row): packed keys and, when the funnel is
/// broken down, each event's breakdown code beside it.
pub(crate) struct MemberEvents<'a> {
    pub(crate) keys: &'a [u64],
    pub(crate) breakdown: &'a [u32],
}

/// What grouping saw: the events kept for the funnel.
pub(crate) struct Grouped<A> {
    pub(crate) per_thread: Vec<A>,
    pub(crate) events_considered: u64,
}

/// Groups the events `ranks` keeps by member and calls `visit` once per member with at
/// least one kept event, on up to `threads` threads, each with its own accumulator from
/// `start`.
pub(crate) fn for_each_member<A, S, V>(
    columns: &EventColumns,
    ranks: &Ranks,
    with_breakdown: bool,
    threads: usize,
    start: S,
    visit: V,
) -> Result<Grouped<A>, InvalidInput>
where
    A: Send,
    S: Fn() -> A + Sync,
    V: Fn(&mut A, MemberEvents<'_>) + Sync,
{
    let threads = threads.max(1);
    let members = columns.member_count() as usize;

    let counted = count(columns, ranks, threads);
    let Some((earliest, latest)) = counted.span else {
        return Ok(Grouped {
            per_thread: vec![start()],
            events_considered: 0,
        });
    };
    if (latest as i128 - earliest as i128) >> (64 - RANK_BITS) != 0 {
        return Err(InvalidInput::new(
            "ts",
            "timestamps span too long a time: use seconds since an epoch",
        ));
    }
    let mut offsets = Vec::with_capacity(members + 1);
    let mut total = 0u32;
    offsets.push(0);
    for &n in &counted.per_member {
        total += n;
        offsets.push(total);
    }
    drop(counted.per_member);

    let ranges = balanced_ranges(&offsets, threads);
    let mut keys = vec![0u64; total as usize];
    let mut breakdown = if with_breakdown {
        vec![0u32; total as usize]
    } else {
        Vec::new()
    };
    let source = Source {
        columns,
        ranks,
        earliest,
        with_breakdown,
    };

    let per_thread = if ranges.len() == 1 {
        let mut acc = start();
        source.scatter_and_visit(
            0..members,
            &offsets,
            &mut keys,
            &mut breakdown,
            &mut acc,
            &visit,
        );
        vec![acc]
    } else {
        std::thread::scope(|scope| {
            let mut handles = Vec::with_capacity(ranges.len());
            let mut keys_rest: &mut [u64] = &mut keys;
            let mut breakdown_rest: &mut [u32] = &mut breakdown;
            for range in &ranges {
                let len = (offsets[range.end] - offsets[range.start]) as usize;
                let (keys_own, keys_next) = keys_rest.split_at_mut(len);
                keys_rest = keys_next;
                let split = if with_breakdown { len } else { 0 };
                let (breakdown_own, breakdown_next) = breakdown_rest.split_at_mut(split);
                breakdown_rest = breakdown_next;
                let (source, offsets, start, visit) = (&source, &offsets, &start, &visit);
                let range = range.clone();
                handles.push(scope.spawn(move || {
                    let mut acc = start();
                    source.scatter_and_visit(
                        range,
                        offsets,
                        keys_own,
                        breakdown_own,
                        &mut acc,
                        visit,
                    );
                    acc
                }));
            }
            handles
                .into_iter()
                .map(|h| h.join().expect("a funnel thread panicked"))
                .collect()
        })
    };
    Ok(Grouped {
        per_thread,
        events_considered: u64::from(total),
    })
}

struct Counted {
    per_member: Vec<u32>,
    span: Option<(i64, i64)>,
}

/// Kept events per member and the earliest and latest kept time, over row ranges in
/// parallel.
fn count(columns: &EventColumns, ranks: &Ranks, threads: usize) -> Counted {
    let members = columns.member_count() as usize;
    let rows = columns.len();
    let part = |range: Range<usize>| {
        let mut per_member = vec![0u32; members];
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        let member = &columns.member()[range.clone()];
        let ts = &columns.ts()[range.clone()];
        let event = &columns.event()[range];
        for ((&m, &t), &e) in member.iter().zip(ts).zip(event) {
            if ranks.of(e) != DROP {
                per_member[m as usize] += 1;
                lo = lo.min(t);
                hi = hi.max(t);
            }
        }
        Counted {
            per_member,
            span: (lo <= hi).then_some((lo, hi)),
        }
    };
    let mut parts: Vec<Counted> = if threads == 1 {
        vec![part(0..rows)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let range = rows * t / threads..rows * (t + 1) / threads;
                    scope.spawn(move || part(range))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a funnel thread panicked"))
                .collect()
        })
    };
    let mut first = parts.remove(0);
    for other in parts {
        for (a, b) in first.per_member.iter_mut().zip(&other.per_member) {
            *a += b;
        }
        first.span = match (first.span, other.span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
    }
    first
}

/// Member ranges with about equal numbers of events each.
fn balanced_ranges(offsets: &[u32], threads: usize) -> Vec<Range<usize>> {
    let members = offsets.len() - 1;
    let total = u64::from(offsets[members]);
    let mut ranges = Vec::with_capacity(threads);
    let mut from = 0;
    for t in 1..=threads {
        let to = if t == threads {
            members
        } else {
            let target = (total * t as u64 / threads as u64) as u32;
            offsets
                .partition_point(|&o| o < target)
                .clamp(from, members)
        };
        if to > from {
            ranges.push(from..to);
        }
        from = to;
    }
    if ranges.is_empty() {
        ranges.push(0..members);
    }
    ranges
}

struct Source<'a> {
    columns: &'a EventColumns,
    ranks: &'a Ranks,
    earliest: i64,
    with_breakdown: bool,
}

impl Source<'_> {
    /// Writes the kept events of `members` into `keys` (and `breakdown`), which start at
    /// `offsets[members.start]`, then sorts and visits each member.
    fn scatter_and_visit<A>(
        &self,
        members: Range<usize>,
        offsets: &[u32],
        keys: &mut [u64],
        breakdown: &mut [u32],
        acc: &mut A,
        visit: &impl Fn(&mut A, MemberEvents<'_>),
    ) {
        let base = offsets[members.start];
        let mut cursor: Vec<u32> = offsets[members.clone()].iter().map(|o| o - base).collect();
        let (lo, width) = (members.start as u32, (members.end - members.start) as u32);
        let columns = self.columns;
        let rows = columns
            .member()
            .iter()
            .zip(columns.ts())
            .zip(columns.event());
        let shift = |t: i64, rank: u8| ((t - self.earliest) as u64) << RANK_BITS | u64::from(rank);
        if self.with_breakdown {
            let codes = columns.breakdown().expect("checked before grouping");
            for (((&m, &t), &e), &b) in rows.zip(codes) {
                let local = m.wrapping_sub(lo);
                if local < width {
                    let rank = self.ranks.of(e);
                    if rank != DROP {
                        let at = &mut cursor[local as usize];
                        keys[*at as usize] = shift(t, rank);
                        breakdown[*at as usize] = b;
                        *at += 1;
                    }
                }
            }
        } else {
            for ((&m, &t), &e) in rows {
                let local = m.wrapping_sub(lo);
                if local < width {
                    let rank = self.ranks.of(e);
                    if rank != DROP {
                        let at = &mut cursor[local as usize];
                        keys[*at as usize] = shift(t, rank);
                        *at += 1;
                    }
                }
            }
        }
        drop(cursor);

        let mut scratch: Vec<(u64, u32)> = Vec::new();
        for window in offsets[members.start..=members.end].windows(2) {
            let span = (window[0] - base) as usize..(window[1] - base) as usize;
            if span.is_empty() {
                continue;
            }
            let keys = &mut keys[span.clone()];
            let breakdown: &mut [u32] = if self.with_breakdown {
                &mut breakdown[span]
            } else {
                &mut []
            };
            if !keys.windows(2).all(|w| w[0] <= w[1]) {
                sort_member(keys, breakdown, &mut scratch);
            }
            visit(acc, MemberEvents { keys, breakdown });
        }
    }
}

/// Sorts one member's events by key, keeping rows with equal keys in input order (their
/// breakdown codes may differ).
fn sort_member(keys: &mut [u64], breakdown: &mut [u32], scratch: &mut Vec<(u64, u32)>) {
    if breakdown.is_empty() {
        keys.sort_unstable();
        return;
    }
    scratch.clear();
    scratch.extend(keys.iter().copied().zip(breakdown.iter().copied()));
    scratch.sort_by_key(|&(key, _)| key);
    for (i, &(key, code)) in scratch.iter().enumerate() {
        keys[i] = key;
        breakdown[i] = code;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_balance_events_and_cover_every_member() {
        let offsets = [0, 10, 10, 11, 30, 31, 40];
        let ranges = balanced_ranges(&offsets, 2);
        assert_eq!(ranges, [0..4, 4..6]);
        assert_eq!(balanced_ranges(&offsets, 1), vec![0..6]);
        assert_eq!(balanced_ranges(&[0, 5], 2), vec![0..1]);
    }
}
