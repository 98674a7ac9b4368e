//! Anti-fraud: the workspace's thresholds, the facts the signals read, and the review
//! queue of flagged rewards.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{int, opt_text, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudFlagRow {
    pub id: String,
    /// What is held: `referral_reward`.
    pub subject_kind: String,
    /// The held reward rows' order (the invitee's first order) and program.
    pub subject_id: String,
    pub member_id: String,
    /// JSON array of `{code, reason}`.
    pub signals: String,
    /// `open`, `approved` or `rejected`.
    pub status: String,
    pub created_at: Timestamp,
    pub reviewed_at: Option<Timestamp>,
    pub reviewer: Option<String>,
}

const FLAG_COLUMNS: &str =
    "id, subject_kind, subject_id, member_id, signals, status, created_at, reviewed_at, reviewer";

fn flag(row: &AnyRow) -> Result<FraudFlagRow> {
    Ok(FraudFlagRow {
        id: text(row, "id")?,
        subject_kind: text(row, "subject_kind")?,
        subject_id: text(row, "subject_id")?,
        member_id: text(row, "member_id")?,
        signals: text(row, "signals")?,
        status: text(row, "status")?,
        created_at: ts(row, "created_at")?,
        reviewed_at: opt_ts(row, "reviewed_at")?,
        reviewer: opt_text(row, "reviewer")?,
    })
}

impl Store {
    pub async fn fraud_settings(&self, workspace: &WorkspaceId) -> Result<Option<String>> {
        let row = sqlx::query("SELECT definition FROM fraud_settings WHERE workspace_id = $1")
            .bind(workspace.as_str())
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| text(&r, "definition")).transpose()
    }

    pub async fn fraud_flags(
        &self,
        workspace: &WorkspaceId,
        status: Option<&str>,
    ) -> Result<Vec<FraudFlagRow>> {
        sqlx::query(&format!(
            "SELECT {FLAG_COLUMNS} FROM fraud_flags
             WHERE workspace_id = $1 AND (CAST($2 AS TEXT) IS NULL OR status = $2)
             ORDER BY created_at DESC, id DESC LIMIT 500"
        ))
        .bind(workspace.as_str())
        .bind(status)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(flag)
        .collect()
    }
}

impl Tx {
    pub async fn put_fraud_settings(
        &mut self,
        workspace: &WorkspaceId,
        definition: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO fraud_settings (workspace_id, definition, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (workspace_id) DO UPDATE SET definition = $2, updated_at = $3",
        )
        .bind(workspace.as_str())
        .bind(definition)
        .bind(now.millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn fraud_settings_in(&mut self, workspace: &WorkspaceId) -> Result<Option<String>> {
        let row = sqlx::query("SELECT definition FROM fraud_settings WHERE workspace_id = $1")
            .bind(workspace.as_str())
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| text(&r, "definition")).transpose()
    }

    /// The inviter's other invitees who arrived from the same device or IP as `invitee`.
    pub async fn device_sharers(
        &mut self,
        workspace: &WorkspaceId,
        program_id: &str,
        inviter: &str,
        invitee: &str,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT other.invitee_id FROM referral_bindings mine
             JOIN referral_bindings other ON other.workspace_id = mine.workspace_id
               AND other.program_id = mine.program_id AND other.inviter_id = mine.inviter_id
               AND other.invitee_id <> mine.invitee_id
               AND (other.device_hash = mine.device_hash OR other.ip_hash = mine.ip_hash)
             WHERE mine.workspace_id = $1 AND mine.program_id = $2 AND mine.inviter_id = $3
               AND mine.invitee_id = $4
             ORDER BY other.invitee_id",
        )
        .bind(workspace.as_str())
        .bind(program_id)
        .bind(inviter)
        .bind(invitee)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(|r| text(r, "invitee_id")).collect()
    }

    /// An inviter's invitees in a program with what the signals read: `(invitee, bound_at,
    /// acted)` where acted means any event or order.
    pub async fn inviter_invitees(
        &mut self,
        workspace: &WorkspaceId,
        program_id: &str,
        inviter: &str,
    ) -> Result<Vec<(String, Timestamp, bool)>> {
        let rows = sqlx::query(
            "SELECT b.invitee_id, b.bound_at, m.event_count, m.order_count FROM referral_bindings b
             JOIN members m ON m.id = b.invitee_id
             WHERE b.workspace_id = $1 AND b.program_id = $2 AND b.inviter_id = $3",
        )
        .bind(workspace.as_str())
        .bind(program_id)
        .bind(inviter)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    text(r, "invitee_id")?,
                    ts(r, "bound_at")?,
                    int(r, "event_count")? > 0 || int(r, "order_count")? > 0,
                ))
            })
            .collect()
    }

    /// How many of an inviter's rewarded invitees had their qualifying order refunded.
    pub async fn refunds_after_reward(
        &mut self,
        workspace: &WorkspaceId,
        program_id: &str,
        inviter: &str,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(DISTINCT r.invitee_id) AS BIGINT) AS n FROM referral_rewards r
             JOIN orders o ON o.id = r.order_id
             WHERE r.workspace_id = $1 AND r.program_id = $2 AND r.inviter_id = $3 AND o.refunded_fen > 0",
        )
        .bind(workspace.as_str())
        .bind(program_id)
        .bind(inviter)
        .fetch_one(self.conn())
        .await?;
        int(&row, "n")
    }

    pub async fn insert_fraud_flag(
        &mut self,
        workspace: &WorkspaceId,
        row: &FraudFlagRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO fraud_flags ({FLAG_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(row.id.as_str())
        .bind(row.subject_kind.as_str())
        .bind(row.subject_id.as_str())
        .bind(row.member_id.as_str())
        .bind(row.signals.as_str())
        .bind(row.status.as_str())
        .bind(row.created_at.millis())
        .bind(row.reviewed_at.map(Timestamp::millis))
        .bind(row.reviewer.as_deref())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("fraud_flag"))?;
        Ok(())
    }

    /// Decides an open flag; None if it was not open (so each flag is decided once).
    pub async fn decide_fraud_flag(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        status: &str,
        reviewer: &str,
        now: Timestamp,
    ) -> Result<Option<FraudFlagRow>> {
        let row = sqlx::query(&format!(
            "UPDATE fraud_flags SET status = $1, reviewer = $2, reviewed_at = $3
             WHERE workspace_id = $4 AND id = $5 AND status = 'open'
             RETURNING {FLAG_COLUMNS}"
        ))
        .bind(status)
        .bind(reviewer)
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(flag).transpose()
    }
}
