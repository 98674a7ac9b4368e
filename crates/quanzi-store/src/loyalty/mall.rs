//! Points-mall items and redemptions. Stock is taken by a conditional update, so two
//! redemptions racing for the last unit cannot both get it.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::rows::{int, opt_int, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MallItemRow {
    pub id: String,
    pub name: String,
    pub points: i64,
    pub cash_fen: i64,
    pub stock: i64,
    pub per_member_limit: Option<i64>,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionRow {
    pub id: String,
    pub item_id: String,
    pub member_id: String,
    pub quantity: i64,
    pub points: i64,
    pub cash_fen: i64,
    /// `active` or `cancelled`.
    pub status: String,
    pub created_at: Timestamp,
    pub cancelled_at: Option<Timestamp>,
}

const ITEM_COLUMNS: &str =
    "id, name, points, cash_fen, stock, per_member_limit, active, created_at";
const REDEMPTION_COLUMNS: &str =
    "id, item_id, member_id, quantity, points, cash_fen, status, created_at, cancelled_at";

fn item(row: &AnyRow) -> Result<MallItemRow> {
    Ok(MallItemRow {
        id: text(row, "id")?,
        name: text(row, "name")?,
        points: int(row, "points")?,
        cash_fen: int(row, "cash_fen")?,
        stock: int(row, "stock")?,
        per_member_limit: opt_int(row, "per_member_limit")?,
        active: int(row, "active")? != 0,
        created_at: ts(row, "created_at")?,
    })
}

fn redemption(row: &AnyRow) -> Result<RedemptionRow> {
    Ok(RedemptionRow {
        id: text(row, "id")?,
        item_id: text(row, "item_id")?,
        member_id: text(row, "member_id")?,
        quantity: int(row, "quantity")?,
        points: int(row, "points")?,
        cash_fen: int(row, "cash_fen")?,
        status: text(row, "status")?,
        created_at: ts(row, "created_at")?,
        cancelled_at: opt_ts(row, "cancelled_at")?,
    })
}

impl Store {
    pub async fn mall_items(&self, workspace: &WorkspaceId) -> Result<Vec<MallItemRow>> {
        sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM loyalty_mall_items WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(item)
        .collect()
    }

    pub async fn mall_item(&self, workspace: &WorkspaceId, id: &str) -> Result<MallItemRow> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM loyalty_mall_items WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        item(&row)
    }

    pub async fn redemptions_of(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<RedemptionRow>> {
        sqlx::query(&format!(
            "SELECT {REDEMPTION_COLUMNS} FROM loyalty_redemptions
             WHERE workspace_id = $1 AND member_id = $2 ORDER BY created_at DESC, id LIMIT 200"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(redemption)
        .collect()
    }
}

impl Tx {
    pub async fn insert_mall_item(
        &mut self,
        workspace: &WorkspaceId,
        row: &MallItemRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO loyalty_mall_items ({ITEM_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(row.id.as_str())
        .bind(row.name.as_str())
        .bind(row.points)
        .bind(row.cash_fen)
        .bind(row.stock)
        .bind(row.per_member_limit)
        .bind(i64::from(row.active))
        .bind(row.created_at.millis())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("mall_item"))?;
        Ok(())
    }

    /// Takes `quantity` units if that many are left; false (and nothing taken) otherwise.
    pub async fn take_stock(
        &mut self,
        workspace: &WorkspaceId,
        item: &str,
        quantity: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE loyalty_mall_items SET stock = stock - $1
             WHERE workspace_id = $2 AND id = $3 AND active = 1 AND stock >= $1",
        )
        .bind(quantity)
        .bind(workspace.as_str())
        .bind(item)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn return_stock(
        &mut self,
        workspace: &WorkspaceId,
        item: &str,
        quantity: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE loyalty_mall_items SET stock = stock + $1 WHERE workspace_id = $2 AND id = $3",
        )
        .bind(quantity)
        .bind(workspace.as_str())
        .bind(item)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Units of `item` the member holds in redemptions that were not cancelled.
    pub async fn redeemed_quantity(
        &mut self,
        workspace: &WorkspaceId,
        item: &str,
        member: &str,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS total FROM loyalty_redemptions
             WHERE workspace_id = $1 AND item_id = $2 AND member_id = $3 AND status = 'active'",
        )
        .bind(workspace.as_str())
        .bind(item)
        .bind(member)
        .fetch_one(self.conn())
        .await?;
        int(&row, "total")
    }

    pub async fn insert_redemption(
        &mut self,
        workspace: &WorkspaceId,
        row: &RedemptionRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO loyalty_redemptions ({REDEMPTION_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(row.id.as_str())
        .bind(row.item_id.as_str())
        .bind(row.member_id.as_str())
        .bind(row.quantity)
        .bind(row.points)
        .bind(row.cash_fen)
        .bind(row.status.as_str())
        .bind(row.created_at.millis())
        .bind(row.cancelled_at.map(Timestamp::millis))
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("redemption"))?;
        Ok(())
    }

    /// The redemption, locked for a cancellation (`FOR UPDATE` on PostgreSQL).
    pub async fn lock_redemption(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<RedemptionRow> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(&format!(
            "SELECT {REDEMPTION_COLUMNS} FROM loyalty_redemptions WHERE workspace_id = $1 AND id = $2 {lock}"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.conn())
        .await?
        .ok_or(StoreError::NotFound)?;
        redemption(&row)
    }

    pub async fn cancel_redemption(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("UPDATE loyalty_redemptions SET status = 'cancelled', cancelled_at = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(now.millis())
            .bind(workspace.as_str())
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
