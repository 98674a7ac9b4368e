//! The ledger's tables against the ledger state machine kept in memory: random batches go
//! through the store (load under locks, apply, write back) and through one long-lived
//! in-memory working set; balances, lots and outcomes must agree after every batch, and
//! the stored books must reconcile. Seeded, on both engines.

use std::collections::HashMap;
use std::time::Duration;

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::loyalty::ledger::{
    apply, AccountCode, OnTimeout, Operation, Request, Shortfall, Timeout, Working,
};
use quanzi_domain::time::Timestamp;
use quanzi_store::testkit::TestDb;
use quanzi_store::{Backend, WorkspaceRow};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const T0: Timestamp = Timestamp::from_millis(1_790_000_000_000);
const MEMBERS: [&str; 4] = ["mem_a", "mem_b", "mem_c", "mem_d"];

fn random_request(rng: &mut StdRng, n: usize, now: Timestamp, made: &[Request]) -> Request {
    let member = MEMBERS[rng.gen_range(0..MEMBERS.len())].to_owned();
    let amount = rng.gen_range(1..80);
    let earlier = |rng: &mut StdRng, want: fn(&Operation) -> bool| {
        let ids: Vec<&Request> = made.iter().filter(|r| want(&r.op)).collect();
        if ids.is_empty() {
            "none".to_owned()
        } else {
            ids[rng.gen_range(0..ids.len())].id.clone()
        }
    };
    let op = match rng.gen_range(0..11) {
        10 => Operation::Merge {
            from: member.clone(),
            into: MEMBERS[rng.gen_range(0..MEMBERS.len())].to_owned(),
        },
        0..=2 => Operation::Earn {
            member,
            source: format!("s{}", rng.gen_range(0..3)),
            amount,
            lot_expires_at: rng
                .gen_bool(0.4)
                .then(|| now.plus(Duration::from_secs(rng.gen_range(1..40) * 3600))),
            pending: rng.gen_bool(0.2).then(|| Timeout {
                at: now.plus(Duration::from_secs(rng.gen_range(1..20) * 3600)),
                action: OnTimeout::Post,
            }),
            order_id: None,
            reason: None,
        },
        3 | 4 => Operation::Spend {
            member,
            sink: "mall".into(),
            amount,
            order_id: None,
            reason: None,
        },
        5 => Operation::Hold {
            member,
            sink: "checkout".into(),
            amount,
            timeout_seconds: rng.gen_range(1..20) * 3600,
            on_timeout: OnTimeout::Void,
            order_id: None,
        },
        6 => Operation::Post {
            pending_id: earlier(rng, |op| {
                matches!(
                    op,
                    Operation::Hold { .. }
                        | Operation::Earn {
                            pending: Some(_),
                            ..
                        }
                )
            }),
            amount: rng.gen_bool(0.5).then_some(amount),
        },
        7 => Operation::Void {
            pending_id: earlier(rng, |op| {
                matches!(
                    op,
                    Operation::Hold { .. }
                        | Operation::Earn {
                            pending: Some(_),
                            ..
                        }
                )
            }),
        },
        8 => Operation::Reverse {
            lot_id: earlier(rng, |op| matches!(op, Operation::Earn { .. })),
            amount,
            shortfall: if rng.gen_bool(0.5) {
                Shortfall::NegativeCarry
            } else {
                Shortfall::ClawbackFuture
            },
            reason: None,
        },
        _ => Operation::Expire {
            lot_id: earlier(rng, |op| matches!(op, Operation::Earn { .. })),
        },
    };
    Request {
        id: format!("r{n}"),
        linked: rng.gen_bool(0.1),
        op,
    }
}

async fn store_agrees_with_the_state_machine(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ws = WorkspaceId::generate(T0);
    let mut tx = store.begin().await.unwrap();
    tx.insert_workspace(&WorkspaceRow {
        id: ws.clone(),
        name: "ledger".into(),
        time_zone: "Asia/Shanghai".into(),
        created_at: T0,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut rng = StdRng::seed_from_u64(0x1ed9e5);
    let mut reference = Working::default();
    let mut made: Vec<Request> = Vec::new();
    let mut now = T0;
    let mut created = 0;
    for round in 0..120 {
        now = now.plus(Duration::from_secs(rng.gen_range(0..3) * 3600));
        let size = rng.gen_range(1..8);
        let mut batch: Vec<Request> = (0..size)
            .map(|i| random_request(&mut rng, round * 10 + i, now, &made))
            .collect();
        if rng.gen_bool(0.2) && !made.is_empty() {
            batch.push(made[rng.gen_range(0..made.len())].clone());
        }
        let want = apply(&mut reference, &batch, now);
        let mut tx = store.begin().await.unwrap();
        let mut working = tx.ledger_working(&ws, &batch, now).await.unwrap();
        let got = apply(&mut working, &batch, now);
        tx.ledger_write(&ws, &working, &got.effects, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(want.outcomes, got.outcomes, "round {round}: {batch:?}");
        created += got.effects.transfers.len();
        made.extend(batch);

        for member in MEMBERS {
            let (wallet, debt) = store.ledger_balances(&ws, member).await.unwrap();
            assert_eq!(
                wallet,
                reference.balance(&AccountCode::Wallet(member.into())),
                "round {round} {member}"
            );
            assert_eq!(
                debt,
                reference.balance(&AccountCode::Debt(member.into())),
                "round {round} {member}"
            );
            let stored: HashMap<String, i64> = store
                .ledger_lots(&ws, member, true)
                .await
                .unwrap()
                .into_iter()
                .map(|l| (l.id, l.remaining))
                .collect();
            let expected: HashMap<String, i64> = reference
                .lots
                .values()
                .filter(|l| l.member == member)
                .map(|l| (l.id.clone(), l.remaining))
                .collect();
            assert_eq!(stored, expected, "round {round} {member}");
        }
    }
    assert!(
        created > 150,
        "the random walk should move points ({created} transfers)"
    );
    assert_eq!(
        store.ledger_mismatches(&ws).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_agrees_with_the_state_machine() {
    store_agrees_with_the_state_machine(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_agrees_with_the_state_machine() {
    store_agrees_with_the_state_machine(Backend::Postgres).await
}
