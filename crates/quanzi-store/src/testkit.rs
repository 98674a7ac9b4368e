//! Fresh, empty, migrated databases for tests, on either engine.
//!
//! PostgreSQL tests connect to `QUANZI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), create a database of their own and drop it
//! when the [`TestDb`] is dropped. They fail loudly when PostgreSQL is unreachable: a
//! skipped backend would hide exactly the bugs the suite exists to find.

use std::path::PathBuf;

use quanzi_domain::ids::random_base32;
use sqlx::{Connection, Executor};

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;

use crate::connect::{Backend, Store, StoreOptions};
use crate::WorkspaceRow;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn admin_postgres_url() -> String {
    std::env::var("QUANZI_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteDir(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("quanzi-test-{}", random_base32(12)));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self {
            url: format!("sqlite://{}", dir.join("quanzi.db").display()),
            backend: Backend::Sqlite,
            cleanup: Cleanup::SqliteDir(dir),
        }
    }

    pub async fn postgres() -> Self {
        sqlx::any::install_default_drivers();
        let admin_url = admin_postgres_url();
        let name = format!("quanzi_test_{}", random_base32(16));
        let mut conn = sqlx::AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|err| {
                panic!(
                "PostgreSQL is needed for this test and is not reachable at {admin_url} ({err}); \
                 start it or set QUANZI_TEST_POSTGRES_URL"
            )
            });
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        conn.close().await.ok();
        let url = match admin_url.rsplit_once('/') {
            Some((server, _db)) => format!("{server}/{name}"),
            None => panic!("QUANZI_TEST_POSTGRES_URL must end in /database"),
        };
        Self {
            url,
            backend: Backend::Postgres,
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens and migrates the database.
    pub async fn store(&self) -> Store {
        self.store_with(&StoreOptions::default()).await
    }

    /// Opens the database without migrating it.
    pub async fn open(&self) -> Store {
        Store::connect(&self.url, &StoreOptions::default())
            .await
            .expect("open test store")
    }

    /// Opens and migrates the database with these options.
    pub async fn store_with(&self, options: &StoreOptions) -> Store {
        let store = Store::connect(&self.url, options)
            .await
            .expect("open test store");
        store.migrate().await.expect("migrate test store");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs outside async; a short-lived runtime on its own thread does the
                // network work without touching the test's runtime.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async move {
                        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.ok()?;
                        conn.execute(
                            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                        )
                        .await
                        .ok()?;
                        conn.close().await.ok()
                    })
                })
                .join();
            }
        }
    }
}

/// Writes a member with exactly the given profile, events and orders, bypassing the
/// counters the real paths keep: the segment property test needs facts it chose itself.
pub async fn write_member_facts(
    tx: &mut crate::Tx,
    workspace: &quanzi_domain::ids::WorkspaceId,
    id: &str,
    facts: &quanzi_domain::segments::MemberFacts,
) -> crate::error::Result<()> {
    let traits = format!(
        "{{{}}}",
        facts
            .traits
            .iter()
            .map(|(k, v)| match v.parse::<i64>() {
                Ok(n) => format!("\"{k}\":{n}"),
                Err(_) => format!("\"{k}\":\"{v}\""),
            })
            .collect::<Vec<_>>()
            .join(",")
    );
    tx.insert_member(workspace, id, &traits, facts.created_at)
        .await?;
    let ms = |t: Option<quanzi_domain::time::Timestamp>| t.map(|t| t.millis());
    sqlx::query(
        "UPDATE members SET first_seen_at = $1, last_seen_at = $2, last_interaction_at = $3, last_order_at = $4,
            order_count = $5, gmv_fen = $6, refund_fen = $7, event_count = $8,
            rfm_recency = $9, rfm_frequency = $10, rfm_monetary = $11, rfm_at = $12 WHERE id = $13",
    )
    .bind(ms(facts.first_seen_at))
    .bind(ms(facts.last_seen_at))
    .bind(ms(facts.last_interaction_at))
    .bind(ms(facts.last_order_at))
    .bind(facts.order_count)
    .bind(facts.gmv_fen)
    .bind(facts.refund_fen)
    .bind(facts.event_count)
    .bind(facts.rfm.map(|r| i64::from(r.recency)))
    .bind(facts.rfm.map(|r| i64::from(r.frequency)))
    .bind(facts.rfm.map(|r| i64::from(r.monetary)))
    .bind(facts.rfm.map(|_| 0i64))
    .bind(id)
    .execute(tx.conn())
    .await?;
    for (i, (event_type, at)) in facts.events.iter().enumerate() {
        sqlx::query(
            "INSERT INTO events (workspace_id, event_id, member_id, type, occurred_at, received_at, properties, member_key)
             VALUES ($1, $2, $3, $4, $5, $5, '{}', $6)",
        )
        .bind(workspace.as_str())
        .bind(format!("{id}-e{i}"))
        .bind(id)
        .bind(event_type)
        .bind(at.millis())
        .bind(crate::member_key::member_key(id))
        .execute(tx.conn())
        .await?;
    }
    for channel in &facts.consents {
        sqlx::query(
            "INSERT INTO member_consents (workspace_id, member_id, channel, granted, source, at) VALUES ($1, $2, $3, 1, 'test', 0)",
        )
        .bind(workspace.as_str())
        .bind(id)
        .bind(channel.as_str())
        .execute(tx.conn())
        .await?;
    }
    for tag in &facts.tags {
        sqlx::query("INSERT INTO member_tags (workspace_id, member_id, tag_id, source, at) VALUES ($1, $2, $3, 'manual', 0)")
            .bind(workspace.as_str())
            .bind(id)
            .bind(tag)
            .execute(tx.conn())
            .await?;
    }
    for (i, at) in facts.orders.iter().enumerate() {
        sqlx::query(
            "INSERT INTO orders (id, workspace_id, external_id, fingerprint, member_id, paid_at, received_at, items_total_fen,
                order_discount_fen, shipping_fen, paid_fen, refunded_fen, shipping_refunded, status, coupons)
             VALUES ($1, $2, $1, '', $3, $4, $4, 0, 0, 0, 0, 0, 0, 'paid', '[]')",
        )
        .bind(format!("{id}-o{i}"))
        .bind(workspace.as_str())
        .bind(id)
        .bind(at.millis())
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Polls `check` until it returns true, failing after `limit`: waiting on an observable
/// condition, never sleeping for a guessed time.
pub async fn eventually<F, Fut>(limit: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached within {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Creates a workspace named `name` (Asia/Shanghai) at `at`; returns its id.
pub async fn workspace(store: &Store, name: &str, at: Timestamp) -> WorkspaceId {
    let row = WorkspaceRow {
        id: WorkspaceId::generate(at),
        name: name.to_owned(),
        time_zone: "Asia/Shanghai".to_owned(),
        created_at: at,
    };
    let mut tx = store.begin().await.expect("begin");
    tx.insert_workspace(&row).await.expect("insert workspace");
    tx.commit().await.expect("commit");
    row.id
}

/// Writes `count` events per member the way a store at schema version 13 did, before
/// events carried a member key (for the test of migration 14).
pub async fn insert_events_as_of_schema_13(
    store: &Store,
    workspace: &WorkspaceId,
    members: &[(&str, usize)],
    at: Timestamp,
) {
    let mut tx = store.begin().await.expect("begin");
    for (member, count) in members {
        for i in 0..*count {
            sqlx::query(
                "INSERT INTO events (workspace_id, event_id, member_id, type, occurred_at, received_at, properties)
                 VALUES ($1, $2, $3, 'page_view', $4, $4, '{}')",
            )
            .bind(workspace.as_str())
            .bind(format!("{member}-old-{i}"))
            .bind(*member)
            .bind(at.millis() + i as i64)
            .execute(tx.conn())
            .await
            .expect("insert an old event");
        }
    }
    tx.commit().await.expect("commit");
}

/// Every member's held units in a flash sale, by member (the counters the per-member
/// limit is checked against), for tests that compare them with the reservations.
pub async fn flash_holds(
    store: &Store,
    workspace: &WorkspaceId,
    sale: &str,
) -> std::collections::BTreeMap<String, i64> {
    let mut tx = store.begin().await.expect("begin");
    let rows = sqlx::query(
        "SELECT member_id, held FROM flash_member_counts WHERE workspace_id = $1 AND sale_id = $2",
    )
    .bind(workspace.as_str())
    .bind(sale)
    .fetch_all(tx.conn())
    .await
    .expect("read holds");
    rows.iter()
        .map(|r| {
            (
                crate::rows::text(r, "member_id").expect("member_id"),
                crate::rows::int(r, "held").expect("held"),
            )
        })
        .collect()
}

/// Locks one flash-sale stock bucket in `tx` as another node's transaction holding it
/// would (PostgreSQL), for tests of what a group does around a busy bucket.
pub async fn lock_flash_bucket(
    tx: &mut crate::Tx,
    workspace: &WorkspaceId,
    sale: &str,
    sku: &str,
    bucket: i64,
) {
    sqlx::query(
        "SELECT remaining FROM flash_stock
         WHERE workspace_id = $1 AND sale_id = $2 AND sku = $3 AND bucket = $4 FOR UPDATE",
    )
    .bind(workspace.as_str())
    .bind(sale)
    .bind(sku)
    .bind(bucket)
    .fetch_one(tx.conn())
    .await
    .expect("lock a bucket");
}

/// Locks one member's row in `tx` (`FOR UPDATE`, PostgreSQL) as a transaction following a
/// merge chain through it would, for tests of what a merge does around it.
pub async fn lock_member(tx: &mut crate::Tx, id: &str) {
    sqlx::query("SELECT id FROM members WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_one(tx.conn())
        .await
        .expect("lock a member");
}
