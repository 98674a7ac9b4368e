//! Flash-sale reservation groups (`Tx::reserve_flash_group`).
//!
//! - The lock order that keeps nodes from deadlocking, shown directly: a group never
//!   waits for a bucket below one it holds (PostgreSQL).
//! - Groups written from several connections at once, as several nodes write them, while
//!   reservations expire and finally the sale is cancelled: no transaction fails (on
//!   PostgreSQL a deadlock would), no stock is sold twice, every reserved answer is
//!   stored, every member's hold counter equals what the member holds, and put-off
//!   attempts are answered in a later transaction. Stock keeps coming back, so buckets
//!   run empty again and again. The SKUs' byte order and the database's collation
//!   disagree ("Tea" < "cake" in bytes). Seeded, on both engines.

use std::collections::BTreeMap;
use std::time::Duration;

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use quanzi_store::testkit::{self, TestDb};
use quanzi_store::{
    Backend, FlashAttempt, FlashOutcome, FlashSaleRow, FlashSkuRow, ReservationRow, ReserveRefusal,
    Store,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const T0: Timestamp = Timestamp::from_millis(1_790_000_000_000);
const SALE: &str = "fls_rush";
const SKUS: [&str; 2] = ["Tea", "cake"];
const BUCKETS: i64 = 2;
const STOCK_PER_SKU: i64 = 40;
const LIMIT: i64 = 2;
const MEMBERS: usize = 2_000;
const WRITERS: u64 = 4;
const GROUPS_PER_WRITER: usize = 25;
const GROUP_SIZE: usize = 60;

fn sale() -> FlashSaleRow {
    FlashSaleRow {
        id: SALE.into(),
        name: "rush".into(),
        starts_at: T0,
        ends_at: Timestamp::from_millis(T0.millis() + 3_600_000),
        payment_timeout_seconds: 60,
        per_member_limit: LIMIT,
        buckets: BUCKETS,
        gate: "none".into(),
        status: "active".into(),
        created_at: T0,
    }
}

async fn open_sale(store: &Store, ws: &WorkspaceId) {
    let skus: Vec<(FlashSkuRow, Vec<i64>)> = SKUS
        .iter()
        .map(|sku| {
            let row = FlashSkuRow {
                sku: (*sku).into(),
                flash_price_fen: 100,
                original_price_fen: 200,
                stock: STOCK_PER_SKU,
                remaining: STOCK_PER_SKU,
            };
            (row, vec![STOCK_PER_SKU / BUCKETS; BUCKETS as usize])
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    tx.insert_flash_sale(ws, &sale(), &skus).await.unwrap();
    tx.commit().await.unwrap();
}

/// What one writer's attempts ended as.
#[derive(Default)]
struct Tally {
    reserved: Vec<String>,
    sold_out: usize,
    limit_reached: usize,
    put_off: usize,
    expired: usize,
}

/// One node's writer: groups of random attempts, each stored in as many transactions as
/// it takes (put-off attempts go again in the next one). After each group it expires
/// the new reservations except those whose id ends in 7 (even writers in one
/// transaction, odd ones one transaction each): stock keeps coming back, so every group empties buckets
/// while the others hold theirs, and the sale still sells out slowly.
/// Writer 0 cancels the sale when it is done, while the others may still be writing.
async fn write_groups(store: Store, ws: WorkspaceId, writer: u64) -> Tally {
    let mut rng = StdRng::seed_from_u64(writer);
    let sale = sale();
    let mut tally = Tally::default();
    for g in 0..GROUPS_PER_WRITER {
        let rows: Vec<(i64, ReservationRow)> = (0..GROUP_SIZE)
            .map(|i| {
                let row = ReservationRow {
                    id: format!("rsv_{writer}_{g}_{i}"),
                    sale_id: SALE.into(),
                    sku: SKUS[rng.gen_range(0..SKUS.len())].into(),
                    member_id: format!("mem_{:04}", rng.gen_range(0..MEMBERS)),
                    quantity: rng.gen_range(1..=LIMIT),
                    bucket: 0,
                    status: "reserved".into(),
                    order_id: None,
                    reserved_at: T0,
                    expires_at: Timestamp::from_millis(T0.millis() + 60_000),
                    settled_at: None,
                };
                (rng.gen_range(0..BUCKETS), row)
            })
            .collect();
        let mut pending: Vec<usize> = (0..rows.len()).collect();
        let mut rounds = 0;
        while !pending.is_empty() {
            let attempts: Vec<FlashAttempt> = pending
                .iter()
                .map(|&i| FlashAttempt {
                    workspace: &ws,
                    sale: &sale,
                    first_bucket: rows[i].0,
                    row: &rows[i].1,
                })
                .collect();
            let mut tx = store.begin().await.unwrap();
            let outcomes = tx
                .reserve_flash_group(&attempts)
                .await
                .unwrap_or_else(|err| panic!("writer {writer}, group {g}: {err:?}"));
            tx.commit().await.unwrap();
            let mut put_off = Vec::new();
            for (&i, outcome) in pending.iter().zip(outcomes) {
                match outcome {
                    FlashOutcome::Reserved(bucket) => {
                        assert!((0..BUCKETS).contains(&bucket));
                        tally.reserved.push(rows[i].1.id.clone());
                    }
                    FlashOutcome::Refused(ReserveRefusal::SoldOut) => tally.sold_out += 1,
                    FlashOutcome::Refused(ReserveRefusal::LimitReached) => tally.limit_reached += 1,
                    FlashOutcome::Refused(other) => panic!("unexpected refusal {other:?}"),
                    FlashOutcome::Deferred => put_off.push(i),
                }
            }
            rounds += 1;
            assert!(rounds <= 50, "group {g} is still being put off");
            tally.put_off += put_off.len();
            pending = put_off;
        }
        let mine = format!("rsv_{writer}_{g}_");
        let expiring = |id: &&String| id.starts_with(&mine) && !id.ends_with("_17");
        let to_expire: Vec<String> = tally.reserved.iter().filter(expiring).cloned().collect();
        if writer.is_multiple_of(2) {
            // All at once, as the sweep and a cancellation end them.
            let mut tx = store.begin().await.unwrap();
            let ended = tx
                .end_flash_reservations(&ws, &to_expire, "expired", T0)
                .await
                .unwrap_or_else(|err| panic!("writer {writer}, group {g}: {err:?}"));
            tx.commit().await.unwrap();
            let ended: Vec<String> = ended.into_iter().map(|r| r.id).collect();
            let mut expected = to_expire.clone();
            expected.sort();
            assert_eq!(ended, expected, "each was reserved");
            tally.expired += ended.len();
        } else {
            for id in to_expire {
                let mut tx = store.begin().await.unwrap();
                let ended = tx
                    .end_flash_reservation(&ws, &id, "expired", T0)
                    .await
                    .unwrap_or_else(|err| panic!("ending {id}: {err:?}"));
                tx.commit().await.unwrap();
                assert!(ended.is_some(), "{id} was reserved");
                tally.expired += 1;
            }
        }
    }
    if writer == 0 {
        let mut tx = store.begin().await.unwrap();
        assert!(tx.cancel_flash_sale(&ws, SALE).await.unwrap());
        tx.commit().await.unwrap();
    }
    tally
}

/// Another transaction holds bucket 0. The group empties bucket 1 with its first attempt;
/// its second finds stock only in bucket 0. Waiting for it while holding bucket 1 is how
/// two nodes' groups deadlocked (each holding the bucket the other waits for): the group
/// puts that attempt off instead, and answers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_puts_off_rather_than_waiting_below_a_bucket_it_holds() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let ws = testkit::workspace(&store, "order", T0).await;
    open_sale(&store, &ws).await;
    let sku = SKUS[0];
    let per_bucket = STOCK_PER_SKU / BUCKETS;

    let mut other_node = store.begin().await.unwrap();
    testkit::lock_flash_bucket(&mut other_node, &ws, SALE, sku, 0).await;

    let sale = sale();
    let rows: Vec<ReservationRow> = [per_bucket, 1]
        .iter()
        .enumerate()
        .map(|(i, &quantity)| ReservationRow {
            id: format!("rsv_order_{i}"),
            sale_id: SALE.into(),
            sku: sku.into(),
            member_id: format!("mem_order_{i}"),
            quantity,
            bucket: 0,
            status: "reserved".into(),
            order_id: None,
            reserved_at: T0,
            expires_at: T0,
            settled_at: None,
        })
        .collect();
    let attempts: Vec<FlashAttempt> = rows
        .iter()
        .map(|row| FlashAttempt {
            workspace: &ws,
            sale: &sale,
            first_bucket: 1,
            row,
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    // Only a hang guard: waiting here would last until `other_node` ends, i.e. forever.
    let outcomes = tokio::time::timeout(Duration::from_secs(60), tx.reserve_flash_group(&attempts))
        .await
        .expect("the group waited for a bucket below one it holds")
        .unwrap();
    assert_eq!(
        outcomes,
        [FlashOutcome::Reserved(1), FlashOutcome::Deferred]
    );
    tx.commit().await.unwrap();
    other_node.commit().await.unwrap();

    // The put-off attempt, in a transaction of its own, gets bucket 0.
    let mut tx = store.begin().await.unwrap();
    let outcomes = tx.reserve_flash_group(&attempts[1..]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(outcomes, [FlashOutcome::Reserved(0)]);
    let holds = testkit::flash_holds(&store, &ws, SALE).await;
    assert_eq!(
        holds.get("mem_order_1"),
        Some(&1),
        "the put-off hold was given back once"
    );
}

async fn groups_from_many_connections_keep_stock_and_holds_exact(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ws = testkit::workspace(&store, "rush", T0).await;
    open_sale(&store, &ws).await;

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(write_groups(store.clone(), ws.clone(), w)))
        .collect();
    let mut reserved_ids = Vec::new();
    let (mut sold_out, mut limit_reached, mut put_off, mut expired) = (0, 0, 0, 0);
    for writer in writers {
        let tally = writer.await.unwrap();
        reserved_ids.extend(tally.reserved);
        sold_out += tally.sold_out;
        limit_reached += tally.limit_reached;
        put_off += tally.put_off;
        expired += tally.expired;
    }

    // The run went through the contested regime it is about.
    assert!(
        sold_out > 0 && limit_reached > 0,
        "{sold_out} {limit_reached}"
    );
    assert!(expired > 0);
    eprintln!(
        "{backend:?}: {} reserved, {expired} expired, {sold_out} sold out, \
         {limit_reached} at the limit, {put_off} put off",
        reserved_ids.len()
    );

    let stored = store.flash_reservations(&ws, SALE, None).await.unwrap();
    let mut stored_ids: Vec<&str> = stored.iter().map(|r| r.id.as_str()).collect();
    stored_ids.sort_unstable();
    reserved_ids.sort_unstable();
    assert_eq!(
        stored_ids, reserved_ids,
        "every reserved answer stored, no other"
    );
    assert_eq!(
        stored.iter().filter(|r| r.status == "expired").count(),
        expired
    );

    let live: Vec<&ReservationRow> = stored.iter().filter(|r| r.status == "reserved").collect();
    assert!(!live.is_empty());
    let (_, skus) = store.flash_sale(&ws, SALE).await.unwrap();
    for sku in &skus {
        let held: i64 = live
            .iter()
            .filter(|r| r.sku == sku.sku)
            .map(|r| r.quantity)
            .sum();
        assert_eq!(sku.remaining + held, STOCK_PER_SKU, "stock of {}", sku.sku);
    }
    let mut by_member: BTreeMap<String, i64> = BTreeMap::new();
    for r in &live {
        *by_member.entry(r.member_id.clone()).or_default() += r.quantity;
    }
    let holds = testkit::flash_holds(&store, &ws, SALE).await;
    for (member, held) in &holds {
        assert!(*held <= LIMIT, "{member} holds {held}");
        assert_eq!(
            *held,
            by_member.get(member).copied().unwrap_or(0),
            "hold counter of {member}"
        );
    }
    assert!(by_member.keys().all(|m| holds.contains_key(m)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservation_groups_sqlite() {
    groups_from_many_connections_keep_stock_and_holds_exact(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservation_groups_postgres() {
    groups_from_many_connections_keep_stock_and_holds_exact(Backend::Postgres).await;
}
