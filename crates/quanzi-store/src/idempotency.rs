//! Stored `Idempotency-Key` records. The first request claims the key by inserting a row;
//! the primary key (workspace, key) makes concurrent claims race safely in the database.

use quanzi_domain::idempotency::{decide, Decision, IdempotencyKey, KeyRecord, RequestFingerprint};
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::Result;
use crate::rows::{int, opt_int, opt_text, text};
use crate::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This request owns the key: run it, then [`Store::complete_idempotency_key`].
    Claimed,
    Replay(StoredResponse),
    Mismatch,
    InFlight,
}

struct Record {
    key: KeyRecord,
    response: Option<StoredResponse>,
}

fn record(row: &AnyRow) -> Result<Record> {
    let status = opt_int(row, "response_status")?;
    let response = match status {
        Some(status) => Some(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            content_type: opt_text(row, "response_content_type")?,
            body: opt_text(row, "response_body")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Record {
        key: KeyRecord {
            fingerprint: RequestFingerprint::from_stored(text(row, "fingerprint")?),
            completed: response.is_some(),
            expires_at: quanzi_domain::time::Timestamp::from_millis(int(row, "expires_at")?),
            locked_until: quanzi_domain::time::Timestamp::from_millis(int(row, "locked_until")?),
        },
        response,
    })
}

impl Store {
    /// Claims `key` for this request or says why not. `lock_for` bounds how long a claim
    /// blocks retries if this node dies mid-request; `ttl` is how long the key is remembered.
    pub async fn claim_idempotency_key(
        &self,
        workspace: &WorkspaceId,
        key: &IdempotencyKey,
        fingerprint: &RequestFingerprint,
        now: Timestamp,
        lock_for: std::time::Duration,
        ttl: std::time::Duration,
    ) -> Result<ClaimOutcome> {
        let mut tx = self.begin().await?;
        let existing = sqlx::query(
            "SELECT fingerprint, response_status, response_content_type, response_body, locked_until, expires_at
             FROM idempotency_keys WHERE workspace_id = $1 AND idem_key = $2",
        )
        .bind(workspace.as_str())
        .bind(key.as_str())
        .fetch_optional(tx.conn())
        .await?
        .map(|row| record(&row))
        .transpose()?;
        let outcome = match decide(existing.as_ref().map(|r| &r.key), fingerprint, now) {
            Decision::Replay => {
                let response = existing
                    .and_then(|r| r.response)
                    .expect("replay implies a response");
                return Ok(ClaimOutcome::Replay(response));
            }
            Decision::Mismatch => return Ok(ClaimOutcome::Mismatch),
            Decision::InFlight => return Ok(ClaimOutcome::InFlight),
            Decision::TakeOver => {
                sqlx::query(
                    "DELETE FROM idempotency_keys WHERE workspace_id = $1 AND idem_key = $2",
                )
                .bind(workspace.as_str())
                .bind(key.as_str())
                .execute(tx.conn())
                .await?;
                ClaimOutcome::Claimed
            }
            Decision::Execute => ClaimOutcome::Claimed,
        };
        // ON CONFLICT DO NOTHING: a concurrent claim that committed first wins, and this
        // request then reports the key as in flight.
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (workspace_id, idem_key, fingerprint, created_at, locked_until, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, idem_key) DO NOTHING",
        )
        .bind(workspace.as_str())
        .bind(key.as_str())
        .bind(fingerprint.as_str())
        .bind(now.millis())
        .bind(now.plus(lock_for).millis())
        .bind(now.plus(ttl).millis())
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(if inserted == 1 {
            outcome
        } else {
            ClaimOutcome::InFlight
        })
    }

    pub async fn complete_idempotency_key(
        &self,
        workspace: &WorkspaceId,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = $1, response_content_type = $2, response_body = $3
             WHERE workspace_id = $4 AND idem_key = $5",
        )
        .bind(i64::from(response.status))
        .bind(response.content_type.as_deref())
        .bind(&response.body)
        .bind(workspace.as_str())
        .bind(key.as_str())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Lets the key be used again: the request failed in a way worth retrying.
    pub async fn release_idempotency_key(
        &self,
        workspace: &WorkspaceId,
        key: &IdempotencyKey,
    ) -> Result<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE workspace_id = $1 AND idem_key = $2 AND response_status IS NULL")
            .bind(workspace.as_str())
            .bind(key.as_str())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    pub async fn prune_idempotency_keys(&self, now: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
            .bind(now.millis())
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }
}
