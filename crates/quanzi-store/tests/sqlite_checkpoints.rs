//! SQLite checkpoints run beside the writer (`checkpoints`): committed data reaches the
//! database file without the writer copying it, the WAL starts over once it passes its
//! bound, and a long reader postpones that without stalling writes.

use std::time::Duration;

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::members::Touchpoints;
use quanzi_domain::time::Timestamp;
use quanzi_store::testkit::{self, TestDb};
use quanzi_store::{connect::sqlite_path, NewEvent, Store, StoreOptions};
use sqlx::{Connection, Executor};

const T0: Timestamp = Timestamp::from_millis(1_790_000_000_000);
const EVENTS_PER_TRANSACTION: usize = 400;
const RESTART_PAGES: i64 = 64;

async fn open(db: &TestDb) -> Store {
    db.store_with(&StoreOptions {
        sqlite_wal_restart_pages: RESTART_PAGES,
        ..StoreOptions::default()
    })
    .await
}

async fn workspace(store: &Store) -> WorkspaceId {
    testkit::workspace(store, "checkpoints", T0).await
}

/// Commits batch `t` of events, then lets the background pass see it.
async fn write_batch(store: &Store, ws: &WorkspaceId, t: usize) {
    let events: Vec<NewEvent> = (0..EVENTS_PER_TRANSACTION)
        .map(|i| NewEvent {
            // Keys that only grow: every transaction appends about as many pages as the
            // one before, however large the tables get.
            event_id: format!("t{t:05}-e{i:05}"),
            member_id: format!("mem_{t:05}"),
            event_type: "page_view".into(),
            occurred_at: T0.plus(Duration::from_millis((t * 1000 + i) as u64)),
            properties: format!("{{\"padding\":\"{}\"}}", "x".repeat(200)),
            touchpoints: Touchpoints::default(),
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    let inserted = tx.insert_events(ws, &events, T0).await.unwrap();
    assert_eq!(inserted.len(), EVENTS_PER_TRANSACTION);
    tx.commit().await.unwrap();
    store.checkpoint_settled().await;
}

fn wal_size(db: &TestDb) -> u64 {
    let mut path = sqlite_path(&db.url).into_os_string();
    path.push("-wal");
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_data_reaches_the_database_file_in_the_background() {
    let db = TestDb::sqlite();
    let store = open(&db).await;
    let ws = workspace(&store).await;
    for t in 0..20 {
        write_batch(&store, &ws, t).await;
    }

    // Nobody but the background pass checkpointed (automatic checkpoints are off), yet a
    // copy of the database file alone, without its WAL, holds every event.
    let copy = sqlite_path(&db.url).with_file_name("copy.db");
    std::fs::copy(sqlite_path(&db.url), &copy).unwrap();
    let alone = Store::connect(copy.to_str().unwrap(), &StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        alone.count_events(&ws).await.unwrap(),
        (20 * EVENTS_PER_TRANSACTION) as i64
    );
    alone.close().await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_and_a_long_reader_only_postpones_its_restart() {
    let db = TestDb::sqlite();
    let store = open(&db).await;
    let ws = workspace(&store).await;
    let mut batches = 0..;
    let mut largest = 0;
    for t in batches.by_ref().take(60) {
        write_batch(&store, &ws, t).await;
        // The migrations' WAL is still on disk until the first restart trims it.
        if t >= 10 {
            largest = largest.max(wal_size(&db));
        }
    }
    // Far more than the bound was written; the WAL never held more than the bound and a
    // few transactions (each about 30 pages here).
    let bound = (RESTART_PAGES as u64 + 100) * 4096;
    assert!(
        largest <= bound,
        "the WAL grew to {largest} bytes (bound {bound})"
    );

    // A reader in the middle of a long read keeps the WAL's frames in use: the writer's
    // catch-up gives up after a short wait, writes go on, and the WAL grows.
    let mut reader = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    reader.execute("BEGIN").await.unwrap();
    let count = "SELECT COUNT(*) FROM events";
    let seen: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut reader)
        .await
        .unwrap();
    for t in batches.by_ref().take(60) {
        write_batch(&store, &ws, t).await;
    }
    let grown = wal_size(&db);
    assert!(grown > bound, "the WAL started over under a reader");
    let still: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut reader)
        .await
        .unwrap();
    assert_eq!(still, seen, "the reader kept its snapshot");

    // Once the reader is done, the WAL starts over again.
    reader.execute("COMMIT").await.unwrap();
    reader.close().await.unwrap();
    let mut smallest = grown;
    for t in batches.by_ref().take(20) {
        write_batch(&store, &ws, t).await;
        smallest = smallest.min(wal_size(&db));
    }
    assert!(
        smallest <= bound,
        "the WAL never started over ({smallest} bytes)"
    );
    assert_eq!(
        store.count_events(&ws).await.unwrap(),
        (140 * EVENTS_PER_TRANSACTION) as i64
    );
    store.close().await;
}
