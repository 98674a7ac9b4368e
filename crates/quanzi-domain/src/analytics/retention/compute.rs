//! Computing a retention table: the start and return events grouped by member (a counting
//! sort on member codes), each member's events put in time order and walked once per
//! cohort, counts added up per cohort, on up to `threads` threads.

use std::collections::HashMap;

use super::definition::{CohortKind, RetentionMode, RetentionSpec};
use super::table::{Cohort, Overall, RetentionDefinition, RetentionTable};
use crate::analytics::funnel::EventColumns;
use crate::calendar::LocalDate;
use crate::input::InvalidInput;

/// A start or return event of one member.
#[derive(Debug, Clone, Copy)]
struct Item {
    ts: i64,
    /// Bit 0: a start event; bit 1: a return event (both when they are the same event).
    kind: u8,
    breakdown: u32,
}

const START: u8 = 1;
const RETURN: u8 = 2;
/// The breakdown of members without a breakdown.
const NONE: u32 = u32::MAX;

impl Item {
    /// Time order; in the same second starts come first and, among them, the lowest
    /// breakdown code, so a member's first start and its breakdown value do not depend on
    /// the order of the input.
    fn key(&self) -> (i64, bool, u32) {
        (self.ts, self.kind & START == 0, self.breakdown)
    }
}

/// Counts per (breakdown code, cohort period).
type CohortCounts = HashMap<(u32, i64), Counts>;

/// Per-cohort counts while walking members.
#[derive(Debug, Clone)]
struct Counts {
    size: u64,
    retained: Vec<u64>,
}

/// The retention table of `events` as `spec` defines it (see the module documentation),
/// on up to `threads` threads. Fails only when `spec` asks for a breakdown the events do
/// not have.
pub fn retention(
    events: &EventColumns,
    spec: &RetentionSpec,
    threads: usize,
) -> Result<RetentionTable, InvalidInput> {
    let breakdown =
        match (spec.breakdown(), events.breakdown()) {
            (false, _) => None,
            (true, Some(codes)) => Some(codes),
            (true, None) => return Err(InvalidInput::new(
                "breakdown",
                "the events have no breakdown column (such as channel) to break retention down by",
            )),
        };
    let (start, back) = (spec.start(), spec.return_event());
    let kind_of = |event: u32| u8::from(event == start) | (u8::from(event == back) << 1);

    // Group the start and return events by member: count, then place.
    let members = events.member_count() as usize;
    let mut offsets = vec![0usize; members + 1];
    for (&member, &event) in events.member().iter().zip(events.event()) {
        if kind_of(event) != 0 {
            offsets[member as usize + 1] += 1;
        }
    }
    for m in 0..members {
        offsets[m + 1] += offsets[m];
    }
    let considered = offsets[members];
    let mut items = vec![
        Item {
            ts: 0,
            kind: 0,
            breakdown: NONE,
        };
        considered
    ];
    let mut cursor = offsets.clone();
    for (row, (&member, &event)) in events.member().iter().zip(events.event()).enumerate() {
        let kind = kind_of(event);
        if kind != 0 {
            let at = &mut cursor[member as usize];
            items[*at] = Item {
                ts: events.ts()[row],
                kind,
                breakdown: breakdown.map_or(NONE, |codes| codes[row]),
            };
            *at += 1;
        }
    }
    drop(cursor);

    let last = events.ts().iter().copied().max();
    let last_period = last.map(|ts| spec.period_of(ts));

    // Members split into ranges of about equal numbers of events, one per thread.
    let threads = threads.clamp(1, members.max(1));
    let mut bounds: Vec<usize> = (0..threads)
        .map(|t| offsets.partition_point(|&o| o < considered * t / threads))
        .collect();
    bounds.push(members);
    let parts: Vec<(CohortCounts, u64)> = std::thread::scope(|scope| {
        let mut rest = &mut items[..];
        let workers: Vec<_> = bounds
            .windows(2)
            .map(|range| {
                let members = &offsets[range[0]..=range[1]];
                let (mine, tail) =
                    std::mem::take(&mut rest).split_at_mut(members[members.len() - 1] - members[0]);
                rest = tail;
                scope.spawn(move || walk_members(spec, members, mine))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("retention does not panic"))
            .collect()
    });
    let mut counts = CohortCounts::new();
    let mut starters = 0;
    for (part, members) in parts {
        starters += members;
        for (key, c) in part {
            let into = counts.entry(key).or_insert_with(|| Counts {
                size: 0,
                retained: vec![0; c.retained.len()],
            });
            into.size += c.size;
            for (a, b) in into.retained.iter_mut().zip(&c.retained) {
                *a += b;
            }
        }
    }
    Ok(table(
        spec,
        counts,
        last_period,
        RetentionDefinition {
            spec: spec.clone(),
            members: starters,
            events_considered: considered as u64,
            events_total: events.len() as u64,
            last_period: last_period
                .map(|p| LocalDate::from_day_number(spec.period().first_day(p))),
        },
    ))
}

/// Walks the members whose items are `items` (member `i`'s are `offsets[i] - offsets[0]
/// .. offsets[i + 1] - offsets[0]`), returning counts per (breakdown, cohort period) and
/// the number of members with a start event.
fn walk_members(
    spec: &RetentionSpec,
    offsets: &[usize],
    items: &mut [Item],
) -> (CohortCounts, u64) {
    let base = offsets[0];
    let width = spec.periods() as usize + 1;
    let mut counts = CohortCounts::new();
    let mut starters = 0;
    let mut periods: Vec<i64> = Vec::new();
    let mut cohorts: Vec<(i64, usize)> = Vec::new();
    let mut marks = vec![false; width];
    for range in offsets.windows(2) {
        let member = &mut items[range[0] - base..range[1] - base];
        if member.is_empty() {
            continue;
        }
        member.sort_unstable_by_key(Item::key);
        let Some(first) = member.iter().position(|i| i.kind & START != 0) else {
            continue;
        };
        starters += 1;
        let breakdown = member[first].breakdown;
        periods.clear();
        periods.extend(member.iter().map(|i| spec.period_of(i.ts)));
        // Each cohort with its anchor: the first start event in its period.
        cohorts.clear();
        cohorts.push((periods[first], first));
        if spec.kind() == CohortKind::Recurring {
            for (i, item) in member.iter().enumerate().skip(first + 1) {
                if item.kind & START != 0 && periods[i] > cohorts.last().expect("one").0 {
                    cohorts.push((periods[i], i));
                }
            }
        }
        let last_return = member.iter().rposition(|i| i.kind & RETURN != 0);
        for &(cohort, anchor) in &cohorts {
            let c = counts.entry((breakdown, cohort)).or_insert_with(|| Counts {
                size: 0,
                retained: vec![0; width],
            });
            c.size += 1;
            match spec.mode() {
                RetentionMode::On => {
                    marks.fill(false);
                    // Returns after the anchor: in its own period (offset 0) only later
                    // ones or ones in the same second, never the anchor itself.
                    for (i, item) in member.iter().enumerate().skip(anchor + 1) {
                        if item.kind & RETURN == 0 {
                            continue;
                        }
                        let offset = (periods[i] - cohort) as usize;
                        if offset >= width {
                            break;
                        }
                        marks[offset] = true;
                    }
                    for (retained, &mark) in c.retained.iter_mut().zip(&marks) {
                        *retained += u64::from(mark);
                    }
                }
                RetentionMode::Unbounded => {
                    if let Some(last) = last_return.filter(|&last| last > anchor) {
                        let reach = ((periods[last] - cohort) as usize).min(width - 1);
                        for retained in &mut c.retained[..=reach] {
                            *retained += 1;
                        }
                    }
                }
            }
        }
    }
    (counts, starters)
}

/// Cohorts in order with unobservable cells blanked, and the overall rows.
fn table(
    spec: &RetentionSpec,
    counts: CohortCounts,
    last_period: Option<i64>,
    definition: RetentionDefinition,
) -> RetentionTable {
    let width = spec.periods() as usize + 1;
    let last_period = last_period.unwrap_or(i64::MIN);
    let mut keys: Vec<(u32, i64)> = counts.keys().copied().collect();
    keys.sort_unstable();
    let mut cohorts = Vec::with_capacity(keys.len());
    let mut overall: Vec<Overall> = Vec::new();
    for key in keys {
        let (breakdown, period) = key;
        let c = &counts[&key];
        let breakdown = (breakdown != NONE).then_some(breakdown);
        if overall.last().is_none_or(|o| o.breakdown != breakdown) {
            overall.push(Overall {
                breakdown,
                size: 0,
                eligible: vec![0; width],
                retained: vec![0; width],
            });
        }
        let row = overall.last_mut().expect("pushed");
        row.size += c.size;
        let retained: Vec<Option<u64>> = (0..width)
            .map(|k| (period + k as i64 <= last_period).then_some(c.retained[k]))
            .collect();
        for (k, cell) in retained.iter().enumerate() {
            if let Some(r) = cell {
                row.eligible[k] += c.size;
                row.retained[k] += r;
            }
        }
        let first_day = spec.period().first_day(period);
        cohorts.push(Cohort {
            breakdown,
            period,
            start: LocalDate::from_day_number(first_day),
            start_ts: spec.offset().start_of_day(first_day),
            size: c.size,
            retained,
        });
    }
    RetentionTable {
        cohorts,
        overall,
        definition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::retention::{Period, UtcOffset};

    const DAY: i64 = 86_400;
    const HOUR: i64 = 3_600;
    const SIGNUP: u32 = 0;
    const PURCHASE: u32 = 1;

    /// `(member, ts, event, channel)` rows.
    fn table(rows: &[(u32, i64, u32, u32)]) -> EventColumns {
        EventColumns::new(
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1).collect(),
            rows.iter().map(|r| r.2).collect(),
            Some(rows.iter().map(|r| r.3).collect()),
        )
        .unwrap()
    }

    /// a: signs up day 0 10:00, buys 12:00 and on day 2; b: signs up day 0 09:00, buys day
    /// 1; c: signs up day 1 and never buys; d: buys without signing up.
    fn shop() -> EventColumns {
        table(&[
            (0, 10 * HOUR, SIGNUP, 0),
            (0, 12 * HOUR, PURCHASE, 0),
            (0, 2 * DAY, PURCHASE, 0),
            (1, 9 * HOUR, SIGNUP, 1),
            (1, DAY + HOUR, PURCHASE, 1),
            (2, DAY + 5 * HOUR, SIGNUP, 1),
            (3, 0, PURCHASE, 0),
        ])
    }

    fn cells(table: &RetentionTable) -> Vec<(u64, Vec<Option<u64>>)> {
        table
            .cohorts()
            .iter()
            .map(|c| (c.size(), c.retained().to_vec()))
            .collect()
    }

    #[test]
    fn daily_first_time_retention_on_and_unbounded() {
        let spec = RetentionSpec::new(SIGNUP, PURCHASE, Period::Day, 3).unwrap();
        let on = retention(&shop(), &spec, 2).unwrap();
        assert_eq!(
            cells(&on),
            [
                (2, vec![Some(1), Some(1), Some(1), None]),
                (1, vec![Some(0), Some(0), None, None]),
            ]
        );
        assert_eq!(on.cohorts()[0].start().to_string(), "1970-01-01");
        assert_eq!(on.cohorts()[1].rate(0), Some(0.0));
        assert_eq!(on.cohorts()[0].rate(1), Some(0.5));
        assert_eq!(on.cohorts()[0].rate(3), None);
        let overall = &on.overall()[0];
        assert_eq!(overall.eligible(), [3, 3, 2, 0]);
        assert_eq!(overall.retained(), [1, 1, 1, 0]);
        assert_eq!(overall.rate(3), None);
        let definition = on.definition();
        assert_eq!(
            (definition.members(), definition.events_considered()),
            (3, 7)
        );
        let text = definition.describe(|c| ["signup", "purchase"][c as usize].to_owned());
        assert!(text.contains("`signup` → `purchase`"), "{text}");

        let unbounded = retention(
            &shop(),
            &spec.clone().with_mode(RetentionMode::Unbounded),
            1,
        )
        .unwrap();
        assert_eq!(
            cells(&unbounded),
            [
                (2, vec![Some(2), Some(2), Some(1), None]),
                (1, vec![Some(0), Some(0), None, None]),
            ]
        );
    }

    #[test]
    fn the_breakdown_is_the_channel_of_the_first_start() {
        let spec = RetentionSpec::new(SIGNUP, PURCHASE, Period::Day, 1)
            .unwrap()
            .with_breakdown(true);
        let by_channel = retention(&shop(), &spec, 1).unwrap();
        let rows: Vec<(Option<u32>, u64, Vec<Option<u64>>)> = by_channel
            .cohorts()
            .iter()
            .map(|c| (c.breakdown(), c.size(), c.retained().to_vec()))
            .collect();
        assert_eq!(
            rows,
            [
                (Some(0), 1, vec![Some(1), Some(0)]),
                (Some(1), 1, vec![Some(0), Some(1)]),
                (Some(1), 1, vec![Some(0), Some(0)]),
            ]
        );
        assert_eq!(by_channel.overall().len(), 2);
        let no_channel = EventColumns::new(vec![0], vec![0], vec![0], None).unwrap();
        assert!(retention(&no_channel, &spec, 1).is_err());
    }

    #[test]
    fn recurring_weekly_cohorts_with_the_same_start_and_return_event() {
        const OPEN: u32 = 5;
        // 2026-11-30 is a Monday: weeks w0 = Nov 30, w1 = Dec 7, w2, w3.
        let monday = 1_795_996_800;
        let week = 7 * DAY;
        let events = table(&[
            (0, monday, OPEN, 0),
            (0, monday + DAY, OPEN, 0),
            (0, monday + week, OPEN, 0),
            (0, monday + 3 * week + 4 * DAY, OPEN, 0),
            (1, monday + week + DAY, OPEN, 0),
        ]);
        let spec = RetentionSpec::new(OPEN, OPEN, Period::Week, 3)
            .unwrap()
            .with_kind(CohortKind::Recurring);
        let recurring = retention(&events, &spec, 2).unwrap();
        assert_eq!(
            cells(&recurring),
            [
                (1, vec![Some(1), Some(1), Some(0), Some(1)]),
                (2, vec![Some(0), Some(0), Some(1), None]),
                (1, vec![Some(0), None, None, None]),
            ]
        );
        assert_eq!(recurring.cohorts()[1].start().to_string(), "2026-12-07");
        let first_time = retention(&events, &spec.with_kind(CohortKind::FirstTime), 1).unwrap();
        assert_eq!(
            cells(&first_time),
            [
                (1, vec![Some(1), Some(1), Some(0), Some(1)]),
                (1, vec![Some(0), Some(0), Some(0), None]),
            ]
        );
    }

    #[test]
    fn months_follow_the_calendar_of_the_offset() {
        // 2026-11-30 16:30 UTC is 2026-12-01 00:30 in Shanghai.
        let late_november_utc = 1_795_996_800 + 16 * HOUR + 30 * 60;
        let events = table(&[
            (0, late_november_utc, SIGNUP, 0),
            (0, late_november_utc + 40 * DAY, PURCHASE, 0),
        ]);
        let spec = RetentionSpec::new(SIGNUP, PURCHASE, Period::Month, 2).unwrap();
        let utc = retention(&events, &spec, 1).unwrap();
        assert_eq!(utc.cohorts()[0].start().to_string(), "2026-11-01");
        assert_eq!(cells(&utc), [(1, vec![Some(0), Some(0), Some(1)])]);
        let shanghai = spec.with_offset(UtcOffset::from_seconds(8 * HOUR).unwrap());
        let local = retention(&events, &shanghai, 1).unwrap();
        assert_eq!(local.cohorts()[0].start().to_string(), "2026-12-01");
        assert_eq!(local.cohorts()[0].start_ts(), 1_796_083_200 - 8 * HOUR);
        assert_eq!(cells(&local), [(1, vec![Some(0), Some(1), None])]);
    }
}
