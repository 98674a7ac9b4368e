//! What SKUs actually sold for, per unit after every discount, kept from paid orders for
//! the original-price check.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::promotions::compliance::{lookback_start, SalesBefore};
use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::rows::opt_int;
use crate::{Store, Tx};

/// One sold line: `(sku, line number, unit price paid)`.
pub struct SoldUnit<'a> {
    pub sku: &'a str,
    pub line: i64,
    pub unit_fen: i64,
}

impl Tx {
    pub async fn record_sku_prices(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        paid_at: Timestamp,
        sold: &[SoldUnit<'_>],
    ) -> Result<()> {
        for unit in sold {
            sqlx::query(
                "INSERT INTO sku_prices (workspace_id, sku, paid_at, order_id, line, unit_fen)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(workspace.as_str())
            .bind(unit.sku)
            .bind(paid_at.millis())
            .bind(order)
            .bind(unit.line)
            .bind(unit.unit_fen)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }
}

impl Store {
    /// The lowest price a SKU sold for in the 7 days before `start`, and its last price
    /// before `start`.
    pub async fn sales_before(
        &self,
        workspace: &WorkspaceId,
        sku: &str,
        start: Timestamp,
    ) -> Result<SalesBefore> {
        let lowest = sqlx::query(
            "SELECT MIN(unit_fen) AS lowest FROM sku_prices
             WHERE workspace_id = $1 AND sku = $2 AND paid_at >= $3 AND paid_at < $4",
        )
        .bind(workspace.as_str())
        .bind(sku)
        .bind(lookback_start(start).millis())
        .bind(start.millis())
        .fetch_one(self.reader())
        .await?;
        let last = sqlx::query(
            "SELECT unit_fen AS last FROM sku_prices
             WHERE workspace_id = $1 AND sku = $2 AND paid_at < $3
             ORDER BY paid_at DESC, order_id DESC LIMIT 1",
        )
        .bind(workspace.as_str())
        .bind(sku)
        .bind(start.millis())
        .fetch_optional(self.reader())
        .await?;
        Ok(SalesBefore {
            lowest_in_lookback_fen: opt_int(&lowest, "lowest")?,
            last_before_fen: last.map(|row| opt_int(&row, "last")).transpose()?.flatten(),
        })
    }
}
