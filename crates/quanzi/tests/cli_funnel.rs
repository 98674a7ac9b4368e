//! `quanzi analyze funnel` on a small event log whose answers are worked out by hand.

mod common;

use common::run;

/// Five members: u1 converts in 30 minutes; u2 adds to cart ten days after viewing (outside
/// a week); u3 asks for a refund between view and cart; u4 never views; u5 searches
/// between view and cart. Times mix epoch seconds and date-times.
const LOG: &str = "member_id,ts,event,channel
u1,2026-09-01 10:00:00,view,wechat
u1,2026-09-01 10:05:00,cart,wechat
u2,1788220800,view,douyin
u1,2026-09-01 10:30:00,pay,wechat
u3,2026-09-02 08:00:00,view,kol_li
u3,2026-09-02 08:01:00,refund,kol_li
u3,2026-09-02 08:02:00,cart,kol_li
u3,2026-09-02 08:03:00,pay,kol_li
u4,2026-09-03 09:00:00,cart,wechat
u5,2026-09-04 12:00:00,view,wechat
u5,2026-09-04 12:00:30,search,wechat
u5,2026-09-04 12:01:00,cart,wechat
u5,2026-09-04 12:02:00,pay,wechat
u2,2026-09-11 00:00:00,cart,douyin
";

/// `(breakdown, event) → members` from the command's CSV output.
fn members(csv: &str) -> Vec<(String, String, u64)> {
    csv.lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (
                cells[0].to_owned(),
                cells[2].to_owned(),
                cells[3].parse().unwrap(),
            )
        })
        .collect()
}

fn funnel(extra: &[&str]) -> (String, Vec<(String, String, u64)>) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.csv");
    std::fs::write(&input, LOG).unwrap();
    let output = dir.path().join("funnel.csv");
    let mut args = vec![
        "analyze",
        "funnel",
        "--input",
        input.to_str().unwrap(),
        "--steps",
        "view,cart,pay",
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, &[]);
    let csv = std::fs::read_to_string(&output).unwrap();
    (out, members(&csv))
}

fn totals(rows: &[(String, String, u64)]) -> Vec<u64> {
    rows.iter()
        .filter(|r| r.0 == "(all)")
        .map(|r| r.2)
        .collect()
}

#[test]
fn an_ordered_funnel_counts_members_per_step_within_a_week() {
    let (out, rows) = funnel(&[]);
    assert_eq!(totals(&rows), [4, 3, 3]);
    assert!(
        out.contains("ordered funnel view → cart → pay within 7d of the first step"),
        "{out}"
    );
    assert!(
        out.contains("5 members, 12 of 14 events considered"),
        "{out}"
    );
    // Conversion times 30m, 3m and 2m: the median is 3 minutes, the p90 30.
    assert!(out.contains("median 3m 0s   p90 30m 0s"), "{out}");
    assert!(out.contains("75.00 %"), "{out}");
    assert!(out.contains("timing        read"), "{out}");
}

#[test]
fn a_longer_window_an_exclusion_and_strict_mode_change_the_counts() {
    let (_, rows) = funnel(&["--window", "14d"]);
    assert_eq!(totals(&rows), [4, 4, 3]);
    let (_, rows) = funnel(&["--exclude", "refund"]);
    assert_eq!(totals(&rows), [4, 2, 2]);
    let (out, rows) = funnel(&["--mode", "strict"]);
    assert_eq!(totals(&rows), [4, 1, 1]);
    assert!(out.contains("strict funnel"), "{out}");
    // In any order, u4's lone cart is a first step too.
    let (out, rows) = funnel(&["--mode", "unordered"]);
    assert_eq!(totals(&rows), [5, 3, 3]);
    assert!(out.contains("2 of 3 steps"), "{out}");
}

#[test]
fn a_breakdown_places_each_member_by_the_channel_of_the_first_step() {
    let (out, rows) = funnel(&["--breakdown", "--exclude", "refund"]);
    let of = |channel: &str| -> Vec<u64> {
        rows.iter()
            .filter(|r| r.0 == channel)
            .map(|r| r.2)
            .collect()
    };
    assert_eq!(of("wechat"), [2, 2, 2]);
    assert_eq!(of("douyin"), [1, 0, 0]);
    assert_eq!(of("kol_li"), [1, 0, 0]);
    assert!(out.contains("by channel"), "{out}");
}

#[test]
fn an_unknown_step_is_refused_with_the_events_the_file_has() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.csv");
    std::fs::write(&input, LOG).unwrap();
    let output = std::process::Command::new(common::BIN)
        .args(["analyze", "funnel", "--input", input.to_str().unwrap()])
        .args(["--steps", "view,checkout"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("step `checkout` never occurs"), "{stderr}");
    assert!(
        stderr.contains("cart, pay, refund, search, view"),
        "{stderr}"
    );
}
