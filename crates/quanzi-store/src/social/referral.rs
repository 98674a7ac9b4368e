//! Referral programs, invite codes, bindings and rewards.
//!
//! A binding is written by an upsert that only replaces an expired, unqualified binding,
//! so two inviters racing for one invitee leave exactly one. Rewards are counted under
//! the inviter's lock (the caller holds it), so caps and stages see every earlier reward.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{int, opt_int, opt_text, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralProgramRow {
    pub id: String,
    pub name: String,
    pub definition: String,
    pub status: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRow {
    pub program_id: String,
    pub invitee_id: String,
    pub inviter_id: String,
    pub bound_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub qualified_at: Option<Timestamp>,
    pub order_id: Option<String>,
    /// Keyed fingerprints of the device and IP the invitee arrived from.
    pub device_hash: Option<String>,
    pub ip_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRewardRow {
    pub id: String,
    pub program_id: String,
    pub inviter_id: String,
    pub invitee_id: String,
    /// Who receives it (the inviter or the invitee).
    pub member_id: String,
    /// `referral_invitee`, `referral_stage` or `referral_welcome`.
    pub reason: String,
    pub stage: Option<i64>,
    pub points: i64,
    pub coupon_template: Option<String>,
    pub order_id: String,
    pub pending_until: Timestamp,
    /// `granted`, `held` (for review) or `rejected`.
    pub status: String,
    pub created_at: Timestamp,
}

const PROGRAM_COLUMNS: &str = "id, name, definition, status, created_at";
const BINDING_COLUMNS: &str =
    "program_id, invitee_id, inviter_id, bound_at, expires_at, qualified_at, \
     order_id, device_hash, ip_hash";
const REWARD_COLUMNS: &str = "id, program_id, inviter_id, invitee_id, member_id, reason, stage, \
     points, coupon_template, order_id, pending_until, status, created_at";

fn program(row: &AnyRow) -> Result<ReferralProgramRow> {
    Ok(ReferralProgramRow {
        id: text(row, "id")?,
        name: text(row, "name")?,
        definition: text(row, "definition")?,
        status: text(row, "status")?,
        created_at: ts(row, "created_at")?,
    })
}

fn binding(row: &AnyRow) -> Result<BindingRow> {
    Ok(BindingRow {
        program_id: text(row, "program_id")?,
        invitee_id: text(row, "invitee_id")?,
        inviter_id: text(row, "inviter_id")?,
        bound_at: ts(row, "bound_at")?,
        expires_at: opt_ts(row, "expires_at")?,
        qualified_at: opt_ts(row, "qualified_at")?,
        order_id: opt_text(row, "order_id")?,
        device_hash: opt_text(row, "device_hash")?,
        ip_hash: opt_text(row, "ip_hash")?,
    })
}

fn reward(row: &AnyRow) -> Result<ReferralRewardRow> {
    Ok(ReferralRewardRow {
        id: text(row, "id")?,
        program_id: text(row, "program_id")?,
        inviter_id: text(row, "inviter_id")?,
        invitee_id: text(row, "invitee_id")?,
        member_id: text(row, "member_id")?,
        reason: text(row, "reason")?,
        stage: opt_int(row, "stage")?,
        points: int(row, "points")?,
        coupon_template: opt_text(row, "coupon_template")?,
        order_id: text(row, "order_id")?,
        pending_until: ts(row, "pending_until")?,
        status: text(row, "status")?,
        created_at: ts(row, "created_at")?,
    })
}

impl Store {
    pub async fn referral_programs(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<ReferralProgramRow>> {
        sqlx::query(&format!(
            "SELECT {PROGRAM_COLUMNS} FROM referral_programs WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(program)
        .collect()
    }

    pub async fn referral_program(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<ReferralProgramRow> {
        let row = sqlx::query(&format!(
            "SELECT {PROGRAM_COLUMNS} FROM referral_programs WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        program(&row)
    }

    pub async fn invite_code_of(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT code FROM invite_codes WHERE workspace_id = $1 AND member_id = $2")
                .bind(workspace.as_str())
                .bind(member)
                .fetch_optional(self.reader())
                .await?;
        row.map(|r| text(&r, "code")).transpose()
    }

    pub async fn invite_code_owner(
        &self,
        workspace: &WorkspaceId,
        code: &str,
    ) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT member_id FROM invite_codes WHERE workspace_id = $1 AND code = $2")
                .bind(workspace.as_str())
                .bind(code)
                .fetch_optional(self.reader())
                .await?;
        row.map(|r| text(&r, "member_id")).transpose()
    }

    /// Every binding of a program (for the invite tree and K-factor).
    pub async fn referral_bindings(
        &self,
        workspace: &WorkspaceId,
        program_id: &str,
    ) -> Result<Vec<BindingRow>> {
        sqlx::query(&format!(
            "SELECT {BINDING_COLUMNS} FROM referral_bindings WHERE workspace_id = $1 AND program_id = $2 ORDER BY bound_at"
        ))
        .bind(workspace.as_str())
        .bind(program_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(binding)
        .collect()
    }

    /// A member's bindings as invitee and as inviter, across programs.
    pub async fn referral_bindings_of(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<BindingRow>> {
        sqlx::query(&format!(
            "SELECT {BINDING_COLUMNS} FROM referral_bindings
             WHERE workspace_id = $1 AND (invitee_id = $2 OR inviter_id = $2) ORDER BY bound_at LIMIT 1000"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(binding)
        .collect()
    }

    /// Rewards a member receives, newest first.
    pub async fn referral_rewards_of(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<ReferralRewardRow>> {
        sqlx::query(&format!(
            "SELECT {REWARD_COLUMNS} FROM referral_rewards
             WHERE workspace_id = $1 AND member_id = $2 ORDER BY created_at DESC, id LIMIT 1000"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(reward)
        .collect()
    }

    /// Share events per member (for per-capita shares).
    pub async fn share_counts(&self, workspace: &WorkspaceId) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT member_id, CAST(COUNT(*) AS BIGINT) AS n FROM events
             WHERE workspace_id = $1 AND type = 'share' GROUP BY member_id",
        )
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((text(r, "member_id")?, int(r, "n")?)))
            .collect()
    }
}

impl Tx {
    pub async fn insert_referral_program(
        &mut self,
        workspace: &WorkspaceId,
        row: &ReferralProgramRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO referral_programs ({PROGRAM_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(row.id.as_str())
        .bind(row.name.as_str())
        .bind(row.definition.as_str())
        .bind(row.status.as_str())
        .bind(row.created_at.millis())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("referral_program"))?;
        Ok(())
    }

    /// Stores a member's invite code; `Conflict` if the code or the member has one.
    pub async fn insert_invite_code(
        &mut self,
        workspace: &WorkspaceId,
        code: &str,
        member: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO invite_codes (workspace_id, code, member_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(workspace.as_str())
        .bind(code)
        .bind(member)
        .bind(now.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("invite_code"))?;
        Ok(())
    }

    pub async fn referral_binding(
        &mut self,
        workspace: &WorkspaceId,
        program_id: &str,
        invitee: &str,
    ) -> Result<Option<BindingRow>> {
        let row = sqlx::query(&format!(
            "SELECT {BINDING_COLUMNS} FROM referral_bindings WHERE workspace_id = $1 AND program_id = $2 AND invitee_id = $3"
        ))
        .bind(workspace.as_str())
        .bind(program_id)
        .bind(invitee)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(binding).transpose()
    }

    /// Writes a binding, replacing only an expired, unqualified one; false if another
    /// binding holds.
    pub async fn upsert_binding(
        &mut self,
        workspace: &WorkspaceId,
        row: &BindingRow,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO referral_bindings (workspace_id, program_id, invitee_id, inviter_id, bound_at, expires_at, device_hash, ip_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (workspace_id, program_id, invitee_id) DO UPDATE
             SET inviter_id = $4, bound_at = $5, expires_at = $6, device_hash = $7, ip_hash = $8
             WHERE referral_bindings.qualified_at IS NULL
               AND referral_bindings.expires_at IS NOT NULL AND referral_bindings.expires_at <= $5",
        )
        .bind(workspace.as_str())
        .bind(row.program_id.as_str())
        .bind(row.invitee_id.as_str())
        .bind(row.inviter_id.as_str())
        .bind(row.bound_at.millis())
        .bind(row.expires_at.map(Timestamp::millis))
        .bind(row.device_hash.as_deref())
        .bind(row.ip_hash.as_deref())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a binding qualified by the invitee's first paid order; false if it already was.
    pub async fn qualify_binding(
        &mut self,
        workspace: &WorkspaceId,
        program_id: &str,
        invitee: &str,
        order: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE referral_bindings SET qualified_at = $1, order_id = $2
             WHERE workspace_id = $3 AND program_id = $4 AND invitee_id = $5 AND qualified_at IS NULL",
        )
        .bind(now.millis())
        .bind(order)
        .bind(workspace.as_str())
        .bind(program_id)
        .bind(invitee)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The inviter's qualified invitees so far and when their per-invitee rewards were
    /// paid since `since`, read under the inviter's lock.
    pub async fn inviter_history(
        &mut self,
        workspace: &WorkspaceId,
        program_id: &str,
        inviter: &str,
        since: Timestamp,
    ) -> Result<(i64, Vec<Timestamp>)> {
        let qualified = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM referral_bindings
             WHERE workspace_id = $1 AND program_id = $2 AND inviter_id = $3 AND qualified_at IS NOT NULL",
        )
        .bind(workspace.as_str())
        .bind(program_id)
        .bind(inviter)
        .fetch_one(self.conn())
        .await?;
        let rewarded = sqlx::query(
            "SELECT created_at FROM referral_rewards
             WHERE workspace_id = $1 AND program_id = $2 AND inviter_id = $3 AND member_id = $3
               AND reason = 'referral_invitee' AND status <> 'rejected' AND created_at >= $4",
        )
        .bind(workspace.as_str())
        .bind(program_id)
        .bind(inviter)
        .bind(since.millis())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|r| ts(r, "created_at"))
        .collect::<Result<Vec<_>>>()?;
        Ok((int(&qualified, "n")?, rewarded))
    }

    /// The chain of inviters above `member` in a program, nearest first, at most `depth`.
    pub async fn inviter_chain(
        &mut self,
        workspace: &WorkspaceId,
        program_id: &str,
        member: &str,
        depth: usize,
    ) -> Result<Vec<String>> {
        let mut chain: Vec<String> = Vec::new();
        let mut current = member.to_owned();
        while chain.len() < depth {
            let row = sqlx::query(
                "SELECT inviter_id FROM referral_bindings WHERE workspace_id = $1 AND program_id = $2 AND invitee_id = $3",
            )
            .bind(workspace.as_str())
            .bind(program_id)
            .bind(current.as_str())
            .fetch_optional(self.conn())
            .await?;
            let Some(row) = row else { break };
            let next = text(&row, "inviter_id")?;
            // Bad data must not loop forever: stop at the first repeat.
            if next == member || chain.contains(&next) {
                chain.push(next);
                break;
            }
            chain.push(next.clone());
            current = next;
        }
        Ok(chain)
    }

    pub async fn insert_referral_reward(
        &mut self,
        workspace: &WorkspaceId,
        row: &ReferralRewardRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO referral_rewards ({REWARD_COLUMNS}, workspace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(row.id.as_str())
        .bind(row.program_id.as_str())
        .bind(row.inviter_id.as_str())
        .bind(row.invitee_id.as_str())
        .bind(row.member_id.as_str())
        .bind(row.reason.as_str())
        .bind(row.stage)
        .bind(row.points)
        .bind(row.coupon_template.as_deref())
        .bind(row.order_id.as_str())
        .bind(row.pending_until.millis())
        .bind(row.status.as_str())
        .bind(row.created_at.millis())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("referral_reward"))?;
        Ok(())
    }

    /// The rewards held for an order (the invitee's first order) in a program.
    pub async fn held_referral_rewards(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
    ) -> Result<Vec<ReferralRewardRow>> {
        sqlx::query(&format!(
            "SELECT {REWARD_COLUMNS} FROM referral_rewards
             WHERE workspace_id = $1 AND order_id = $2 AND status = 'held' ORDER BY id"
        ))
        .bind(workspace.as_str())
        .bind(order)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(reward)
        .collect()
    }

    /// Decides an order's held rewards (`granted` or `rejected`).
    pub async fn decide_held_rewards(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        status: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE referral_rewards SET status = $1 WHERE workspace_id = $2 AND order_id = $3 AND status = 'held'",
        )
        .bind(status)
        .bind(workspace.as_str())
        .bind(order)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The newest active program, read in this transaction (the order hook).
    pub async fn active_referral_program(
        &mut self,
        workspace: &WorkspaceId,
    ) -> Result<Option<ReferralProgramRow>> {
        let row = sqlx::query(&format!(
            "SELECT {PROGRAM_COLUMNS} FROM referral_programs WHERE workspace_id = $1 AND status = 'active'
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(workspace.as_str())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(program).transpose()
    }
}
