//! Embedded migrations, one numbered set per engine, applied in order inside a transaction
//! each. On PostgreSQL an advisory lock lets several nodes start at once safely.

use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, Connection, Executor};

use crate::connect::{Backend, Store};
use crate::error::{Result, StoreError};

/// One schema change. Most are portable SQL shared by both engines; one that needs
/// engine-specific SQL will name a file per engine (`migrations/sqlite/…`,
/// `migrations/postgres/…`) instead of the shared one. A change to stored data that SQL
/// cannot express runs as a data step in Rust, after the SQL, in the same transaction.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
    pub data: Option<DataStep>,
}

/// A migration's data step: runs on the migration's transaction.
pub type DataStep = for<'c> fn(&'c mut AnyConnection) -> BoxFuture<'c, Result<()>>;

macro_rules! shared {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/", $name, ".sql")),
            data: None,
        }
    };
    ($version:literal, $name:literal, $data:expr) => {
        Migration {
            data: Some($data),
            ..shared!($version, $name)
        }
    };
}

macro_rules! per_engine {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
            data: None,
        }
    };
}

pub const MIGRATIONS: &[Migration] = &[
    shared!(1, "0001_foundation"),
    shared!(2, "0002_members"),
    shared!(3, "0003_rfm"),
    shared!(4, "0004_segments"),
    shared!(5, "0005_events_window_index"),
    shared!(6, "0006_consent_erasure"),
    shared!(7, "0007_tags"),
    shared!(8, "0008_loyalty"),
    shared!(9, "0009_promotions"),
    shared!(10, "0010_social"),
    shared!(11, "0011_analytics"),
    shared!(12, "0012_coupon_granted_by_order"),
    per_engine!(13, "0013_room_for_updates"),
    shared!(14, "0014_events_member_key", |conn| {
        Box::pin(crate::member_key::fill_member_keys(conn))
    }),
    shared!(15, "0015_events_member_key_index"),
    shared!(16, "0016_members_merged_into_index"),
];

/// An arbitrary constant naming quanzi's migration lock among PostgreSQL advisory locks.
const PG_MIGRATION_LOCK: i64 = 0x7175_616e_7a69;

impl Store {
    /// Applies every migration not applied yet; returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        self.migrate_to(i64::MAX).await
    }

    /// Applies the migrations not applied yet up to version `last` (tests of a migration
    /// start from the schema before it).
    pub async fn migrate_to(&self, last: i64) -> Result<usize> {
        let backend = self.backend();
        let mut conn = self.writer().acquire().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        let result = apply(&mut conn, backend, last).await;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        result
    }
}

async fn apply(conn: &mut AnyConnection, backend: Backend, last: i64) -> Result<usize> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await?;
    let mut ran = 0;
    for migration in MIGRATIONS
        .iter()
        .filter(|m| m.version <= last && !applied.contains(&m.version))
    {
        let sql = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let mut tx = conn.begin().await?;
        tx.execute(sql)
            .await
            .map_err(|err| StoreError::Migration(format!("{} failed: {err}", migration.name)))?;
        if let Some(data) = migration.data {
            data(&mut tx).await.map_err(|err| {
                StoreError::Migration(format!("{} (data step) failed: {err}", migration.name))
            })?;
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(unix_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        ran += 1;
    }
    Ok(ran)
}

/// Migrations record their own wall-clock time: it is bookkeeping, not a business rule.
fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_contiguous_and_names_carry_them() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
        }
    }
}
