//! Order-level promotions besides coupons: spend-threshold rules (满减送) and timed SKU
//! discounts. Their rules live in `definition` (JSON owned by the application).

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionRow {
    pub id: String,
    /// `threshold` or `timed_discount`.
    pub kind: String,
    pub name: String,
    pub definition: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// `active` or `paused`.
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str =
    "id, kind, name, definition, starts_at, ends_at, status, created_at, updated_at";

fn promotion(row: &AnyRow) -> Result<PromotionRow> {
    Ok(PromotionRow {
        id: text(row, "id")?,
        kind: text(row, "kind")?,
        name: text(row, "name")?,
        definition: text(row, "definition")?,
        starts_at: ts(row, "starts_at")?,
        ends_at: ts(row, "ends_at")?,
        status: text(row, "status")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

impl Store {
    pub async fn promotions(&self, workspace: &WorkspaceId) -> Result<Vec<PromotionRow>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM promotions WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(promotion)
        .collect()
    }

    /// Active promotions running at `now`.
    pub async fn running_promotions(
        &self,
        workspace: &WorkspaceId,
        now: Timestamp,
    ) -> Result<Vec<PromotionRow>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM promotions
             WHERE workspace_id = $1 AND status = 'active' AND ends_at > $2 AND starts_at <= $2 ORDER BY id"
        ))
        .bind(workspace.as_str())
        .bind(now.millis())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(promotion)
        .collect()
    }

    pub async fn promotion(&self, workspace: &WorkspaceId, id: &str) -> Result<PromotionRow> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM promotions WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        promotion(&row)
    }
}

impl Tx {
    pub async fn insert_promotion(
        &mut self,
        workspace: &WorkspaceId,
        row: &PromotionRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO promotions ({COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(row.id.as_str())
        .bind(row.kind.as_str())
        .bind(row.name.as_str())
        .bind(row.definition.as_str())
        .bind(row.starts_at.millis())
        .bind(row.ends_at.millis())
        .bind(row.status.as_str())
        .bind(row.created_at.millis())
        .bind(row.updated_at.millis())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("promotion"))?;
        Ok(())
    }

    /// Pauses or resumes a promotion; false when there is no such promotion.
    pub async fn set_promotion_status(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        status: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE promotions SET status = $1, updated_at = $2 WHERE workspace_id = $3 AND id = $4",
        )
        .bind(status)
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
