//! `quanzi analyze rfm` and `quanzi analyze retention` on small files whose numbers can be
//! worked out by hand, and `quanzi bench rfm-data` feeding the first.

mod common;

use common::{field, run, BIN};

/// Five customers scored as of 2026-12-01 (n = 5, so a value's score is one plus its
/// first sorted position), and one whose only order comes later:
///
/// | customer | days | orders | fen  | R F M | segment |
/// | a        | 0    | 1      | 100  | 5 1 2 | new     |
/// | b, c     | 6    | 3      | 800  | 3 4 4 | loyal   |
/// | c        | 61   | 2      | 500  | 2 3 3 | at risk |
/// | d        | 2    | 5      | 5000 | 4 5 5 | loyal   |
/// | e        | 365  | 1      | 50   | 1 1 1 | lost    |
const ORDERS: &str = "order_id,customer_id,ts,amount_fen,refunded_fen\n\
    1,e,2025-12-01 00:00:00,50,0\n\
    2,c,2026-09-20 10:00:00,200,\n\
    3,\"b, c\",2026-11-01,300,100\n\
    4,c,1790812800,300,0\n\
    5,d,2026-11-10 00:00:00,1000,0\n\
    6,\"b, c\",2026-11-20 00:00:00,300,0\n\
    7,d,2026-11-21 00:00:00,1000,0\n\
    8,\"b, c\",2026-11-24 08:00:00,300,0\n\
    9,d,2026-11-26 00:00:00,1000,0\n\
    10,d,2026-11-28 00:00:00,1000,0\n\
    11,d,2026-11-29 00:00:00,1000,0\n\
    12,a,2026-11-30 12:00:00,100,0\n\
    13,f,2026-12-02 00:00:00,999,0\n";

#[test]
fn rfm_scores_segments_and_writes_every_customer() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    let output = dir.path().join("scores.csv");
    std::fs::write(&input, ORDERS).unwrap();
    let out = run(
        &[
            "analyze",
            "rfm",
            "--input",
            input.to_str().unwrap(),
            "--as-of",
            "2026-12-01",
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.contains("5 customers, 12 orders") && out.contains("1 later orders left out"),
        "{out}"
    );
    assert_eq!(field(&out, "loyal"), "2");
    assert_eq!(field(&out, "new"), "1");
    assert_eq!(field(&out, "lost"), "1");
    assert_eq!(field(&out, "champions"), "0");
    assert!(out.contains("recency  1–5    1 1 1 1 1"), "{out}");
    assert!(out.contains("frequency 1–5   2 0 1 1 1"), "{out}");
    // Σ score × monetary: 512·100 + 344·800 + 233·500 + 455·5000 + 111·50.
    assert_eq!(field(&out, "checksum"), "2723450");

    let scores = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = scores.lines().collect();
    assert_eq!(
        lines,
        [
            "customer_id,recency_days,frequency,monetary_fen,r,f,m,rfm,segment",
            "e,365,1,50,1,1,1,111,lost",
            "c,61,2,500,2,3,3,233,at risk",
            "\"b, c\",6,3,800,3,4,4,344,loyal",
            "d,2,5,5000,4,5,5,455,loyal",
            "a,0,1,100,5,1,2,512,new",
        ]
    );
}

#[test]
fn rfm_defaults_to_the_latest_order_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    std::fs::write(&input, ORDERS).unwrap();
    let out = run(&["analyze", "rfm", "--input", input.to_str().unwrap()], &[]);
    assert!(
        out.contains("as of 2026-12-02T00:00:00.000Z: 6 customers, 13 orders"),
        "{out}"
    );

    std::fs::write(
        &input,
        "customer_id,ts,amount_fen\na,1764547200,100\nb,soon,100\n",
    )
    .unwrap();
    let failed = std::process::Command::new(BIN)
        .args(["analyze", "rfm", "--input", input.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("ts: line 3: `soon` is not a time"),
        "{stderr}"
    );
}

#[test]
fn generated_orders_are_read_back_with_every_customer() {
    // Large enough (about 2 MB) that each reading thread streams several blocks.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    let generated = run(
        &[
            "bench",
            "rfm-data",
            "--orders",
            "60000",
            "--customers",
            "7000",
            "--output",
            input.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        generated.contains("60000 orders by 7000 customers"),
        "{generated}"
    );
    let mut written = Vec::new();
    for threads in ["1", "2", "3"] {
        let output = dir.path().join(format!("scores{threads}.csv"));
        let out = run(
            &[
                "analyze",
                "rfm",
                "--input",
                input.to_str().unwrap(),
                "--as-of",
                "2026-12-01",
                "--threads",
                threads,
                "--output",
                output.to_str().unwrap(),
            ],
            &[],
        );
        assert!(out.contains("7000 customers, 60000 orders"), "{out}");
        let monetary: usize = out
            .lines()
            .find(|l| l.starts_with("monetary 1–5"))
            .unwrap()
            .split_whitespace()
            .skip(2)
            .map(|n| n.parse::<usize>().unwrap())
            .sum();
        assert_eq!(monetary, 7000);
        written.push(std::fs::read_to_string(output).unwrap());
    }
    assert_eq!(written[0], written[1]);
    assert_eq!(written[0], written[2]);
}

/// a signs up on Monday 2026-11-02 at 10:00 UTC and buys at 12:00 and on Wednesday; b
/// signs up at 09:00 and buys at 20:00 UTC (Tuesday 04:00 in Shanghai); c signs up on
/// Tuesday and never buys; d buys without signing up.
const EVENTS: &str = "member_id,ts,event,channel\n\
    a,2026-11-02 10:00:00,signup,wechat\n\
    a,2026-11-02 12:00:00,purchase,wechat\n\
    a,2026-11-04 09:00:00,purchase,douyin\n\
    b,2026-11-02 09:00:00,signup,douyin\n\
    b,2026-11-02 20:00:00,purchase,douyin\n\
    c,2026-11-03 05:00:00,signup,douyin\n\
    d,2026-11-02 00:00:00,purchase,wechat\n";

fn retention(dir: &std::path::Path, extra: &[&str]) -> (String, String) {
    let input = dir.join("events.csv");
    let output = dir.join("retention.csv");
    std::fs::write(&input, EVENTS).unwrap();
    let mut args = vec![
        "analyze",
        "retention",
        "--input",
        input.to_str().unwrap(),
        "--start",
        "signup",
        "--return",
        "purchase",
        "--period",
        "day",
        "--periods",
        "3",
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, &[]);
    (out, std::fs::read_to_string(output).unwrap())
}

#[test]
fn retention_counts_daily_cohorts_in_the_offset_given() {
    let dir = tempfile::tempdir().unwrap();
    let (out, csv) = retention(dir.path(), &["--utc-offset", "0"]);
    assert!(
        out.contains("`signup` → `purchase`") && out.contains("3 members"),
        "{out}"
    );
    assert!(csv.contains("(all),2026-11-02,2,0,2,1.000000\n"), "{csv}");
    assert!(csv.contains("(all),2026-11-02,2,1,0,0.000000\n"), "{csv}");
    assert!(csv.contains("(all),2026-11-02,2,2,1,0.500000\n"), "{csv}");
    assert!(csv.contains("(all),2026-11-02,2,3,,\n"), "{csv}");
    assert!(csv.contains("(all),2026-11-03,1,1,0,0.000000\n"), "{csv}");
    assert!(csv.contains("(all),2026-11-03,1,2,,\n"), "{csv}");
    assert!(csv.contains("(all),overall,3,0,2,0.666667\n"), "{csv}");
    assert!(csv.contains("(all),overall,2,2,1,0.500000\n"), "{csv}");

    // In Shanghai (the default) b's purchase falls on the next day; unbounded retention
    // counts a purchase in a period or any later one.
    let (out, csv) = retention(dir.path(), &["--mode", "unbounded"]);
    assert!(out.contains("UTC+08:00"), "{out}");
    assert!(csv.contains("(all),2026-11-02,2,0,2,1.000000\n"), "{csv}");
    assert!(csv.contains("(all),2026-11-02,2,1,2,1.000000\n"), "{csv}");
    assert!(csv.contains("(all),2026-11-02,2,2,1,0.500000\n"), "{csv}");
}

#[test]
fn retention_breaks_down_by_the_channel_of_the_first_signup() {
    let dir = tempfile::tempdir().unwrap();
    let (out, csv) = retention(dir.path(), &["--by-channel"]);
    assert!(out.contains("wechat") && out.contains("douyin"), "{out}");
    assert!(csv.contains("wechat,2026-11-02,1,0,1,1.000000\n"), "{csv}");
    assert!(csv.contains("wechat,2026-11-02,1,2,1,1.000000\n"), "{csv}");
    assert!(csv.contains("douyin,2026-11-02,1,0,0,0.000000\n"), "{csv}");
    assert!(csv.contains("douyin,2026-11-02,1,1,1,1.000000\n"), "{csv}");
    assert!(csv.contains("douyin,2026-11-03,1,0,0,0.000000\n"), "{csv}");
    assert!(csv.contains("douyin,overall,2,0,0,0.000000\n"), "{csv}");

    let failed = std::process::Command::new(BIN)
        .args([
            "analyze",
            "retention",
            "--input",
            dir.path().join("events.csv").to_str().unwrap(),
            "--start",
            "sign_up",
            "--return",
            "purchase",
        ])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("--start: no event `sign_up`"), "{stderr}");
}
