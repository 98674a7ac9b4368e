//! Opening the store on either engine.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use crate::checkpoints::{Checkpoints, RESTART_FRAMES};
use crate::inline_reads::InlineReads;

use crate::error::{Result, StoreError};
use crate::tx::Tx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How long a SQLite statement waits for a lock another connection holds.
const BUSY_TIMEOUT_MS: u32 = 10_000;

/// A pooled PostgreSQL connection idle for longer than this is pinged before it is used.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// How hard SQLite flushes a commit. `Full` survives power loss; `Normal` (in WAL mode)
/// survives a crash of the process but may lose the last commits on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    Full,
    Normal,
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub sqlite_sync: SqliteSync,
    /// WAL pages after which the SQLite writer copies the rest back itself before its next
    /// transaction, so that the WAL starts over (see `checkpoints`).
    pub sqlite_wal_restart_pages: i64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            sqlite_sync: SqliteSync::Full,
            sqlite_wal_restart_pages: RESTART_FRAMES,
        }
    }
}

/// The database. Cheap to clone: clones share the pools.
#[derive(Clone, Debug)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    /// SQLite only: the WAL checkpoints that run beside the writer.
    checkpoints: Option<Arc<Checkpoints>>,
    /// SQLite only: read-only connections used on the caller's thread.
    inline: Option<Arc<InlineReads>>,
}

impl Store {
    /// Opens `url`: `postgres://…`, `sqlite://path/to/file.db`, or a bare file path
    /// (taken as SQLite). A SQLite file and its folder are created if missing.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url, options).await
        } else {
            Self::connect_sqlite(&sqlite_path(url), options).await
        }
    }

    async fn connect_postgres(url: &str, options: &StoreOptions) -> Result<Self> {
        let connect = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // sqlx pings every connection it hands out, a network round trip per store
            // call. Only connections idle for a while are checked (as HikariCP does): one
            // in steady use has just been pinged on release.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_WHEN_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(connect)
            .await?;
        Ok(Self {
            read: pool.clone(),
            write: pool,
            backend: Backend::Postgres,
            checkpoints: None,
            inline: None,
        })
    }

    async fn connect_sqlite(path: &Path, options: &StoreOptions) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|err| {
                StoreError::Migration(format!("cannot create {}: {err}", parent.display()))
            })?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let sync = match options.sqlite_sync {
            SqliteSync::Full => "FULL",
            SqliteSync::Normal => "NORMAL",
        };
        // Automatic checkpoints are off everywhere: `checkpoints` runs them beside the writer.
        let pragmas = format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; \
             PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
            options.sqlite_wal_restart_pages.max(1) * 4096
        );
        let pool_options = |max: u32| {
            let pragmas = pragmas.clone();
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(options.acquire_timeout)
                // A SQLite connection is a file handle in this process: it cannot have
                // gone away, and the liveness ping is a round trip to its thread per acquire.
                .test_before_acquire(false)
                .after_connect(move |conn, _meta| {
                    let pragmas = pragmas.clone();
                    Box::pin(async move {
                        conn.execute(pragmas.as_str()).await?;
                        Ok(())
                    })
                })
        };
        let connect = AnyConnectOptions::from_str(&url)?;
        // The checkpointer's connection is opened first so WAL mode is set before anyone
        // else connects.
        let mut checkpointer = AnyConnection::connect_with(&connect).await?;
        checkpointer.execute(pragmas.as_str()).await?;
        let checkpoints = Arc::new(Checkpoints::start(
            checkpointer,
            options.sqlite_wal_restart_pages,
            BUSY_TIMEOUT_MS,
        ));
        let (before, after) = (checkpoints.clone(), checkpoints.clone());
        let write = pool_options(1)
            .before_acquire(move |conn, _meta| {
                let checkpoints = before.clone();
                Box::pin(async move {
                    checkpoints.catch_up(conn).await?;
                    Ok(true)
                })
            })
            .after_release(move |_conn, _meta| {
                after.wake();
                Box::pin(async { Ok(true) })
            })
            .connect_with(connect.clone())
            .await?;
        let read = pool_options(options.max_connections.max(1))
            .connect_with(connect)
            .await?;
        Ok(Self {
            read,
            write,
            backend: Backend::Sqlite,
            checkpoints: Some(checkpoints),
            inline: Some(Arc::new(InlineReads::new(path))),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// On SQLite, reads that can run on the caller's thread (see `inline_reads`).
    pub(crate) fn inline_reads(&self) -> Option<&InlineReads> {
        self.inline.as_deref()
    }

    pub(crate) fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Starts a write transaction. On SQLite this waits for the single writer connection.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx::new(self.write.begin().await?, self.backend))
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// SQLite: waits until what was committed so far has been copied from the WAL into the
    /// database file by a background checkpoint. PostgreSQL: nothing to wait for.
    pub async fn checkpoint_settled(&self) {
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.settled().await;
        }
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// The file path of a SQLite URL or bare path.
pub fn sqlite_path(url: &str) -> PathBuf {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

/// The URL with any password replaced, for logs and status pages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_and_bare_paths_name_the_same_file() {
        assert_eq!(
            sqlite_path("sqlite://data/q.db"),
            PathBuf::from("data/q.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/q.db?mode=rwc"),
            PathBuf::from("/tmp/q.db")
        );
        assert_eq!(sqlite_path("./data/q.db"), PathBuf::from("./data/q.db"));
    }

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/quanzi"),
            "postgres://app:***@db:5432/quanzi"
        );
        assert_eq!(redact_url("postgres://app@db/q"), "postgres://app@db/q");
        assert_eq!(redact_url("sqlite://data/q.db"), "sqlite://data/q.db");
    }
}
