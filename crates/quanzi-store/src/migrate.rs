//! Embedded migrations, one numbered set per engine, applied in order inside a transaction
//! each. On PostgreSQL an advisory lock lets several nodes start at once safely.

use sqlx::{Connection, Executor};

use crate::connect::{Backend, Store};
use crate::error::{Result, StoreError};

/// (version, name, SQL) for one engine.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $(($version:literal, $name:literal)),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")),
        }),*]
    };
}

pub const SQLITE: &[Migration] = migrations!("sqlite": (1, "0001_foundation"), (2, "0002_members"), (3, "0003_rfm"), (4, "0004_segments"));
pub const POSTGRES: &[Migration] = migrations!("postgres": (1, "0001_foundation"), (2, "0002_members"), (3, "0003_rfm"), (4, "0004_segments"));

/// An arbitrary constant naming quanzi's migration lock among PostgreSQL advisory locks.
const PG_MIGRATION_LOCK: i64 = 0x7175_616e_7a69;

impl Store {
    /// Applies every migration not applied yet; returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        let migrations = match self.backend() {
            Backend::Sqlite => SQLITE,
            Backend::Postgres => POSTGRES,
        };
        let mut conn = self.writer().acquire().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        let result = apply(&mut conn, migrations).await;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        result
    }
}

async fn apply(conn: &mut sqlx::AnyConnection, migrations: &[Migration]) -> Result<usize> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await?;
    let mut ran = 0;
    for migration in migrations.iter().filter(|m| !applied.contains(&m.version)) {
        let mut tx = conn.begin().await?;
        tx.execute(migration.sql)
            .await
            .map_err(|err| StoreError::Migration(format!("{} failed: {err}", migration.name)))?;
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
    fn both_engines_have_the_same_migrations_in_the_same_order() {
        let names = |set: &[Migration]| set.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
        for (i, m) in SQLITE.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "versions are contiguous");
        }
    }
}
