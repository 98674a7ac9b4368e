//! Migrations that change stored data, from the schema before them, on both engines.

use quanzi_domain::members::Touchpoints;
use quanzi_domain::time::Timestamp;
use quanzi_store::testkit::{self, TestDb};
use quanzi_store::{Backend, NewEvent};

const T0: Timestamp = Timestamp::from_millis(1_790_000_000_000);

/// Migration 14 gives stored events their member keys and 15 files them by key: a
/// member's events stored before both are found by member after them, beside new ones.
async fn events_stored_before_member_keys_stay_readable_by_member(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    store.migrate_to(13).await.unwrap();
    let ws = testkit::workspace(&store, "old events", T0).await;
    testkit::insert_events_as_of_schema_13(&store, &ws, &[("mem_a", 3), ("mem_b", 2)], T0).await;
    assert_eq!(store.migrate_to(15).await.unwrap(), 2);
    store.migrate().await.unwrap();

    let new = NewEvent {
        event_id: "mem_a-new".into(),
        member_id: "mem_a".into(),
        event_type: "click".into(),
        occurred_at: Timestamp::from_millis(T0.millis() + 100),
        properties: "{}".into(),
        touchpoints: Touchpoints::default(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_events(&ws, &[new], T0).await.unwrap();
    tx.commit().await.unwrap();

    let ids = |rows: Vec<quanzi_store::EventRow>| -> Vec<String> {
        rows.into_iter().map(|r| r.event_id).collect()
    };
    let a = store.member_events(&ws, "mem_a", None, 10).await.unwrap();
    assert_eq!(
        ids(a),
        ["mem_a-new", "mem_a-old-2", "mem_a-old-1", "mem_a-old-0"]
    );
    let b = store.member_events(&ws, "mem_b", None, 10).await.unwrap();
    assert_eq!(ids(b), ["mem_b-old-1", "mem_b-old-0"]);
    assert!(store
        .member_events(&ws, "mem_c", None, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn member_keys_sqlite() {
    events_stored_before_member_keys_stay_readable_by_member(Backend::Sqlite).await;
}

#[tokio::test]
async fn member_keys_postgres() {
    events_stored_before_member_keys_stay_readable_by_member(Backend::Postgres).await;
}
