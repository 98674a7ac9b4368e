//! Cancelling a whole flash sale, exactly: once the cancellation commits, no reservation
//! commits after it.
//!
//! Reservations are written in groups that take stock rows first and read the sale's
//! status last, in the same transaction (`flash_sale_is_open`). Cancelling locks every
//! stock row of the sale before it changes the status. So on PostgreSQL a group either
//! took its rows before the cancellation did — the cancellation waits for it to commit
//! and then sees its reservations — or after, in which case its last read sees the sale
//! cancelled and it rolls back. On SQLite the single writer orders them anyway.
//!
//! The stock rows are locked in byte order of SKU (`COLLATE "C"`, whatever the
//! database's collation), then bucket: the order groups wait in (`flash_group`). The
//! cancellation takes no other row, so it never holds a bucket while waiting for a
//! member's hold; releasing the sale's reservations happens afterwards, each in its own
//! transaction.

use quanzi_domain::ids::WorkspaceId;

use crate::connect::Backend;
use crate::error::Result;
use crate::rows::text;
use crate::{Store, Tx};

impl Tx {
    /// Marks an active sale `cancelled`; false when it is unknown or not active.
    pub async fn cancel_flash_sale(&mut self, workspace: &WorkspaceId, id: &str) -> Result<bool> {
        if self.backend() == Backend::Postgres {
            sqlx::query(
                "SELECT bucket FROM flash_stock WHERE workspace_id = $1 AND sale_id = $2
                 ORDER BY sku COLLATE \"C\", bucket FOR UPDATE",
            )
            .bind(workspace.as_str())
            .bind(id)
            .fetch_all(self.conn())
            .await?;
        }
        let cancelled = sqlx::query(
            "UPDATE flash_sales SET status = 'cancelled'
             WHERE workspace_id = $1 AND id = $2 AND status = 'active' RETURNING id",
        )
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        Ok(cancelled.is_some())
    }

    /// Whether the sale still takes reservations, read after this transaction took its
    /// stock (see the module comment for why the order matters).
    pub async fn flash_sale_is_open(
        &mut self,
        workspace: &WorkspaceId,
        sale: &str,
    ) -> Result<bool> {
        let open = sqlx::query(
            "SELECT 1 AS one FROM flash_sales WHERE workspace_id = $1 AND id = $2 AND status = 'active'",
        )
        .bind(workspace.as_str())
        .bind(sale)
        .fetch_optional(self.conn())
        .await?;
        Ok(open.is_some())
    }
}

impl Store {
    /// The sale's reservations still waiting for payment.
    pub async fn unpaid_flash_reservations(
        &self,
        workspace: &WorkspaceId,
        sale: &str,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM flash_reservations
             WHERE workspace_id = $1 AND sale_id = $2 AND status = 'reserved' ORDER BY id",
        )
        .bind(workspace.as_str())
        .bind(sale)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| text(r, "id")).collect()
    }
}
