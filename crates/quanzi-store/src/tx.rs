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

    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        Ok(())
    }
}
