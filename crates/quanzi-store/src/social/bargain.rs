//! Bargain campaigns, bargains and helps.
//!
//! A help takes the next position by `helpers = helpers + 1 WHERE helpers < helpers_needed`
//! (so a bargain never gets more helpers than it needs, whatever arrives at once), and the
//! help row's unique index on (campaign, helper) keeps one help per helper per campaign.
//! The cut at each position comes from the bargain's seed, so the application computes it
//! from the position this update returns.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{int, opt_text, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BargainCampaignRow {
    pub id: String,
    pub name: String,
    pub definition: String,
    pub sku: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub status: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BargainRow {
    pub id: String,
    pub campaign_id: String,
    pub member_id: String,
    pub seed: i64,
    pub helpers: i64,
    pub helpers_needed: i64,
    pub price_fen: i64,
    pub floor_fen: i64,
    /// `open` or `purchased`.
    pub status: String,
    pub started_at: Timestamp,
    pub expires_at: Timestamp,
    pub order_id: Option<String>,
    pub purchased_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    pub helper_id: String,
    pub position: i64,
    pub cut_fen: i64,
    pub price_after: i64,
    pub helped_at: Timestamp,
}

const CAMPAIGN_COLUMNS: &str = "id, name, definition, sku, starts_at, ends_at, status, created_at";
const BARGAIN_COLUMNS: &str =
    "id, campaign_id, member_id, seed, helpers, helpers_needed, price_fen, \
     floor_fen, status, started_at, expires_at, order_id, purchased_at";
const HELP_COLUMNS: &str = "helper_id, position, cut_fen, price_after, helped_at";

fn campaign(row: &AnyRow) -> Result<BargainCampaignRow> {
    Ok(BargainCampaignRow {
        id: text(row, "id")?,
        name: text(row, "name")?,
        definition: text(row, "definition")?,
        sku: text(row, "sku")?,
        starts_at: ts(row, "starts_at")?,
        ends_at: ts(row, "ends_at")?,
        status: text(row, "status")?,
        created_at: ts(row, "created_at")?,
    })
}

fn bargain(row: &AnyRow) -> Result<BargainRow> {
    Ok(BargainRow {
        id: text(row, "id")?,
        campaign_id: text(row, "campaign_id")?,
        member_id: text(row, "member_id")?,
        seed: int(row, "seed")?,
        helpers: int(row, "helpers")?,
        helpers_needed: int(row, "helpers_needed")?,
        price_fen: int(row, "price_fen")?,
        floor_fen: int(row, "floor_fen")?,
        status: text(row, "status")?,
        started_at: ts(row, "started_at")?,
        expires_at: ts(row, "expires_at")?,
        order_id: opt_text(row, "order_id")?,
        purchased_at: opt_ts(row, "purchased_at")?,
    })
}

fn help(row: &AnyRow) -> Result<HelpRow> {
    Ok(HelpRow {
        helper_id: text(row, "helper_id")?,
        position: int(row, "position")?,
        cut_fen: int(row, "cut_fen")?,
        price_after: int(row, "price_after")?,
        helped_at: ts(row, "helped_at")?,
    })
}

impl Store {
    pub async fn bargain_campaigns(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<BargainCampaignRow>> {
        sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM bargain_campaigns WHERE workspace_id = $1 ORDER BY id DESC LIMIT 500"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(campaign)
        .collect()
    }

    pub async fn bargain_campaign(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<BargainCampaignRow> {
        let row = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM bargain_campaigns WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        campaign(&row)
    }

    pub async fn bargain(&self, workspace: &WorkspaceId, id: &str) -> Result<BargainRow> {
        let row = sqlx::query(&format!(
            "SELECT {BARGAIN_COLUMNS} FROM bargains WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        bargain(&row)
    }

    pub async fn bargain_helps(
        &self,
        workspace: &WorkspaceId,
        bargain_id: &str,
    ) -> Result<Vec<HelpRow>> {
        sqlx::query(&format!(
            "SELECT {HELP_COLUMNS} FROM bargain_helps WHERE workspace_id = $1 AND bargain_id = $2 ORDER BY position"
        ))
        .bind(workspace.as_str())
        .bind(bargain_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(help)
        .collect()
    }
}

impl Tx {
    pub async fn insert_bargain_campaign(
        &mut self,
        workspace: &WorkspaceId,
        row: &BargainCampaignRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO bargain_campaigns ({CAMPAIGN_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(row.id.as_str())
        .bind(row.name.as_str())
        .bind(row.definition.as_str())
        .bind(row.sku.as_str())
        .bind(row.starts_at.millis())
        .bind(row.ends_at.millis())
        .bind(row.status.as_str())
        .bind(row.created_at.millis())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("bargain_campaign"))?;
        Ok(())
    }

    /// Starts a bargain; `Conflict` if the member already has one in this campaign.
    pub async fn insert_bargain(
        &mut self,
        workspace: &WorkspaceId,
        row: &BargainRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO bargains ({BARGAIN_COLUMNS}, workspace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(row.id.as_str())
        .bind(row.campaign_id.as_str())
        .bind(row.member_id.as_str())
        .bind(row.seed)
        .bind(row.helpers)
        .bind(row.helpers_needed)
        .bind(row.price_fen)
        .bind(row.floor_fen)
        .bind(row.status.as_str())
        .bind(row.started_at.millis())
        .bind(row.expires_at.millis())
        .bind(row.order_id.as_deref())
        .bind(row.purchased_at.map(Timestamp::millis))
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("bargain"))?;
        Ok(())
    }

    /// Takes the next helper position of an open, unexpired bargain that still needs
    /// helpers; returns the bargain after (its `helpers` is this help's position + 1).
    pub async fn take_help_position(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<BargainRow>> {
        let row = sqlx::query(&format!(
            "UPDATE bargains SET helpers = helpers + 1
             WHERE workspace_id = $1 AND id = $2 AND status = 'open' AND helpers < helpers_needed AND expires_at > $3
             RETURNING {BARGAIN_COLUMNS}"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .bind(now.millis())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(bargain).transpose()
    }

    /// Records a help and the price it leaves; false (nothing written) if this helper has
    /// already helped in the campaign.
    pub async fn record_help(
        &mut self,
        workspace: &WorkspaceId,
        bargain: &BargainRow,
        help: &HelpRow,
    ) -> Result<bool> {
        let done = sqlx::query(&format!(
            "INSERT INTO bargain_helps ({HELP_COLUMNS}, bargain_id, campaign_id, workspace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
        ))
        .bind(help.helper_id.as_str())
        .bind(help.position)
        .bind(help.cut_fen)
        .bind(help.price_after)
        .bind(help.helped_at.millis())
        .bind(bargain.id.as_str())
        .bind(bargain.campaign_id.as_str())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE bargains SET price_fen = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(help.price_after)
            .bind(workspace.as_str())
            .bind(bargain.id.as_str())
            .execute(self.conn())
            .await?;
        Ok(true)
    }

    /// Marks an open bargain purchased by `order`; None if it is not open any more.
    pub async fn purchase_bargain(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        order: &str,
        now: Timestamp,
    ) -> Result<Option<BargainRow>> {
        let row = sqlx::query(&format!(
            "UPDATE bargains SET status = 'purchased', order_id = $1, purchased_at = $2
             WHERE workspace_id = $3 AND id = $4 AND status = 'open'
             RETURNING {BARGAIN_COLUMNS}"
        ))
        .bind(order)
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(bargain).transpose()
    }
}
