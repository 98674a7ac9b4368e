//! Secrets the installation generates for itself on first use, shared by every node.

use quanzi_domain::ids::random_base32;
use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::Store;

impl Store {
    /// The secret called `name`, created (randomly, 52 base32 characters) if missing.
    /// Concurrent first calls on several nodes agree on one value.
    pub async fn instance_secret(&self, name: &str, now: Timestamp) -> Result<String> {
        sqlx::query("INSERT INTO instance_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(random_base32(52))
            .bind(now.millis())
            .execute(self.writer())
            .await?;
        let value: String =
            sqlx::query_scalar("SELECT value FROM instance_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(self.writer())
                .await?;
        Ok(value)
    }
}
