use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRow {
    pub id: WorkspaceId,
    pub name: String,
    pub time_zone: String,
    pub created_at: Timestamp,
}

fn workspace(row: &AnyRow) -> Result<WorkspaceRow> {
    Ok(WorkspaceRow {
        id: WorkspaceId::from_trusted(text(row, "id")?),
        name: text(row, "name")?,
        time_zone: text(row, "time_zone")?,
        created_at: ts(row, "created_at")?,
    })
}

impl Tx {
    pub async fn insert_workspace(&mut self, row: &WorkspaceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO workspaces (id, name, time_zone, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(row.id.as_str())
        .bind(&row.name)
        .bind(&row.time_zone)
        .bind(row.created_at.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("workspace"))?;
        Ok(())
    }

    pub async fn set_workspace_time_zone(&mut self, id: &WorkspaceId, zone: &str) -> Result<()> {
        let done = sqlx::query("UPDATE workspaces SET time_zone = $1 WHERE id = $2")
            .bind(zone)
            .bind(id.as_str())
            .execute(self.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

impl Store {
    pub async fn workspace(&self, id: &WorkspaceId) -> Result<WorkspaceRow> {
        let row =
            sqlx::query("SELECT id, name, time_zone, created_at FROM workspaces WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(self.reader())
                .await?
                .ok_or(StoreError::NotFound)?;
        workspace(&row)
    }

    pub async fn workspaces(&self) -> Result<Vec<WorkspaceRow>> {
        sqlx::query("SELECT id, name, time_zone, created_at FROM workspaces ORDER BY id")
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(workspace)
            .collect()
    }
}
