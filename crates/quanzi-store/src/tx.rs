use sqlx::{Any, AnyConnection, Transaction};

use crate::connect::Backend;
use crate::error::Result;

/// A write transaction. Every multi-step change happens inside one and commits once;
/// dropping it without [`Tx::commit`] rolls everything back.
pub struct Tx {
    inner: Transaction<'static, Any>,
    backend: Backend,
}

impl Tx {
    pub(crate) fn new(inner: Transaction<'static, Any>, backend: Backend) -> Self {
        Self { inner, backend }
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite: the largest rowid of `table` now. This transaction is SQLite's only writer,
    /// so the rows it inserts next are numbered above it (SQLite would pick at random only
    /// past 2^63 - 1). A bulk insert that skips conflicts learns which rows it inserted by
    /// reading those above the mark, and needs to only when it inserted fewer than it sent:
    /// `RETURNING` every row cost more than the rest of the insert's work in quanzi.
    pub(crate) async fn sqlite_rowid_mark(&mut self, table: &'static str) -> Result<i64> {
        let sql = format!("SELECT COALESCE(MAX(rowid), 0) FROM {table}");
        Ok(sqlx::query_scalar(&sql).fetch_one(self.conn()).await?)
    }

    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        Ok(())
    }
}
