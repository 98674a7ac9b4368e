//! Members' tiers and the growth values they are decided by.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::rows::{int, opt_ts, text, ts};
use crate::{Store, Tx};

/// A member's tier as last decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberTierRow {
    pub tier: String,
    pub since: Timestamp,
    pub reviewed_at: Option<Timestamp>,
}

async fn member_tier<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    workspace: &WorkspaceId,
    member: &str,
) -> Result<Option<MemberTierRow>> {
    let row = sqlx::query(
        "SELECT tier, since, reviewed_at FROM loyalty_member_tiers WHERE workspace_id = $1 AND member_id = $2",
    )
    .bind(workspace.as_str())
    .bind(member)
    .fetch_optional(executor)
    .await?;
    row.map(|r| {
        Ok(MemberTierRow {
            tier: text(&r, "tier")?,
            since: ts(&r, "since")?,
            reviewed_at: opt_ts(&r, "reviewed_at")?,
        })
    })
    .transpose()
}

impl Store {
    pub async fn member_tier(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Option<MemberTierRow>> {
        member_tier(self.reader(), workspace, member).await
    }

    /// Members whose tier may change: those holding one, with points, or with orders.
    pub async fn tier_candidates(&self, workspace: &WorkspaceId) -> Result<Vec<String>> {
        sqlx::query(
            "SELECT member_id FROM loyalty_member_tiers WHERE workspace_id = $1
             UNION SELECT member_id FROM loyalty_accounts WHERE workspace_id = $1 AND kind = 'wallet'
             UNION SELECT id AS member_id FROM members WHERE workspace_id = $1 AND merged_into IS NULL AND order_count > 0",
        )
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| text(row, "member_id"))
        .collect()
    }
}

impl Tx {
    /// The member's order count as this transaction sees it (0 for a member it created).
    pub async fn member_order_count(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<i64> {
        let row =
            sqlx::query("SELECT order_count FROM members WHERE workspace_id = $1 AND id = $2")
                .bind(workspace.as_str())
                .bind(member)
                .fetch_optional(self.conn())
                .await?;
        row.map(|r| int(&r, "order_count"))
            .transpose()
            .map(|c| c.unwrap_or(0))
    }

    pub async fn member_tier(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Option<MemberTierRow>> {
        member_tier(self.conn(), workspace, member).await
    }

    pub async fn set_member_tier(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        tier: &str,
        changed: bool,
        reviewed: bool,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO loyalty_member_tiers (workspace_id, member_id, tier, since, reviewed_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (workspace_id, member_id) DO UPDATE SET
                tier = excluded.tier,
                since = CASE WHEN $6 = 1 THEN excluded.since ELSE loyalty_member_tiers.since END,
                reviewed_at = CASE WHEN $7 = 1 THEN excluded.reviewed_at ELSE loyalty_member_tiers.reviewed_at END",
        )
        .bind(workspace.as_str())
        .bind(member)
        .bind(tier)
        .bind(now.millis())
        .bind(reviewed.then_some(now.millis()))
        .bind(i64::from(changed))
        .bind(i64::from(reviewed))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Fen the member paid for orders since `since` less what was refunded since then.
    pub async fn spend_since(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        since: Timestamp,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE((SELECT SUM(paid_fen) FROM orders WHERE workspace_id = $1 AND member_id = $2 AND paid_at >= $3), 0)
                  - COALESCE((SELECT SUM(r.amount_fen) FROM refunds r JOIN orders o ON o.id = r.order_id
                               WHERE o.workspace_id = $1 AND o.member_id = $2 AND r.refunded_at >= $3), 0) AS BIGINT) AS spend",
        )
        .bind(workspace.as_str())
        .bind(member)
        .bind(since.millis())
        .fetch_one(self.conn())
        .await?;
        int(&row, "spend")
    }

    /// Points the member earned since `since` (earnings and settled order points) less
    /// what refunds took back.
    pub async fn points_earned_since(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        since: Timestamp,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE
                    WHEN kind IN ('earn', 'post') AND credit = $3 AND phase IN ('single', 'post') THEN amount
                    WHEN kind IN ('reverse', 'carry', 'debt') THEN -amount
                    ELSE 0 END), 0) AS BIGINT) AS earned
             FROM loyalty_transfers WHERE workspace_id = $1 AND member_id = $2 AND created_at >= $4",
        )
        .bind(workspace.as_str())
        .bind(member)
        .bind(format!("wallet:{member}"))
        .bind(since.millis())
        .fetch_one(self.conn())
        .await?;
        int(&row, "earned")
    }
}
