//! Group-buy campaigns, groups and their members.
//!
//! A seat is taken by `joined = joined + 1 WHERE joined < seats AND status = 'open'`, so a
//! group never has more members than seats whatever joins at once on however many nodes;
//! a member is in a group once (primary key) and an order buys one seat (unique index);
//! a member's groups per campaign are counted under the campaign's limit by a conditional
//! upsert. A group ends once: the move out of `open` is a conditional update.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{int, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBuyCampaignRow {
    pub id: String,
    pub name: String,
    pub definition: String,
    pub sku: String,
    pub group_size: i64,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub status: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub id: String,
    pub campaign_id: String,
    pub leader_id: String,
    pub seats: i64,
    pub joined: i64,
    /// `open`, `succeeded`, `succeeded_virtually` or `failed`.
    pub status: String,
    pub opened_at: Timestamp,
    pub expires_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMemberRow {
    pub group_id: String,
    pub member_id: String,
    pub order_id: String,
    pub leader: bool,
    pub joined_at: Timestamp,
    pub refunded_at: Option<Timestamp>,
}

/// Per-campaign figures for operators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupBuyStats {
    pub open: i64,
    pub succeeded: i64,
    pub succeeded_virtually: i64,
    pub failed: i64,
    /// Members in groups of the campaign.
    pub joins: i64,
    /// Mean time from opening to filling, over groups that filled (milliseconds).
    pub mean_fill_ms: Option<i64>,
}

/// Why a seat could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefusal {
    GroupFull,
    GroupClosed,
    AlreadyInGroup,
    LimitReached,
    OrderUsed,
}

const CAMPAIGN_COLUMNS: &str =
    "id, name, definition, sku, group_size, starts_at, ends_at, status, created_at";
const GROUP_COLUMNS: &str =
    "id, campaign_id, leader_id, seats, joined, status, opened_at, expires_at, ended_at";
const MEMBER_COLUMNS: &str = "group_id, member_id, order_id, leader, joined_at, refunded_at";

fn campaign(row: &AnyRow) -> Result<GroupBuyCampaignRow> {
    Ok(GroupBuyCampaignRow {
        id: text(row, "id")?,
        name: text(row, "name")?,
        definition: text(row, "definition")?,
        sku: text(row, "sku")?,
        group_size: int(row, "group_size")?,
        starts_at: ts(row, "starts_at")?,
        ends_at: ts(row, "ends_at")?,
        status: text(row, "status")?,
        created_at: ts(row, "created_at")?,
    })
}

fn group(row: &AnyRow) -> Result<GroupRow> {
    Ok(GroupRow {
        id: text(row, "id")?,
        campaign_id: text(row, "campaign_id")?,
        leader_id: text(row, "leader_id")?,
        seats: int(row, "seats")?,
        joined: int(row, "joined")?,
        status: text(row, "status")?,
        opened_at: ts(row, "opened_at")?,
        expires_at: ts(row, "expires_at")?,
        ended_at: opt_ts(row, "ended_at")?,
    })
}

fn member(row: &AnyRow) -> Result<GroupMemberRow> {
    Ok(GroupMemberRow {
        group_id: text(row, "group_id")?,
        member_id: text(row, "member_id")?,
        order_id: text(row, "order_id")?,
        leader: int(row, "leader")? != 0,
        joined_at: ts(row, "joined_at")?,
        refunded_at: opt_ts(row, "refunded_at")?,
    })
}

impl Store {
    pub async fn group_buy_campaigns(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<GroupBuyCampaignRow>> {
        sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM group_buy_campaigns WHERE workspace_id = $1 ORDER BY id DESC LIMIT 500"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(campaign)
        .collect()
    }

    pub async fn group_buy_campaign(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<GroupBuyCampaignRow> {
        let row = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM group_buy_campaigns WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        campaign(&row)
    }

    pub async fn group(&self, workspace: &WorkspaceId, id: &str) -> Result<GroupRow> {
        let row = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM group_buy_groups WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        group(&row)
    }

    pub async fn group_members(
        &self,
        workspace: &WorkspaceId,
        group_id: &str,
    ) -> Result<Vec<GroupMemberRow>> {
        sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM group_buy_members
             WHERE workspace_id = $1 AND group_id = $2 ORDER BY joined_at, member_id"
        ))
        .bind(workspace.as_str())
        .bind(group_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(member)
        .collect()
    }

    /// A campaign's open groups, soonest to expire first (for "join a group" lists).
    pub async fn open_groups(
        &self,
        workspace: &WorkspaceId,
        campaign_id: &str,
        now: Timestamp,
    ) -> Result<Vec<GroupRow>> {
        sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM group_buy_groups
             WHERE workspace_id = $1 AND campaign_id = $2 AND status = 'open' AND expires_at > $3
             ORDER BY expires_at, id LIMIT 200"
        ))
        .bind(workspace.as_str())
        .bind(campaign_id)
        .bind(now.millis())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(group)
        .collect()
    }

    /// Open groups whose time is up: `(workspace, group)`.
    pub async fn due_groups(&self, now: Timestamp, limit: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT workspace_id, id FROM group_buy_groups
             WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now.millis())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((text(r, "workspace_id")?, text(r, "id")?)))
            .collect()
    }

    /// A recorded order by the storefront's order number: `(id, member, status, skus)`.
    pub async fn order_for_seat(
        &self,
        workspace: &WorkspaceId,
        external_id: &str,
    ) -> Result<Option<(String, String, String, Vec<String>)>> {
        let Some(row) = sqlx::query(
            "SELECT id, member_id, status FROM orders WHERE workspace_id = $1 AND external_id = $2",
        )
        .bind(workspace.as_str())
        .bind(external_id)
        .fetch_optional(self.reader())
        .await?
        else {
            return Ok(None);
        };
        let id = text(&row, "id")?;
        let skus = sqlx::query("SELECT sku FROM order_items WHERE order_id = $1 ORDER BY line")
            .bind(id.as_str())
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|r| text(r, "sku"))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some((
            id,
            text(&row, "member_id")?,
            text(&row, "status")?,
            skus,
        )))
    }

    /// Seats of failed groups whose refund has not been recorded yet:
    /// `(workspace, group, member, order external id)`.
    pub async fn unrefunded_failed_seats(
        &self,
        limit: i64,
    ) -> Result<Vec<(String, String, String, String)>> {
        let rows = sqlx::query(
            "SELECT m.workspace_id, m.group_id, m.member_id, m.order_id FROM group_buy_members m
             JOIN group_buy_groups g ON g.workspace_id = m.workspace_id AND g.id = m.group_id
             WHERE g.status = 'failed' AND m.refunded_at IS NULL ORDER BY m.group_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    text(r, "workspace_id")?,
                    text(r, "group_id")?,
                    text(r, "member_id")?,
                    text(r, "order_id")?,
                ))
            })
            .collect()
    }

    /// Share events tagged with a campaign (`campaign_id`), for share-to-join conversion.
    pub async fn campaign_shares(&self, workspace: &WorkspaceId, campaign_id: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM events
             WHERE workspace_id = $1 AND type = 'share' AND campaign_id = $2",
        )
        .bind(workspace.as_str())
        .bind(campaign_id)
        .fetch_one(self.reader())
        .await?;
        int(&row, "n")
    }

    pub async fn group_buy_stats(
        &self,
        workspace: &WorkspaceId,
        campaign_id: &str,
    ) -> Result<GroupBuyStats> {
        let rows = sqlx::query(
            "SELECT status, CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(joined), 0) AS BIGINT) AS members,
                    CAST(COALESCE(SUM(CASE WHEN status = 'succeeded' THEN ended_at - opened_at ELSE 0 END), 0) AS BIGINT) AS fill_ms
             FROM group_buy_groups WHERE workspace_id = $1 AND campaign_id = $2 GROUP BY status",
        )
        .bind(workspace.as_str())
        .bind(campaign_id)
        .fetch_all(self.reader())
        .await?;
        let mut stats = GroupBuyStats::default();
        let mut fill_ms = 0;
        for row in &rows {
            let n = int(row, "n")?;
            stats.joins += int(row, "members")?;
            match text(row, "status")?.as_str() {
                "open" => stats.open = n,
                "succeeded" => {
                    stats.succeeded = n;
                    fill_ms = int(row, "fill_ms")?;
                }
                "succeeded_virtually" => stats.succeeded_virtually = n,
                _ => stats.failed = n,
            }
        }
        stats.mean_fill_ms = (stats.succeeded > 0).then(|| fill_ms / stats.succeeded);
        Ok(stats)
    }
}

impl Tx {
    pub async fn insert_group_buy_campaign(
        &mut self,
        workspace: &WorkspaceId,
        row: &GroupBuyCampaignRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO group_buy_campaigns ({CAMPAIGN_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(row.id.as_str())
        .bind(row.name.as_str())
        .bind(row.definition.as_str())
        .bind(row.sku.as_str())
        .bind(row.group_size)
        .bind(row.starts_at.millis())
        .bind(row.ends_at.millis())
        .bind(row.status.as_str())
        .bind(row.created_at.millis())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("group_buy_campaign"))?;
        Ok(())
    }

    /// Counts one more group for the member under `limit`; false if at the limit.
    async fn count_member_group(
        &mut self,
        workspace: &WorkspaceId,
        campaign: &str,
        member: &str,
        limit: i64,
    ) -> Result<bool> {
        let row = sqlx::query(
            "INSERT INTO group_buy_member_counts (workspace_id, campaign_id, member_id, groups)
             VALUES ($1, $2, $3, 1)
             ON CONFLICT (workspace_id, campaign_id, member_id)
             DO UPDATE SET groups = group_buy_member_counts.groups + 1
             WHERE group_buy_member_counts.groups < $4
             RETURNING groups",
        )
        .bind(workspace.as_str())
        .bind(campaign)
        .bind(member)
        .bind(limit)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.is_some())
    }

    /// Adds the member row; a member already in the group or an order already used is a
    /// refusal, not an error.
    async fn insert_group_member(
        &mut self,
        workspace: &WorkspaceId,
        campaign: &str,
        row: &GroupMemberRow,
    ) -> Result<std::result::Result<(), JoinRefusal>> {
        let done = sqlx::query(&format!(
            "INSERT INTO group_buy_members ({MEMBER_COLUMNS}, campaign_id, workspace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
        ))
        .bind(row.group_id.as_str())
        .bind(row.member_id.as_str())
        .bind(row.order_id.as_str())
        .bind(i64::from(row.leader))
        .bind(row.joined_at.millis())
        .bind(row.refunded_at.map(Timestamp::millis))
        .bind(campaign)
        .bind(workspace.as_str())
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 1 {
            return Ok(Ok(()));
        }
        let in_group = sqlx::query(
            "SELECT member_id FROM group_buy_members WHERE workspace_id = $1 AND group_id = $2 AND member_id = $3",
        )
        .bind(workspace.as_str())
        .bind(row.group_id.as_str())
        .bind(row.member_id.as_str())
        .fetch_optional(self.conn())
        .await?;
        Ok(Err(match in_group {
            Some(_) => JoinRefusal::AlreadyInGroup,
            None => JoinRefusal::OrderUsed,
        }))
    }

    /// Opens a group with its leader in the first seat. The caller rolls back (drops the
    /// transaction) on a refusal.
    pub async fn open_group(
        &mut self,
        workspace: &WorkspaceId,
        row: &GroupRow,
        leader: &GroupMemberRow,
        per_member_limit: i64,
    ) -> Result<std::result::Result<(), JoinRefusal>> {
        if !self
            .count_member_group(
                workspace,
                &row.campaign_id,
                &leader.member_id,
                per_member_limit,
            )
            .await?
        {
            return Ok(Err(JoinRefusal::LimitReached));
        }
        sqlx::query(&format!(
            "INSERT INTO group_buy_groups ({GROUP_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(row.id.as_str())
        .bind(row.campaign_id.as_str())
        .bind(row.leader_id.as_str())
        .bind(row.seats)
        .bind(row.joined)
        .bind(row.status.as_str())
        .bind(row.opened_at.millis())
        .bind(row.expires_at.millis())
        .bind(row.ended_at.map(Timestamp::millis))
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("group"))?;
        self.insert_group_member(workspace, &row.campaign_id, leader)
            .await
    }

    /// Takes a seat in an open, unexpired group for `joiner`; returns the group as it is
    /// after the join (full groups are marked succeeded here). The caller rolls back (drops
    /// the transaction) on a refusal.
    pub async fn join_group(
        &mut self,
        workspace: &WorkspaceId,
        group_id: &str,
        joiner: &GroupMemberRow,
        per_member_limit: i64,
        now: Timestamp,
    ) -> Result<std::result::Result<GroupRow, JoinRefusal>> {
        let taken = sqlx::query(&format!(
            "UPDATE group_buy_groups SET joined = joined + 1,
                 status = CASE WHEN joined + 1 = seats THEN 'succeeded' ELSE status END,
                 ended_at = CASE WHEN joined + 1 = seats THEN $1 ELSE ended_at END
             WHERE workspace_id = $2 AND id = $3 AND status = 'open' AND joined < seats AND expires_at > $1
             RETURNING {GROUP_COLUMNS}"
        ))
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(group_id)
        .fetch_optional(self.conn())
        .await?;
        let Some(taken) = taken else {
            let current = sqlx::query(
                "SELECT status, joined, seats FROM group_buy_groups WHERE workspace_id = $1 AND id = $2",
            )
            .bind(workspace.as_str())
            .bind(group_id)
            .fetch_optional(self.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
            let full = int(&current, "joined")? >= int(&current, "seats")?;
            return Ok(Err(if full {
                JoinRefusal::GroupFull
            } else {
                JoinRefusal::GroupClosed
            }));
        };
        let taken = group(&taken)?;
        // Being in this group already says more than being at the campaign's limit.
        if let Err(refusal) = self
            .insert_group_member(workspace, &taken.campaign_id, joiner)
            .await?
        {
            return Ok(Err(refusal));
        }
        if !self
            .count_member_group(
                workspace,
                &taken.campaign_id,
                &joiner.member_id,
                per_member_limit,
            )
            .await?
        {
            return Ok(Err(JoinRefusal::LimitReached));
        }
        Ok(Ok(taken))
    }

    /// Ends an open group with `status`; None if it had already ended (so each group
    /// ends once).
    pub async fn end_group(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        status: &str,
        now: Timestamp,
    ) -> Result<Option<GroupRow>> {
        let row = sqlx::query(&format!(
            "UPDATE group_buy_groups SET status = $1, ended_at = $2
             WHERE workspace_id = $3 AND id = $4 AND status = 'open'
             RETURNING {GROUP_COLUMNS}"
        ))
        .bind(status)
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(group).transpose()
    }

    pub async fn group_members_in(
        &mut self,
        workspace: &WorkspaceId,
        group_id: &str,
    ) -> Result<Vec<GroupMemberRow>> {
        sqlx::query(&format!(
            "SELECT {MEMBER_COLUMNS} FROM group_buy_members
             WHERE workspace_id = $1 AND group_id = $2 ORDER BY joined_at, member_id"
        ))
        .bind(workspace.as_str())
        .bind(group_id)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(member)
        .collect()
    }

    /// Marks a failed group's seat refunded; false if it already was.
    pub async fn mark_group_member_refunded(
        &mut self,
        workspace: &WorkspaceId,
        group_id: &str,
        member: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE group_buy_members SET refunded_at = $1
             WHERE workspace_id = $2 AND group_id = $3 AND member_id = $4 AND refunded_at IS NULL",
        )
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(group_id)
        .bind(member)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
