use quanzi_domain::auth::SecretHash;
use quanzi_domain::ids::{OperatorId, SessionId, WorkspaceId};
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub operator_id: OperatorId,
    pub workspace_id: WorkspaceId,
    pub secret_hash: SecretHash,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: SessionId,
    pub operator_id: OperatorId,
    pub workspace_id: WorkspaceId,
    pub secret_hash: SecretHash,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

fn session(row: &AnyRow) -> Result<SessionRow> {
    Ok(SessionRow {
        id: SessionId::from_trusted(text(row, "id")?),
        operator_id: OperatorId::from_trusted(text(row, "operator_id")?),
        workspace_id: WorkspaceId::from_trusted(text(row, "workspace_id")?),
        secret_hash: SecretHash::from_stored(text(row, "secret_hash")?),
        csrf_token: text(row, "csrf_token")?,
        created_at: ts(row, "created_at")?,
        expires_at: ts(row, "expires_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
    })
}

impl Tx {
    pub async fn insert_session(&mut self, new: &NewSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, operator_id, workspace_id, secret_hash, csrf_token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new.id.as_str())
        .bind(new.operator_id.as_str())
        .bind(new.workspace_id.as_str())
        .bind(new.secret_hash.as_str())
        .bind(&new.csrf_token)
        .bind(new.created_at.millis())
        .bind(new.expires_at.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("session"))?;
        Ok(())
    }
}

impl Store {
    pub async fn session(&self, id: &SessionId) -> Result<SessionRow> {
        let row = sqlx::query(
            "SELECT id, operator_id, workspace_id, secret_hash, csrf_token, created_at, expires_at, revoked_at
             FROM sessions WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        session(&row)
    }

    pub async fn revoke_session(&self, id: &SessionId, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(at.millis())
            .bind(id.as_str())
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
