//! Benefits a checkout's promotions grant on payment (points, gift coupons), stored as
//! JSON owned by the application until the order arrives.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::rows::text;
use crate::Tx;

impl Tx {
    /// Replaces what an order's checkout will grant (`None`: nothing).
    pub async fn set_checkout_benefits(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        member: &str,
        benefits: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("DELETE FROM checkout_benefits WHERE workspace_id = $1 AND order_id = $2")
            .bind(workspace.as_str())
            .bind(order)
            .execute(self.conn())
            .await?;
        if let Some(benefits) = benefits {
            sqlx::query(
                "INSERT INTO checkout_benefits (workspace_id, order_id, member_id, benefits, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(workspace.as_str())
            .bind(order)
            .bind(member)
            .bind(benefits)
            .bind(now.millis())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Takes an order's pending benefits (they are granted once): `(member, benefits)`.
    pub async fn take_checkout_benefits(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
    ) -> Result<Option<(String, String)>> {
        let row = sqlx::query(
            "DELETE FROM checkout_benefits WHERE workspace_id = $1 AND order_id = $2
             RETURNING member_id, benefits",
        )
        .bind(workspace.as_str())
        .bind(order)
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| Ok((text(&r, "member_id")?, text(&r, "benefits")?)))
            .transpose()
    }
}
