use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::Result;
use crate::rows::{text, ts};
use crate::{into_page, page_limit, Page, Store, Tx};

/// Who did what to which object, e.g. (`op_…`, `api_key.revoke`, `key_…`).
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub workspace_id: WorkspaceId,
    pub actor: String,
    pub action: &'static str,
    pub target: String,
    /// JSON text with the relevant facts (never secrets).
    pub details: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub at: Timestamp,
}

fn entry(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: text(row, "id")?,
        actor: text(row, "actor")?,
        action: text(row, "action")?,
        target: text(row, "target")?,
        details: text(row, "details")?,
        at: ts(row, "at")?,
    })
}

impl Tx {
    /// Audit entries are written in the transaction of the change they describe.
    pub async fn audit(&mut self, entry: &NewAuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, workspace_id, actor, action, target, details, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(format!("aud_{}", new_id_body(entry.at)))
        .bind(entry.workspace_id.as_str())
        .bind(&entry.actor)
        .bind(entry.action)
        .bind(&entry.target)
        .bind(&entry.details)
        .bind(entry.at.millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// Newest first.
    pub async fn audit_log(
        &self,
        workspace: &WorkspaceId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, actor, action, target, details, at FROM audit_log
             WHERE workspace_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(workspace.as_str())
        .bind(before.unwrap_or(""))
        .bind(page_limit(limit))
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(entry)
        .collect::<Result<Vec<_>>>()?;
        Ok(into_page(rows, limit, |e| e.id.clone()))
    }
}
