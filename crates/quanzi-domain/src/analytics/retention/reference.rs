//! A brute-force retention table straight from the definitions, member by member with
//! plain loops and no sorting, to check [`retention`] against in property tests.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::analytics::funnel::EventColumns;

type Cells = BTreeMap<(Option<u32>, i64), (u64, Vec<Option<u64>>)>;

fn reference(events: &EventColumns, spec: &RetentionSpec) -> Cells {
    let width = spec.periods() as usize + 1;
    let Some(end) = events.ts().iter().max().map(|&ts| spec.period_of(ts)) else {
        return Cells::new();
    };
    let mut cells = Cells::new();
    for member in 0..events.member_count() {
        let rows: Vec<usize> = (0..events.len())
            .filter(|&r| events.member()[r] == member)
            .collect();
        let ts = |r: usize| events.ts()[r];
        let channel = |r: usize| events.breakdown().map_or(u32::MAX, |b| b[r]);
        let starts: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| events.event()[r] == spec.start())
            .collect();
        let returns: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| events.event()[r] == spec.return_event())
            .collect();
        // The earliest start in a set of starts, ties to the lowest breakdown code.
        let earliest = |among: &[usize]| among.iter().copied().min_by_key(|&r| (ts(r), channel(r)));
        let Some(first) = earliest(&starts) else {
            continue;
        };
        let breakdown = (spec.breakdown()).then(|| channel(first));
        let mut anchors = vec![first];
        if spec.kind() == CohortKind::Recurring {
            let mut periods: Vec<i64> = starts.iter().map(|&r| spec.period_of(ts(r))).collect();
            periods.sort_unstable();
            periods.dedup();
            anchors = periods
                .iter()
                .map(|&p| {
                    let within: Vec<usize> = starts
                        .iter()
                        .copied()
                        .filter(|&r| spec.period_of(ts(r)) == p)
                        .collect();
                    earliest(&within).unwrap()
                })
                .collect();
        }
        for anchor in anchors {
            let cohort = spec.period_of(ts(anchor));
            let cell = cells
                .entry((breakdown, cohort))
                .or_insert_with(|| (0, vec![Some(0); width]));
            cell.0 += 1;
            for k in 0..width {
                let target = cohort + k as i64;
                if target > end {
                    cell.1[k] = None;
                    continue;
                }
                let retained = returns.iter().any(|&r| {
                    let period = spec.period_of(ts(r));
                    r != anchor
                        && ts(r) >= ts(anchor)
                        && match spec.mode() {
                            RetentionMode::On => period == target,
                            RetentionMode::Unbounded => period >= target,
                        }
                });
                if retained {
                    *cell.1[k].as_mut().unwrap() += 1;
                }
            }
        }
    }
    cells
}

fn spec() -> impl Strategy<Value = RetentionSpec> {
    (
        0u32..3,
        0u32..3,
        prop_oneof![Just(Period::Day), Just(Period::Week), Just(Period::Month)],
        0u32..6,
        prop_oneof![Just(RetentionMode::On), Just(RetentionMode::Unbounded)],
        prop_oneof![Just(CohortKind::FirstTime), Just(CohortKind::Recurring)],
        prop_oneof![Just(0i64), Just(28_800), Just(-18_000), Just(19_800)],
        any::<bool>(),
    )
        .prop_map(
            |(start, back, period, periods, mode, kind, offset, breakdown)| {
                RetentionSpec::new(start, back, period, periods)
                    .unwrap()
                    .with_mode(mode)
                    .with_kind(kind)
                    .with_offset(UtcOffset::from_seconds(offset).unwrap())
                    .with_breakdown(breakdown)
            },
        )
}

/// Events of a few members over about a hundred days (some before 1970), in the same
/// second now and then.
fn events() -> impl Strategy<Value = EventColumns> {
    prop::collection::vec(
        (
            0u32..8,
            -5i64..100,
            prop_oneof![Just(0i64), 0i64..86_400],
            0u32..4,
            0u32..3,
        ),
        0..60,
    )
    .prop_map(|rows| {
        EventColumns::new(
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1 * 86_400 + r.2).collect(),
            rows.iter().map(|r| r.3).collect(),
            Some(rows.iter().map(|r| r.4).collect()),
        )
        .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_the_brute_force_definition(events in events(), spec in spec(), threads in 1usize..4) {
        let table = retention(&events, &spec, threads).unwrap();
        let expected = reference(&events, &spec);
        let got: Cells = table
            .cohorts()
            .iter()
            .map(|c| ((c.breakdown(), c.period), (c.size(), c.retained().to_vec())))
            .collect();
        prop_assert_eq!(&got, &expected);

        // Overall rows add up the observable cells of their cohorts.
        for overall in table.overall() {
            let mine: Vec<&Cohort> = table
                .cohorts()
                .iter()
                .filter(|c| c.breakdown() == overall.breakdown())
                .collect();
            prop_assert_eq!(overall.size(), mine.iter().map(|c| c.size()).sum::<u64>());
            for k in 0..=spec.periods() as usize {
                let eligible: u64 = mine.iter().filter(|c| c.retained()[k].is_some()).map(|c| c.size()).sum();
                let retained: u64 = mine.iter().filter_map(|c| c.retained()[k]).sum();
                prop_assert_eq!(overall.eligible()[k], eligible);
                prop_assert_eq!(overall.retained()[k], retained);
            }
        }
        // Unbounded retention never rises with the offset.
        if spec.mode() == RetentionMode::Unbounded {
            for cohort in table.cohorts() {
                let cells: Vec<u64> = cohort.retained().iter().flatten().copied().collect();
                prop_assert!(cells.windows(2).all(|w| w[0] >= w[1]));
            }
        }
        // Every member with a start event is in exactly one first-time cohort.
        if spec.kind() == CohortKind::FirstTime {
            let sizes: u64 = table.cohorts().iter().map(|c| c.size()).sum();
            prop_assert_eq!(sizes, table.definition().members());
        }
    }

    #[test]
    fn the_order_of_the_rows_does_not_matter(events in events(), spec in spec(), rotation in 0usize..60) {
        let n = events.len();
        let order: Vec<usize> = (0..n).map(|i| (i + rotation) % n.max(1)).collect();
        let rotated = EventColumns::new(
            order.iter().map(|&i| events.member()[i]).collect(),
            order.iter().map(|&i| events.ts()[i]).collect(),
            order.iter().map(|&i| events.event()[i]).collect(),
            events.breakdown().map(|b| order.iter().map(|&i| b[i]).collect()),
        )
        .unwrap();
        let (one, two) = (retention(&events, &spec, 1).unwrap(), retention(&rotated, &spec, 2).unwrap());
        prop_assert_eq!(one.cohorts(), two.cohorts());
    }
}
