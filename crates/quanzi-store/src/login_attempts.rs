use quanzi_domain::ids::new_id_body;
use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::rows::{int, opt_ts};
use crate::Store;

/// Failed attempts inside a window: how many and the earliest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    pub count: u32,
    pub oldest: Option<Timestamp>,
}

impl Store {
    pub async fn record_login_attempt(
        &self,
        email: &str,
        address: &str,
        succeeded: bool,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query("INSERT INTO login_attempts (id, email, address, succeeded, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(format!("la_{}", new_id_body(at)))
            .bind(email)
            .bind(address)
            .bind(i64::from(succeeded))
            .bind(at.millis())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Failed attempts for `email` and from `address` since `since`.
    pub async fn login_failures_since(
        &self,
        email: &str,
        address: &str,
        since: Timestamp,
    ) -> Result<(FailureCount, FailureCount)> {
        let mut out = Vec::with_capacity(2);
        for (column, value) in [("email", email), ("address", address)] {
            let sql = format!(
                "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_attempts
                 WHERE {column} = $1 AND succeeded = 0 AND at > $2"
            );
            let row = sqlx::query(&sql)
                .bind(value)
                .bind(since.millis())
                .fetch_one(self.reader())
                .await?;
            out.push(FailureCount {
                count: u32::try_from(int(&row, "n")?).unwrap_or(u32::MAX),
                oldest: opt_ts(&row, "oldest")?,
            });
        }
        Ok((out[0], out[1]))
    }

    /// Forgets attempts older than `before` (run by a periodic job).
    pub async fn prune_login_attempts(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_attempts WHERE at < $1")
            .bind(before.millis())
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }
}
