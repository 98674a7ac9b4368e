//! `quanzi demo`: a brand made by the engine's own use cases, checked through them, and
//! replayed to the count by its seed.

mod common;

use std::collections::BTreeSet;

use common::run;
use quanzi_app::principal::Principal;
use quanzi_app::services::analytics::{experiments, metrics};
use quanzi_app::services::loyalty::ledger;
use quanzi_app::services::social::{group_buy, referral};
use quanzi_app::App;
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::{SystemClock, Timestamp};
use quanzi_store::{Store, StoreOptions};

/// A fixed end in the past, so two runs cover the same calendar days.
const UNTIL: &str = "2026-05-20T21:30:00+08:00";

fn demo(url: &str) -> String {
    run(
        &[
            "demo",
            "--members",
            "300",
            "--days",
            "30",
            "--seed",
            "7",
            "--until",
            UNTIL,
            "--database",
            url,
        ],
        &[],
    )
}

/// The rest of the line that starts with `label`.
fn line<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(label) && l[label.len()..].starts_with(' '))
        .map(|l| l[label.len()..].trim())
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{out}"))
}

/// The summary lines a seed must reproduce (the experiment's split by variant is left
/// out: the variant is hashed from the engine's random member ids).
const REPRODUCED: [&str; 19] = [
    "members",
    "identities",
    "merges",
    "events",
    "orders",
    "buyers",
    "gmv",
    "aov",
    "refunds",
    "coupons",
    "group buys",
    "flash sale",
    "referrals",
    "k-factor",
    "check-ins",
    "points",
    "exposures",
    "exposed buyers",
    "simulated",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_brand_is_made_through_the_engine_and_its_seed_replays_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let first = demo(&url);
    assert!(
        line(&first, "login").starts_with("demo@quanzi.local"),
        "{first}"
    );
    assert!(
        line(&first, "password")
            .split_whitespace()
            .next()
            .unwrap()
            .len()
            >= 10
    );
    assert!(line(&first, "api key").starts_with("qz_"));
    assert!(line(&first, "console").starts_with("http://127.0.0.1:"));
    let workspace = line(&first, "demo")
        .split(['(', ')'])
        .nth(1)
        .expect("the workspace id in the demo line")
        .to_owned();

    // Facts, read back through the store and the use cases.
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    let app = App::new(
        store.clone(),
        quanzi_app::config::Config::default(),
        std::sync::Arc::new(SystemClock),
    );
    let ws = WorkspaceId::parse(&workspace).unwrap();
    let principal = Principal::cli(ws.clone());

    let mut kinds = BTreeSet::new();
    let (mut members, mut merges, mut checked_in) = (0, 0, None);
    let mut after: Option<String> = None;
    loop {
        let page = store
            .members_page(&ws, after.as_deref(), 200)
            .await
            .unwrap();
        for member in &page.items {
            members += 1;
            for identity in store.member_identities(&ws, &member.id).await.unwrap() {
                kinds.insert(identity.kind.as_str());
            }
            merges += store.member_merges(&ws, &member.id).await.unwrap().len();
            if checked_in.is_none()
                && !store
                    .checkins_since(&ws, &member.id, "0000-00-00")
                    .await
                    .unwrap()
                    .is_empty()
            {
                checked_in = Some(member.id.clone());
            }
        }
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert!(members >= 280, "{members} members");
    for kind in [
        "wechat_openid",
        "wechat_unionid",
        "douyin_id",
        "tmall_id",
        "phone",
    ] {
        assert!(kinds.contains(kind), "no {kind} identity among {kinds:?}");
    }
    assert!(merges >= 1, "OneID merged nobody");

    let end = Timestamp::parse_rfc3339(UNTIL).unwrap();
    let start = end.minus(std::time::Duration::from_secs(31 * 86_400));
    let (period, _) = metrics::overview(&app, &principal, start, end)
        .await
        .unwrap();
    assert!(period.totals.orders > 20, "{:?}", period.totals);
    assert!(period.totals.refund_fen > 0, "no refunds");
    assert!(period.totals.new_members >= 280);

    let used: i64 = store
        .coupon_usage(&ws)
        .await
        .unwrap()
        .iter()
        .map(|u| u.used)
        .sum();
    assert!(used >= 1, "no coupon was used at checkout");

    let campaigns = group_buy::campaigns(&app, &principal).await.unwrap();
    assert_eq!(campaigns.len(), 1);
    let (groups, _) = group_buy::stats(&app, &principal, &campaigns[0].row.id)
        .await
        .unwrap();
    assert!(groups.succeeded >= 1, "{groups:?}");
    assert!(groups.failed >= 1, "{groups:?}");

    let programs = referral::programs(&app, &principal).await.unwrap();
    let bindings = store
        .referral_bindings(&ws, &programs[0].row.id)
        .await
        .unwrap();
    assert!(!bindings.is_empty(), "nobody was invited");
    assert!(
        bindings.iter().any(|b| b.qualified_at.is_some()),
        "no invitee bought"
    );

    let checked_in = checked_in.expect("somebody checked in");
    let history = ledger::history(&app, &principal, &checked_in, None, 50)
        .await
        .unwrap();
    assert!(
        !history.items.is_empty(),
        "a check-in left no points transfer"
    );
    let (liability, _) = ledger::liability(&app, &principal, 30).await.unwrap();
    let sources: BTreeSet<&str> = liability
        .sources
        .iter()
        .map(|s| s.source.as_str())
        .collect();
    assert!(sources.contains("checkin"), "{sources:?}");

    let results = experiments::results(&app, &principal, "home-redesign")
        .await
        .unwrap();
    let exposed: u64 = results.arms.iter().map(|a| a.members).sum();
    assert!(exposed >= 5, "{exposed} exposures");
    assert_eq!(results.arms.len(), 2);
    store.close().await;

    // A second run finds the demo, makes nothing, and shows the same figures.
    let again = demo(&url);
    assert!(line(&again, "demo").contains("already exists"), "{again}");
    assert!(
        line(&again, "password").contains("argon2id hash"),
        "{again}"
    );
    assert!(again.contains("quanzi demo --new-login"), "{again}");
    for label in ["members", "orders", "gmv", "group buys", "check-ins"] {
        assert_eq!(line(&first, label), line(&again, label), "{label}");
    }

    // The same seed on a fresh database replays the brand to the count.
    let other = format!("sqlite://{}", dir.path().join("replay.db").display());
    let replay = demo(&other);
    for label in REPRODUCED {
        assert_eq!(line(&first, label), line(&replay, label), "{label} differs");
    }
}
