//! SQLite reads made on the caller's own thread, for the one read every API request makes
//! (its key).
//!
//! A pooled sqlx SQLite connection lives on a thread of its own: each statement is a
//! message there and a wake-up back, and on two cores those hand-offs cost more than a
//! primary-key lookup (a flash sale spent more time switching threads than in SQLite).
//! Here a handful of read-only connections are kept in the store; a read takes one, runs
//! on the calling thread (tens of microseconds, no I/O wait: WAL readers never block on
//! the writer, and the file is memory-mapped) and puts it back. Each read is its own
//! snapshot, so a revoked key is refused as soon as the revocation commits, as before.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError};

#[derive(Debug)]
pub(crate) struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Connections kept between reads: one per thread that may read at once (the runtime
    /// has one worker per core). More are opened when needed and closed after.
    keep: usize,
}

impl InlineReads {
    pub(crate) fn new(path: &Path) -> Self {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            keep: cores.max(4),
        }
    }

    /// Runs `read` on a read-only connection, on this thread.
    pub(crate) fn read<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().map_err(poisoned)?.pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.open()?,
        };
        let outcome = read(&conn);
        let mut idle = self.idle.lock().map_err(poisoned)?;
        if idle.len() < self.keep {
            idle.push(conn);
        }
        outcome
    }

    fn open(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(sqlite)?;
        conn.execute_batch("PRAGMA mmap_size = 268435456; PRAGMA cache_size = -2048;")
            .map_err(sqlite)?;
        Ok(conn)
    }
}

/// A failed read (file gone, I/O error, lock timeout) is a database error like any other.
pub(crate) fn sqlite(err: rusqlite::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(err)))
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> StoreError {
    StoreError::Corrupt("a thread panicked while holding the inline read connections".into())
}
