//! A member merged into another: their coupons, per-member coupon and flash-sale counters,
//! flash reservations and the grants of unpaid checkouts follow the survivor (OneID: what a
//! person holds follows them). Counters add up, so a limit the two reached apart stays
//! reached together.

use quanzi_domain::ids::WorkspaceId;

use crate::error::Result;
use crate::Tx;

impl Tx {
    pub async fn merge_promotions(
        &mut self,
        workspace: &WorkspaceId,
        survivor: &str,
        merged: &str,
    ) -> Result<()> {
        for table in ["coupons", "flash_reservations", "checkout_benefits"] {
            sqlx::query(&format!(
                "UPDATE {table} SET member_id = $1 WHERE workspace_id = $2 AND member_id = $3"
            ))
            .bind(survivor)
            .bind(workspace.as_str())
            .bind(merged)
            .execute(self.conn())
            .await?;
        }
        for (table, key, counters) in [
            (
                "coupon_member_counts",
                "template_id",
                &["claimed", "used"][..],
            ),
            ("flash_member_counts", "sale_id", &["held"][..]),
        ] {
            let columns = counters.join(", ");
            let sums = counters
                .iter()
                .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            sqlx::query(&format!(
                "INSERT INTO {table} (workspace_id, {key}, member_id, {columns})
                 SELECT workspace_id, {key}, $1, {columns} FROM {table}
                 WHERE workspace_id = $2 AND member_id = $3
                 ON CONFLICT (workspace_id, {key}, member_id) DO UPDATE SET {sums}"
            ))
            .bind(survivor)
            .bind(workspace.as_str())
            .bind(merged)
            .execute(self.conn())
            .await?;
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE workspace_id = $1 AND member_id = $2"
            ))
            .bind(workspace.as_str())
            .bind(merged)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }
}
