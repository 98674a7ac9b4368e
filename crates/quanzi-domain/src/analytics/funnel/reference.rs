//! A brute-force funnel to check the fast one against: every member's events sorted
//! independently, every possible start tried, ordered steps matched exhaustively (every
//! choice of occurrence, not greedily), and the definitions of the module documentation
//! applied literally. Quadratic and worse; for tiny random tables only.

use proptest::prelude::*;

use super::*;

/// A member's result: depth, the breakdown code of the counted attempt's first event, and
/// the time to convert when the last step was reached.
type Expected = (usize, u32, Option<i64>);

fn reference(events: &EventColumns, definition: &FunnelDefinition) -> Vec<Expected> {
    let steps = definition.steps();
    let step_of = |code: u32| steps.iter().position(|&s| s == code);
    let excluded = |code: u32| definition.exclusions().contains(&code);
    let rank = |code: u32| match step_of(code) {
        _ if excluded(code) => 0,
        Some(k) => k + 1,
        None => 1000,
    };
    let window = definition.window().seconds();
    let mode = definition.mode();
    let mut out = Vec::new();
    for member in 0..events.member_count() {
        let mut rows: Vec<usize> = (0..events.len())
            .filter(|&i| events.member()[i] == member)
            .collect();
        rows.sort_by_key(|&i| (events.ts()[i], rank(events.event()[i]), i));
        let ts: Vec<i64> = rows.iter().map(|&i| events.ts()[i]).collect();
        let code: Vec<u32> = rows.iter().map(|&i| events.event()[i]).collect();
        // For every start, the position where each depth was first reached.
        let mut best: Option<(usize, usize, usize)> = None; // (depth, reach, start)
        for s in 0..rows.len() {
            let Some(first) = step_of(code[s]) else {
                continue;
            };
            if first != 0 && mode != FunnelMode::Unordered {
                continue;
            }
            let mut reach = vec![usize::MAX; steps.len() + 1];
            reach[1] = s;
            // Where the attempt can no longer go: the window's end or an exclusion.
            let stop = (s + 1..rows.len())
                .find(|&p| ts[p] - ts[s] > window || excluded(code[p]))
                .unwrap_or(rows.len());
            match mode {
                FunnelMode::Ordered => exhaustive(s, 1, stop, &code, &step_of, &mut reach),
                FunnelMode::Strict => {
                    let mut level = 1;
                    for (p, &c) in code.iter().enumerate().take(stop).skip(s + 1) {
                        if step_of(c) != Some(level) {
                            break;
                        }
                        level += 1;
                        reach[level] = p;
                        if level == steps.len() {
                            break;
                        }
                    }
                }
                FunnelMode::Unordered => {
                    let mut seen = vec![false; steps.len()];
                    seen[first] = true;
                    let mut distinct = 1;
                    for (p, &c) in code.iter().enumerate().take(stop).skip(s + 1) {
                        if let Some(k) = step_of(c) {
                            if !seen[k] {
                                seen[k] = true;
                                distinct += 1;
                                reach[distinct] = p;
                            }
                        }
                    }
                }
            }
            let depth = (1..=steps.len())
                .rev()
                .find(|&d| reach[d] != usize::MAX)
                .expect("depth 1 at least");
            let candidate = (depth, reach[depth], s);
            best = Some(match best {
                None => candidate,
                Some(b) if depth > b.0 => candidate,
                // Same depth: the earlier reach wins, then the later start.
                Some(b)
                    if depth == b.0
                        && (reach[depth], std::cmp::Reverse(s)) < (b.1, std::cmp::Reverse(b.2)) =>
                {
                    candidate
                }
                Some(b) => b,
            });
        }
        let expected = match best {
            None => (0, 0, None),
            Some((depth, reach, start)) => (
                depth,
                events.breakdown().map_or(0, |b| b[rows[start]]),
                (depth == steps.len()).then(|| ts[reach] - ts[start]),
            ),
        };
        out.push(expected);
    }
    out
}

/// Every way to take step `level + 1` after position `at` before `stop`, recording the
/// earliest position each depth is reached at.
fn exhaustive(
    at: usize,
    level: usize,
    stop: usize,
    code: &[u32],
    step_of: &impl Fn(u32) -> Option<usize>,
    reach: &mut [usize],
) {
    if level == reach.len() - 1 {
        return;
    }
    for p in at + 1..stop {
        if step_of(code[p]) == Some(level) {
            reach[level + 1] = reach[level + 1].min(p);
            exhaustive(p, level + 1, stop, code, step_of, reach);
        }
    }
}

/// Members per step, rows per breakdown code, sorted conversion times.
type ExpectedReport = (Vec<u64>, Vec<(u32, Vec<u64>)>, Vec<i64>);

/// The report the reference's per-member results add up to.
fn expected_report(events: &EventColumns, definition: &FunnelDefinition) -> ExpectedReport {
    let n = definition.steps().len();
    let members = reference(events, definition);
    let mut reached = vec![0u64; n];
    let mut by_code = std::collections::BTreeMap::<u32, Vec<u64>>::new();
    let mut elapsed = Vec::new();
    for &(depth, code, time) in &members {
        for r in reached.iter_mut().take(depth) {
            *r += 1;
        }
        if depth > 0 && definition.breakdown() {
            let row = by_code.entry(code).or_insert_with(|| vec![0; n]);
            for r in row.iter_mut().take(depth) {
                *r += 1;
            }
        }
        elapsed.extend(time);
    }
    let mut rows: Vec<(u32, Vec<u64>)> = by_code.into_iter().collect();
    rows.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then(a.0.cmp(&b.0)));
    elapsed.sort_unstable();
    (reached, rows, elapsed)
}

fn check(events: &EventColumns, definition: &FunnelDefinition, threads: usize) {
    let report = funnel_with_threads(events, definition, threads).unwrap();
    let (reached, rows, elapsed) = expected_report(events, definition);
    let got: Vec<u64> = report.steps().iter().map(|s| s.members()).collect();
    assert_eq!(got, reached, "{definition:?}");
    assert!(got.windows(2).all(|w| w[0] >= w[1]));
    let got_rows: Vec<(u32, Vec<u64>)> = report
        .breakdown()
        .iter()
        .map(|r| (r.code(), r.members().to_vec()))
        .collect();
    assert_eq!(got_rows, rows, "{definition:?}");
    let ttc = report.time_to_convert();
    assert_eq!(ttc.converted(), elapsed.len() as u64);
    let nearest = |q: f64| {
        (!elapsed.is_empty()).then(|| {
            elapsed[((q * elapsed.len() as f64).ceil() as usize).clamp(1, elapsed.len()) - 1]
        })
    };
    assert_eq!(ttc.median(), nearest(0.5));
    assert_eq!(ttc.p90(), nearest(0.9));
    let in_histogram: u64 = ttc.histogram().iter().map(|b| b.members()).sum();
    assert_eq!(in_histogram, elapsed.len() as u64);
}

fn table() -> impl Strategy<Value = EventColumns> {
    prop::collection::vec((0u32..5, 0i64..40, 0u32..7, 0u32..3), 0..45).prop_map(|rows| {
        EventColumns::new(
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1).collect(),
            rows.iter().map(|r| r.2).collect(),
            Some(rows.iter().map(|r| r.3).collect()),
        )
        .expect("one length")
    })
}

fn definition() -> impl Strategy<Value = FunnelDefinition> {
    (
        Just((0u32..7).collect::<Vec<_>>()).prop_shuffle(),
        1usize..5,
        0usize..3,
        prop_oneof![
            Just(FunnelMode::Ordered),
            Just(FunnelMode::Strict),
            Just(FunnelMode::Unordered)
        ],
        1i64..25,
        any::<bool>(),
    )
        .prop_map(|(codes, steps, exclusions, mode, window, breakdown)| {
            let window = ConversionWindow::from_seconds(window).unwrap();
            FunnelDefinition::new(codes[..steps].to_vec(), mode, window)
                .unwrap()
                .with_exclusions(codes[steps..steps + exclusions].to_vec())
                .unwrap()
                .with_breakdown(breakdown)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_fast_funnel_agrees_with_brute_force(events in table(), definition in definition()) {
        check(&events, &definition, 1);
    }

    #[test]
    fn threads_do_not_change_the_result(events in table(), definition in definition()) {
        let one = funnel_with_threads(&events, &definition, 1).unwrap();
        let three = funnel_with_threads(&events, &definition, 3).unwrap();
        prop_assert_eq!(one, three);
    }
}

/// A table from `(member, ts, event, channel)` rows with one-letter events.
fn events(rows: &[(u32, i64, char, u32)]) -> EventColumns {
    EventColumns::new(
        rows.iter().map(|r| r.0).collect(),
        rows.iter().map(|r| r.1).collect(),
        rows.iter().map(|r| r.2 as u32 - 'a' as u32).collect(),
        Some(rows.iter().map(|r| r.3).collect()),
    )
    .unwrap()
}

fn define(steps: &str, mode: FunnelMode, window: i64, exclusions: &str) -> FunnelDefinition {
    let codes = |s: &str| s.chars().map(|c| c as u32 - 'a' as u32).collect::<Vec<_>>();
    FunnelDefinition::new(
        codes(steps),
        mode,
        ConversionWindow::from_seconds(window).unwrap(),
    )
    .unwrap()
    .with_exclusions(codes(exclusions))
    .unwrap()
    .with_breakdown(true)
}

fn members(report: &FunnelReport) -> Vec<u64> {
    report.steps().iter().map(|s| s.members()).collect()
}

#[test]
fn ordered_lets_other_events_in_between_and_keeps_the_window_from_the_first_step() {
    let log = events(&[
        // Member 0 converts with noise in between, 100 s after the first step.
        (0, 0, 'a', 0),
        (0, 10, 'x', 0),
        (0, 50, 'b', 0),
        (0, 100, 'c', 0),
        // Member 1 reaches c 200 s after a: outside a 150 s window, so stops at b...
        (1, 0, 'a', 1),
        (1, 100, 'b', 1),
        (1, 200, 'c', 1),
        // ...member 2 too, but a later a restarts the clock and converts (channel 2).
        (2, 0, 'a', 1),
        (2, 100, 'b', 1),
        (2, 120, 'a', 2),
        (2, 130, 'b', 2),
        (2, 260, 'c', 2),
        // Member 3 does the steps out of order: only a counts.
        (3, 0, 'c', 0),
        (3, 5, 'b', 0),
        (3, 9, 'a', 0),
    ]);
    let report = funnel(&log, &define("abc", FunnelMode::Ordered, 150, "")).unwrap();
    assert_eq!(members(&report), [4, 3, 2]);
    assert_eq!(report.steps()[1].from_previous(), Some(0.75));
    assert_eq!(report.steps()[2].overall(), Some(0.5));
    let ttc = report.time_to_convert();
    assert_eq!((ttc.median(), ttc.p90()), (Some(100), Some(140)));
    let rows: Vec<(u32, Vec<u64>)> = report
        .breakdown()
        .iter()
        .map(|r| (r.code(), r.members().to_vec()))
        .collect();
    assert_eq!(
        rows,
        [(0, vec![2, 1, 1]), (1, vec![1, 1, 0]), (2, vec![1, 1, 1])]
    );
    let echo = report.definition();
    assert_eq!((echo.members_considered(), echo.events_total()), (4, 15));
    assert_eq!(echo.events_considered(), 14);
    assert_eq!(
        echo.describe(|c| char::from(b'a' + c as u8).to_string()),
        "ordered funnel a → b → c within 150s of the first step, broken down by the first \
         step's breakdown value; 4 members, 14 of 15 events considered"
    );
}

#[test]
fn strict_breaks_on_any_event_in_between() {
    let log = events(&[
        (0, 0, 'a', 0),
        (0, 1, 'b', 0),
        (0, 2, 'c', 0),
        (1, 0, 'a', 0),
        (1, 1, 'x', 0),
        (1, 2, 'b', 0),
        (2, 0, 'a', 0),
        (2, 1, 'b', 0),
        (2, 2, 'a', 0),
        (2, 3, 'b', 0),
        (2, 4, 'x', 0),
        (2, 5, 'c', 0),
        // Same second: the step order decides, so b then c follow a.
        (3, 7, 'c', 0),
        (3, 7, 'b', 0),
        (3, 7, 'a', 0),
    ]);
    let report = funnel(&log, &define("abc", FunnelMode::Strict, 60, "")).unwrap();
    assert_eq!(members(&report), [4, 3, 2]);
    assert_eq!(report.definition().events_considered(), 15);
    let ordered = funnel(&log, &define("abc", FunnelMode::Ordered, 60, "")).unwrap();
    assert_eq!(members(&ordered), [4, 4, 3]);
}

#[test]
fn unordered_counts_distinct_steps_from_any_first_step() {
    let log = events(&[
        (0, 0, 'c', 3),
        (0, 5, 'a', 0),
        (0, 9, 'b', 0),
        (1, 0, 'b', 0),
        (1, 1, 'b', 0),
        (1, 50, 'a', 0),
        (2, 0, 'a', 0),
    ]);
    let report = funnel(&log, &define("abc", FunnelMode::Unordered, 60, "")).unwrap();
    assert_eq!(members(&report), [3, 2, 1]);
    assert_eq!(report.time_to_convert().median(), Some(9));
    assert_eq!(report.breakdown()[0].code(), 0);
    assert_eq!(report.breakdown()[1].code(), 3);
}

#[test]
fn an_exclusion_ends_the_attempt_but_a_new_first_step_starts_another() {
    let log = events(&[
        // a, b, then x (say, a refund): c after x does not count.
        (0, 0, 'a', 0),
        (0, 1, 'b', 0),
        (0, 2, 'x', 0),
        (0, 3, 'c', 0),
        // x before a does not matter; after x, a new a converts.
        (1, 0, 'x', 0),
        (1, 1, 'a', 0),
        (1, 2, 'x', 0),
        (1, 3, 'a', 0),
        (1, 4, 'b', 0),
        (1, 5, 'c', 0),
        // x in the same second as a is taken to come first.
        (2, 0, 'a', 0),
        (2, 0, 'x', 0),
        (2, 1, 'b', 0),
    ]);
    let with = funnel(&log, &define("abc", FunnelMode::Ordered, 60, "x")).unwrap();
    assert_eq!(members(&with), [3, 3, 1]);
    let without = funnel(&log, &define("abc", FunnelMode::Ordered, 60, "")).unwrap();
    assert_eq!(members(&without), [3, 3, 2]);
    let unordered = funnel(&log, &define("abc", FunnelMode::Unordered, 60, "x")).unwrap();
    assert_eq!(members(&unordered), [3, 3, 1]);
    assert_eq!(with.definition().events_considered(), 13);
}

#[test]
fn a_breakdown_needs_a_breakdown_column() {
    let log = EventColumns::new(vec![0], vec![0], vec![0], None).unwrap();
    let definition = define("a", FunnelMode::Ordered, 60, "");
    assert_eq!(funnel(&log, &definition).unwrap_err().field(), "breakdown");
    let report = funnel(&log, &definition.with_breakdown(false)).unwrap();
    assert_eq!(members(&report), [1]);
    assert!(report.breakdown().is_empty());
}

#[test]
fn the_synthetic_log_agrees_with_brute_force_in_every_mode() {
    let log = synthetic_events(3_000, 3).to_columns();
    for mode in [
        FunnelMode::Ordered,
        FunnelMode::Strict,
        FunnelMode::Unordered,
    ] {
        // view_item → add_to_cart → begin_checkout → add_payment_info → purchase, 1 day.
        let definition = FunnelDefinition::new(
            vec![2, 3, 4, 5, 6],
            mode,
            ConversionWindow::from_seconds(86_400).unwrap(),
        )
        .unwrap()
        .with_exclusions(vec![9])
        .unwrap()
        .with_breakdown(true);
        check(&log, &definition, 2);
    }
}
