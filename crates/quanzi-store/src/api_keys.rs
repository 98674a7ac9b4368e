use quanzi_domain::auth::{Scopes, SecretHash};
use quanzi_domain::ids::{ApiKeyId, OperatorId, WorkspaceId};
use quanzi_domain::time::Timestamp;

use crate::error::{Result, StoreError};
use crate::inline_reads::sqlite;
use crate::rows::{opt_text, opt_ts, text, ts, Columns};
use crate::{into_page, page_limit, Page, Store, Tx};

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub scopes: Scopes,
    pub secret_hash: SecretHash,
    pub created_by: Option<OperatorId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub scopes: Scopes,
    pub secret_hash: SecretHash,
    pub created_by: Option<OperatorId>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "id, workspace_id, name, scopes, secret_hash, created_by, created_at, last_used_at, revoked_at";

fn api_key(row: &impl Columns) -> Result<ApiKeyRow> {
    Ok(ApiKeyRow {
        id: ApiKeyId::from_trusted(text(row, "id")?),
        workspace_id: WorkspaceId::from_trusted(text(row, "workspace_id")?),
        name: text(row, "name")?,
        scopes: Scopes::parse_stored(&text(row, "scopes")?)?,
        secret_hash: SecretHash::from_stored(text(row, "secret_hash")?),
        created_by: opt_text(row, "created_by")?.map(OperatorId::from_trusted),
        created_at: ts(row, "created_at")?,
        last_used_at: opt_ts(row, "last_used_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
    })
}

impl Tx {
    pub async fn insert_api_key(&mut self, new: &NewApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, workspace_id, name, scopes, secret_hash, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new.id.as_str())
        .bind(new.workspace_id.as_str())
        .bind(&new.name)
        .bind(new.scopes.to_stored())
        .bind(new.secret_hash.as_str())
        .bind(new.created_by.as_ref().map(|id| id.to_string()))
        .bind(new.created_at.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("api_key"))?;
        Ok(())
    }

    /// Revokes a key of `workspace`; revoking twice keeps the first time. `NotFound` when the
    /// key does not exist in that workspace.
    pub async fn revoke_api_key(
        &mut self,
        workspace: &WorkspaceId,
        id: &ApiKeyId,
        at: Timestamp,
    ) -> Result<ApiKeyRow> {
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND workspace_id = $3")
            .bind(at.millis())
            .bind(id.as_str())
            .bind(workspace.as_str())
            .execute(self.conn())
            .await?;
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1 AND workspace_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(workspace.as_str())
            .fetch_optional(self.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        api_key(&row)
    }
}

impl Store {
    /// Looks a key up by id alone: used to authenticate, before the workspace is known.
    pub async fn api_key_for_auth(&self, id: &ApiKeyId) -> Result<ApiKeyRow> {
        if let Some(inline) = self.inline_reads() {
            // Every API request makes this read: on SQLite it skips the connection thread.
            return inline.read(|conn| {
                let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1");
                let mut statement = conn.prepare_cached(&sql).map_err(sqlite)?;
                let mut rows = statement.query([id.as_str()]).map_err(sqlite)?;
                match rows.next().map_err(sqlite)? {
                    Some(row) => api_key(row),
                    None => Err(StoreError::NotFound),
                }
            });
        }
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        api_key(&row)
    }

    pub async fn api_key(&self, workspace: &WorkspaceId, id: &ApiKeyId) -> Result<ApiKeyRow> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1 AND workspace_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(workspace.as_str())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)?;
        api_key(&row)
    }

    pub async fn api_keys(
        &self,
        workspace: &WorkspaceId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<ApiKeyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3");
        let rows = sqlx::query(&sql)
            .bind(workspace.as_str())
            .bind(after.unwrap_or(""))
            .bind(page_limit(limit))
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(api_key)
            .collect::<Result<Vec<_>>>()?;
        Ok(into_page(rows, limit, |k| k.id.to_string()))
    }

    /// Records use at minute granularity, so a busy key does not write on every request.
    pub async fn touch_api_key(&self, id: &ApiKeyId, at: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(at.millis())
        .bind(id.as_str())
        .bind(at.millis() - 60_000)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
