//! Segment SQL against the reference evaluator, on random members and random conditions,
//! on both engines. Seeded, so a failure reproduces.

use std::collections::HashMap;
use std::time::Duration;

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::members::{ConsentChannel, EventType, LifecycleStage, RfmScore};
use quanzi_domain::segments::{Cmp, Condition, MemberFacts, ProfileField, RfmDimension, TraitTest};
use quanzi_domain::time::Timestamp;
use quanzi_store::testkit::{write_member_facts, TestDb};
use quanzi_store::{Backend, WorkspaceRow};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const NOW: Timestamp = Timestamp::from_millis(1_790_000_000_000);
const DAY: u64 = 86_400;

fn ago(rng: &mut StdRng, max_days: u64) -> Timestamp {
    // Up to five minutes in the future too: late and early clocks both happen.
    NOW.plus(Duration::from_secs(300))
        .minus(Duration::from_secs(rng.gen_range(0..max_days * DAY)))
}

fn maybe(rng: &mut StdRng, max_days: u64) -> Option<Timestamp> {
    rng.gen_bool(0.8).then(|| ago(rng, max_days))
}

const TYPES: [&str; 3] = ["share", "click", "page_view"];
const CITIES: [&str; 3] = ["杭州", "上海", "5"];

fn facts(rng: &mut StdRng) -> MemberFacts {
    let mut traits = HashMap::new();
    if rng.gen_bool(0.7) {
        traits.insert("city".to_owned(), CITIES[rng.gen_range(0..3)].to_owned());
    }
    if rng.gen_bool(0.5) {
        traits.insert(
            "gender".to_owned(),
            ["f", "m"][rng.gen_range(0..2)].to_owned(),
        );
    }
    MemberFacts {
        traits,
        created_at: ago(rng, 200),
        first_seen_at: maybe(rng, 200),
        last_seen_at: maybe(rng, 120),
        last_interaction_at: maybe(rng, 120),
        last_order_at: maybe(rng, 150),
        order_count: rng.gen_range(0..6),
        gmv_fen: rng.gen_range(0..50_000),
        refund_fen: rng.gen_range(0..5_000),
        event_count: rng.gen_range(0..20),
        rfm: rng.gen_bool(0.6).then(|| RfmScore {
            recency: rng.gen_range(1..=5),
            frequency: rng.gen_range(1..=5),
            monetary: rng.gen_range(1..=5),
        }),
        events: (0..rng.gen_range(0..6))
            .map(|_| (TYPES[rng.gen_range(0..3)].to_owned(), ago(rng, 60)))
            .collect(),
        orders: (0..rng.gen_range(0..4)).map(|_| ago(rng, 120)).collect(),
        consents: [ConsentChannel::Sms, ConsentChannel::Wecom]
            .into_iter()
            .filter(|_| rng.gen_bool(0.4))
            .collect(),
        tags: ["tag_a", "tag_b"]
            .into_iter()
            .filter(|_| rng.gen_bool(0.4))
            .map(str::to_owned)
            .collect(),
    }
}

fn cmp(rng: &mut StdRng) -> Cmp {
    [Cmp::Eq, Cmp::Ne, Cmp::Gt, Cmp::Gte, Cmp::Lt, Cmp::Lte][rng.gen_range(0..6)]
}

fn condition(rng: &mut StdRng, depth: usize) -> Condition {
    let leaf = depth >= 3 || rng.gen_bool(0.5);
    if !leaf {
        return match rng.gen_range(0..3) {
            0 => Condition::All(
                (0..rng.gen_range(0..4))
                    .map(|_| condition(rng, depth + 1))
                    .collect(),
            ),
            1 => Condition::Any(
                (0..rng.gen_range(0..4))
                    .map(|_| condition(rng, depth + 1))
                    .collect(),
            ),
            _ => Condition::Not(Box::new(condition(rng, depth + 1))),
        };
    }
    match rng.gen_range(0..8) {
        7 => Condition::Tag(["tag_a", "tag_b", "tag_c"][rng.gen_range(0..3)].to_owned()),
        6 => Condition::Consent(
            [
                ConsentChannel::Sms,
                ConsentChannel::Wecom,
                ConsentChannel::Email,
            ][rng.gen_range(0..3)],
        ),
        0 => Condition::Events {
            event_type: EventType::parse(TYPES[rng.gen_range(0..3)]).unwrap(),
            within_days: rng.gen_range(1..70),
            cmp: cmp(rng),
            count: rng.gen_range(-1..4),
        },
        1 => Condition::Orders {
            within_days: rng.gen_bool(0.7).then(|| rng.gen_range(1..130)),
            cmp: cmp(rng),
            count: rng.gen_range(-1..4),
        },
        2 => {
            let field = [
                ProfileField::OrderCount,
                ProfileField::GmvFen,
                ProfileField::RefundFen,
                ProfileField::EventCount,
                ProfileField::DaysSinceLastOrder,
                ProfileField::DaysSinceLastSeen,
                ProfileField::DaysSinceFirstSeen,
            ][rng.gen_range(0..7)];
            let value = match field {
                ProfileField::GmvFen => rng.gen_range(0..50_000),
                ProfileField::RefundFen => rng.gen_range(0..5_000),
                ProfileField::OrderCount | ProfileField::EventCount => rng.gen_range(0..10),
                _ => rng.gen_range(0..200),
            };
            Condition::Profile {
                field,
                cmp: cmp(rng),
                value,
            }
        }
        3 => Condition::Rfm {
            dimension: [
                RfmDimension::Recency,
                RfmDimension::Frequency,
                RfmDimension::Monetary,
            ][rng.gen_range(0..3)],
            cmp: cmp(rng),
            value: rng.gen_range(0..6),
        },
        4 => {
            let all = [
                LifecycleStage::New,
                LifecycleStage::Growing,
                LifecycleStage::Mature,
                LifecycleStage::ChurnRisk,
                LifecycleStage::Dormant,
            ];
            Condition::Lifecycle(all.into_iter().filter(|_| rng.gen_bool(0.4)).collect())
        }
        _ => {
            let name = ["city", "gender", "missing"][rng.gen_range(0..3)].to_owned();
            let value = || CITIES[0].to_owned();
            let test = match rng.gen_range(0..4) {
                0 => TraitTest::Exists,
                1 => TraitTest::Equals(if rng.gen_bool(0.5) {
                    value()
                } else {
                    CITIES[2].to_owned()
                }),
                2 => TraitTest::NotEquals(["f", "杭州"][rng.gen_range(0..2)].to_owned()),
                _ => TraitTest::OneOf(vec![CITIES[1].to_owned(), "m".to_owned()]),
            };
            Condition::Trait { name, test }
        }
    }
}

async fn sql_agrees_with_the_reference_evaluator(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut rng = StdRng::seed_from_u64(0x5e9_2026);
    let workspace = WorkspaceId::generate(NOW);
    let mut tx = store.begin().await.unwrap();
    tx.insert_workspace(&WorkspaceRow {
        id: workspace.clone(),
        name: "p".into(),
        time_zone: "Asia/Shanghai".into(),
        created_at: NOW,
    })
    .await
    .unwrap();
    let mut members = Vec::new();
    for i in 0..120 {
        let id = format!("mem_{i:04}");
        let f = facts(&mut rng);
        write_member_facts(&mut tx, &workspace, &id, &f)
            .await
            .unwrap();
        members.push((id, f));
    }
    tx.commit().await.unwrap();
    let mut informative = 0;
    for case in 0..150 {
        let condition = condition(&mut rng, 0);
        let mut expected: Vec<String> = members
            .iter()
            .filter(|(_, f)| condition.matches(f, NOW))
            .map(|(id, _)| id.clone())
            .collect();
        expected.sort();
        let actual = store
            .segment_member_ids(&workspace, &condition, NOW, 10_000)
            .await
            .unwrap();
        assert_eq!(actual, expected, "case {case}: {condition:?}");
        assert_eq!(
            store
                .segment_count(&workspace, &condition, NOW)
                .await
                .unwrap(),
            expected.len() as i64
        );
        let (total, sample) = store
            .segment_preview(&workspace, &condition, NOW, 5)
            .await
            .unwrap();
        assert_eq!(total, expected.len() as i64);
        assert_eq!(sample, expected.iter().take(5).cloned().collect::<Vec<_>>());
        if !expected.is_empty() && expected.len() < members.len() {
            informative += 1;
        }
    }
    // Guard against a generator that only makes trivially empty or full segments.
    assert!(
        informative >= 60,
        "only {informative} of 150 conditions split the members"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_sql_agrees_with_the_reference_evaluator_on_sqlite() {
    sql_agrees_with_the_reference_evaluator(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_sql_agrees_with_the_reference_evaluator_on_postgres() {
    sql_agrees_with_the_reference_evaluator(Backend::Postgres).await;
}
