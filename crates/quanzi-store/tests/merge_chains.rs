//! Merge chains: a merge re-points the members merged into the merged one at the
//! survivor, except those another transaction holds, which it must not wait for.

use std::time::Duration;

use quanzi_domain::time::Timestamp;
use quanzi_store::testkit::{self, TestDb};
use quanzi_store::{Backend, Store};

const T0: Timestamp = Timestamp::from_millis(1_790_000_000_000);

async fn merge(store: &Store, ws: &quanzi_domain::ids::WorkspaceId, survivor: &str, merged: &str) {
    let mut tx = store.begin().await.unwrap();
    tx.merge_members(ws, survivor, merged, "phone", T0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// `old` was merged into `mid`. A transaction following `old`'s chain holds `old` and
/// (next) waits for `mid`; meanwhile `mid` is merged into `top`. Re-pointing `old` would
/// wait for the follower, which waits for the merge: the deadlock CI saw between chained
/// identify calls. The merge leaves `old` pointing at `mid` instead, and commits at once;
/// every reader still reaches `top`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_does_not_wait_for_a_member_merged_earlier_that_another_transaction_holds() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let ws = testkit::workspace(&store, "chains", T0).await;
    let mut tx = store.begin().await.unwrap();
    for id in ["mem_top", "mem_mid", "mem_old"] {
        tx.insert_member(&ws, id, "{}", T0).await.unwrap();
    }
    tx.commit().await.unwrap();
    merge(&store, &ws, "mem_mid", "mem_old").await;

    let mut follower = store.begin().await.unwrap();
    testkit::lock_member(&mut follower, "mem_old").await;

    let mut tx = store.begin().await.unwrap();
    // Only a hang guard: waiting here would last until `follower` ends, i.e. forever.
    tokio::time::timeout(
        Duration::from_secs(60),
        tx.merge_members(&ws, "mem_top", "mem_mid", "phone", T0),
    )
    .await
    .expect("the merge waited for a member another transaction holds")
    .unwrap();
    tx.commit().await.unwrap();
    follower.commit().await.unwrap();

    let ids = [
        "mem_old".to_owned(),
        "mem_mid".to_owned(),
        "mem_top".to_owned(),
    ];
    let live = store.live_member_ids(&ws, &ids).await.unwrap();
    assert!(ids.iter().all(|id| live[id] == "mem_top"), "{live:?}");
    assert_eq!(store.member(&ws, "mem_old").await.unwrap().id, "mem_top");
    let mut tx = store.begin().await.unwrap();
    let locked = tx.lock_live_members(&ws, &ids, true).await.unwrap();
    assert!(ids.iter().all(|id| locked[id] == "mem_top"), "{locked:?}");
}

/// Without anyone in the way, merged members point straight at the survivor (one step),
/// on both engines.
async fn chains_stay_one_step_long(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ws = testkit::workspace(&store, "short chains", T0).await;
    let mut tx = store.begin().await.unwrap();
    for id in ["mem_a", "mem_b", "mem_c", "mem_d"] {
        tx.insert_member(&ws, id, "{}", T0).await.unwrap();
    }
    tx.commit().await.unwrap();
    merge(&store, &ws, "mem_c", "mem_d").await;
    merge(&store, &ws, "mem_b", "mem_c").await;
    merge(&store, &ws, "mem_a", "mem_b").await;
    for id in ["mem_b", "mem_c", "mem_d"] {
        let row = store.member(&ws, id).await.unwrap();
        assert_eq!(row.id, "mem_a");
    }
    let mut tx = store.begin().await.unwrap();
    for id in ["mem_b", "mem_c", "mem_d"] {
        // One step: following the chain's first link already reaches the survivor.
        let first = tx.member_for_update(id).await.unwrap();
        assert_eq!(first.merged_into.as_deref(), Some("mem_a"), "{id}");
    }
}

#[tokio::test]
async fn chains_stay_one_step_long_sqlite() {
    chains_stay_one_step_long(Backend::Sqlite).await;
}

#[tokio::test]
async fn chains_stay_one_step_long_postgres() {
    chains_stay_one_step_long(Backend::Postgres).await;
}
