//! Distribution: settings, promoters, buyer bindings, commissions and withdrawals.
//!
//! Commissions are one row per order line and level, keyed by (order, level, line), so an
//! order pays each at most once; clawbacks only ever add to `clawed_back_fen` (bounded by
//! a CHECK). A withdrawal is taken under the promoter's row lock, so two requests cannot
//! both spend the same balance.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::rows::{int, opt_text, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoterRow {
    pub member_id: String,
    pub upline_id: Option<String>,
    /// `active` or `suspended`.
    pub status: String,
    pub joined_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionRow {
    pub order_id: String,
    pub level: i64,
    pub line: i64,
    pub promoter_id: String,
    pub paid_fen: i64,
    pub rate_bp: i64,
    pub amount_fen: i64,
    pub clawed_back_fen: i64,
    pub status: String,
    pub settle_at: Timestamp,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRow {
    pub id: String,
    pub promoter_id: String,
    pub amount_fen: i64,
    pub status: String,
    pub note: Option<String>,
    pub requested_at: Timestamp,
    pub reviewed_at: Option<Timestamp>,
}

/// A promoter's money: commissions by state (net of clawbacks) and withdrawals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromoterBalance {
    pub pending_fen: i64,
    pub settled_fen: i64,
    pub clawed_back_fen: i64,
    /// Withdrawals requested, approved or paid (not rejected).
    pub withdrawn_fen: i64,
}

impl PromoterBalance {
    /// What may still be withdrawn.
    pub fn available_fen(&self) -> i64 {
        self.settled_fen - self.withdrawn_fen
    }
}

const PROMOTER_COLUMNS: &str = "member_id, upline_id, status, joined_at";
const COMMISSION_COLUMNS: &str =
    "order_id, level, line, promoter_id, paid_fen, rate_bp, amount_fen, \
     clawed_back_fen, status, settle_at, created_at";
const WITHDRAWAL_COLUMNS: &str =
    "id, promoter_id, amount_fen, status, note, requested_at, reviewed_at";

fn promoter(row: &AnyRow) -> Result<PromoterRow> {
    Ok(PromoterRow {
        member_id: text(row, "member_id")?,
        upline_id: opt_text(row, "upline_id")?,
        status: text(row, "status")?,
        joined_at: ts(row, "joined_at")?,
    })
}

fn commission(row: &AnyRow) -> Result<CommissionRow> {
    Ok(CommissionRow {
        order_id: text(row, "order_id")?,
        level: int(row, "level")?,
        line: int(row, "line")?,
        promoter_id: text(row, "promoter_id")?,
        paid_fen: int(row, "paid_fen")?,
        rate_bp: int(row, "rate_bp")?,
        amount_fen: int(row, "amount_fen")?,
        clawed_back_fen: int(row, "clawed_back_fen")?,
        status: text(row, "status")?,
        settle_at: ts(row, "settle_at")?,
        created_at: ts(row, "created_at")?,
    })
}

fn withdrawal(row: &AnyRow) -> Result<WithdrawalRow> {
    Ok(WithdrawalRow {
        id: text(row, "id")?,
        promoter_id: text(row, "promoter_id")?,
        amount_fen: int(row, "amount_fen")?,
        status: text(row, "status")?,
        note: opt_text(row, "note")?,
        requested_at: ts(row, "requested_at")?,
        reviewed_at: opt_ts(row, "reviewed_at")?,
    })
}

async fn balance_on<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    workspace: &WorkspaceId,
    promoter: &str,
) -> Result<PromoterBalance> {
    let row = sqlx::query(
        "SELECT
           CAST(COALESCE(SUM(CASE WHEN c.status = 'pending' THEN c.amount_fen - c.clawed_back_fen ELSE 0 END), 0) AS BIGINT) AS pending,
           CAST(COALESCE(SUM(CASE WHEN c.status = 'settled' THEN c.amount_fen - c.clawed_back_fen ELSE 0 END), 0) AS BIGINT) AS settled,
           CAST(COALESCE(SUM(c.clawed_back_fen), 0) AS BIGINT) AS clawed,
           CAST((SELECT COALESCE(SUM(w.amount_fen), 0) FROM withdrawals w
                 WHERE w.workspace_id = $1 AND w.promoter_id = $2 AND w.status <> 'rejected') AS BIGINT) AS withdrawn
         FROM commissions c WHERE c.workspace_id = $1 AND c.promoter_id = $2",
    )
    .bind(workspace.as_str())
    .bind(promoter)
    .fetch_one(executor)
    .await?;
    Ok(PromoterBalance {
        pending_fen: int(&row, "pending")?,
        settled_fen: int(&row, "settled")?,
        clawed_back_fen: int(&row, "clawed")?,
        withdrawn_fen: int(&row, "withdrawn")?,
    })
}

impl Store {
    pub async fn distribution_settings(&self, workspace: &WorkspaceId) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT definition FROM distribution_settings WHERE workspace_id = $1")
                .bind(workspace.as_str())
                .fetch_optional(self.reader())
                .await?;
        row.map(|r| text(&r, "definition")).transpose()
    }

    pub async fn promoter(&self, workspace: &WorkspaceId, member: &str) -> Result<PromoterRow> {
        let row = sqlx::query(&format!(
            "SELECT {PROMOTER_COLUMNS} FROM promoters WHERE workspace_id = $1 AND member_id = $2"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        promoter(&row)
    }

    pub async fn promoter_balance(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<PromoterBalance> {
        balance_on(self.reader(), workspace, member).await
    }

    pub async fn commissions_of(
        &self,
        workspace: &WorkspaceId,
        promoter: &str,
    ) -> Result<Vec<CommissionRow>> {
        sqlx::query(&format!(
            "SELECT {COMMISSION_COLUMNS} FROM commissions WHERE workspace_id = $1 AND promoter_id = $2
             ORDER BY created_at DESC, order_id, level, line LIMIT 1000"
        ))
        .bind(workspace.as_str())
        .bind(promoter)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(commission)
        .collect()
    }

    pub async fn withdrawals_of(
        &self,
        workspace: &WorkspaceId,
        promoter: &str,
    ) -> Result<Vec<WithdrawalRow>> {
        sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE workspace_id = $1 AND promoter_id = $2
             ORDER BY requested_at DESC, id LIMIT 500"
        ))
        .bind(workspace.as_str())
        .bind(promoter)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(withdrawal)
        .collect()
    }

    pub async fn withdrawal(&self, workspace: &WorkspaceId, id: &str) -> Result<WithdrawalRow> {
        let row = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        withdrawal(&row)
    }

    /// Every promoter with their money (as [`Store::promoter_balance`] counts it), the
    /// most earned (pending and settled) first: one query, so the console's list costs
    /// the same for ten promoters or ten thousand.
    pub async fn promoters_with_balances(
        &self,
        workspace: &WorkspaceId,
        limit: i64,
    ) -> Result<Vec<(PromoterRow, PromoterBalance)>> {
        let rows = sqlx::query(
            "SELECT p.member_id, p.upline_id, p.status, p.joined_at,
               CAST(COALESCE(c.pending, 0) AS BIGINT) AS pending,
               CAST(COALESCE(c.settled, 0) AS BIGINT) AS settled,
               CAST(COALESCE(c.clawed, 0) AS BIGINT) AS clawed,
               CAST(COALESCE(w.withdrawn, 0) AS BIGINT) AS withdrawn
             FROM promoters p
             LEFT JOIN (SELECT promoter_id,
                   SUM(CASE WHEN status = 'pending' THEN amount_fen - clawed_back_fen ELSE 0 END) AS pending,
                   SUM(CASE WHEN status = 'settled' THEN amount_fen - clawed_back_fen ELSE 0 END) AS settled,
                   SUM(clawed_back_fen) AS clawed
                 FROM commissions WHERE workspace_id = $1 GROUP BY promoter_id) c
               ON c.promoter_id = p.member_id
             LEFT JOIN (SELECT promoter_id, SUM(amount_fen) AS withdrawn FROM withdrawals
                 WHERE workspace_id = $1 AND status <> 'rejected' GROUP BY promoter_id) w
               ON w.promoter_id = p.member_id
             WHERE p.workspace_id = $1
             ORDER BY COALESCE(c.pending, 0) + COALESCE(c.settled, 0) DESC, p.joined_at, p.member_id
             LIMIT $2",
        )
        .bind(workspace.as_str())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    promoter(r)?,
                    PromoterBalance {
                        pending_fen: int(r, "pending")?,
                        settled_fen: int(r, "settled")?,
                        clawed_back_fen: int(r, "clawed")?,
                        withdrawn_fen: int(r, "withdrawn")?,
                    },
                ))
            })
            .collect()
    }

    /// Withdrawals waiting for an operator (requested or approved, not yet paid), oldest
    /// first: the review queue.
    pub async fn open_withdrawals(
        &self,
        workspace: &WorkspaceId,
        limit: i64,
    ) -> Result<Vec<WithdrawalRow>> {
        sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals
             WHERE workspace_id = $1 AND status IN ('requested', 'approved')
             ORDER BY requested_at, id LIMIT $2"
        ))
        .bind(workspace.as_str())
        .bind(limit)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(withdrawal)
        .collect()
    }

    /// Buyers bound to a promoter, and clicks on links carrying `code` (`link_code`).
    pub async fn promoter_reach(
        &self,
        workspace: &WorkspaceId,
        promoter: &str,
        code: Option<&str>,
    ) -> Result<(i64, i64)> {
        let buyers = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM promoter_bindings WHERE workspace_id = $1 AND promoter_id = $2",
        )
        .bind(workspace.as_str())
        .bind(promoter)
        .fetch_one(self.reader())
        .await?;
        let clicks = match code {
            None => 0,
            Some(code) => {
                let row = sqlx::query(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM events
                     WHERE workspace_id = $1 AND type = 'click' AND link_code = $2",
                )
                .bind(workspace.as_str())
                .bind(code)
                .fetch_one(self.reader())
                .await?;
                int(&row, "n")?
            }
        };
        Ok((int(&buyers, "n")?, clicks))
    }

    /// Orders with pending commissions past their freeze period: `(workspace, order)`.
    pub async fn due_commissions(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT workspace_id, order_id FROM commissions
             WHERE status = 'pending' AND settle_at <= $1 LIMIT $2",
        )
        .bind(now.millis())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((text(r, "workspace_id")?, text(r, "order_id")?)))
            .collect()
    }
}

impl Tx {
    pub async fn put_distribution_settings(
        &mut self,
        workspace: &WorkspaceId,
        definition: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO distribution_settings (workspace_id, definition, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (workspace_id) DO UPDATE SET definition = $2, updated_at = $3",
        )
        .bind(workspace.as_str())
        .bind(definition)
        .bind(now.millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn distribution_settings_in(
        &mut self,
        workspace: &WorkspaceId,
    ) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT definition FROM distribution_settings WHERE workspace_id = $1")
                .bind(workspace.as_str())
                .fetch_optional(self.conn())
                .await?;
        row.map(|r| text(&r, "definition")).transpose()
    }

    /// Adds a promoter; `Conflict` if the member already is one.
    pub async fn insert_promoter(
        &mut self,
        workspace: &WorkspaceId,
        row: &PromoterRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO promoters ({PROMOTER_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(row.member_id.as_str())
        .bind(row.upline_id.as_deref())
        .bind(row.status.as_str())
        .bind(row.joined_at.millis())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("promoter"))?;
        Ok(())
    }

    /// The promoter, locked (`FOR UPDATE` on PostgreSQL) when `lock`.
    pub async fn promoter_in(
        &mut self,
        workspace: &WorkspaceId,
        member: &str,
        lock: bool,
    ) -> Result<Option<PromoterRow>> {
        let suffix = match (lock, self.backend()) {
            (true, Backend::Postgres) => "FOR UPDATE",
            _ => "",
        };
        let row = sqlx::query(&format!(
            "SELECT {PROMOTER_COLUMNS} FROM promoters WHERE workspace_id = $1 AND member_id = $2 {suffix}"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(promoter).transpose()
    }

    /// The promoter a buyer is bound to, with the binding's expiry.
    pub async fn promoter_binding(
        &mut self,
        workspace: &WorkspaceId,
        buyer: &str,
    ) -> Result<Option<(String, Option<Timestamp>)>> {
        let row = sqlx::query(
            "SELECT promoter_id, expires_at FROM promoter_bindings WHERE workspace_id = $1 AND buyer_id = $2",
        )
        .bind(workspace.as_str())
        .bind(buyer)
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| Ok((text(&r, "promoter_id")?, opt_ts(&r, "expires_at")?)))
            .transpose()
    }

    /// Binds a buyer to a promoter: inserts, or replaces when `replace` (the policy said
    /// the old binding no longer wins).
    pub async fn set_promoter_binding(
        &mut self,
        workspace: &WorkspaceId,
        buyer: &str,
        promoter: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO promoter_bindings (workspace_id, buyer_id, promoter_id, bound_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (workspace_id, buyer_id) DO UPDATE SET promoter_id = $3, bound_at = $4, expires_at = $5",
        )
        .bind(workspace.as_str())
        .bind(buyer)
        .bind(promoter)
        .bind(now.millis())
        .bind(expires_at.map(Timestamp::millis))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Stores an order's commissions; rows already there (the order was seen) stay.
    pub async fn insert_commissions(
        &mut self,
        workspace: &WorkspaceId,
        rows: &[CommissionRow],
    ) -> Result<()> {
        for row in rows {
            sqlx::query(&format!(
                "INSERT INTO commissions ({COMMISSION_COLUMNS}, workspace_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING"
            ))
            .bind(row.order_id.as_str())
            .bind(row.level)
            .bind(row.line)
            .bind(row.promoter_id.as_str())
            .bind(row.paid_fen)
            .bind(row.rate_bp)
            .bind(row.amount_fen)
            .bind(row.clawed_back_fen)
            .bind(row.status.as_str())
            .bind(row.settle_at.millis())
            .bind(row.created_at.millis())
            .bind(workspace.as_str())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    pub async fn order_commissions(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
    ) -> Result<Vec<CommissionRow>> {
        sqlx::query(&format!(
            "SELECT {COMMISSION_COLUMNS} FROM commissions WHERE workspace_id = $1 AND order_id = $2 ORDER BY level, line"
        ))
        .bind(workspace.as_str())
        .bind(order)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(commission)
        .collect()
    }

    pub async fn claw_back_commission(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        level: i64,
        line: i64,
        fen: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE commissions SET clawed_back_fen = clawed_back_fen + $1
             WHERE workspace_id = $2 AND order_id = $3 AND level = $4 AND line = $5",
        )
        .bind(fen)
        .bind(workspace.as_str())
        .bind(order)
        .bind(level)
        .bind(line)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Settles an order's pending commissions past their freeze period; returns how many.
    pub async fn settle_commissions(
        &mut self,
        workspace: &WorkspaceId,
        order: &str,
        now: Timestamp,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE commissions SET status = 'settled'
             WHERE workspace_id = $1 AND order_id = $2 AND status = 'pending' AND settle_at <= $3",
        )
        .bind(workspace.as_str())
        .bind(order)
        .bind(now.millis())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn promoter_balance_in(
        &mut self,
        workspace: &WorkspaceId,
        promoter: &str,
    ) -> Result<PromoterBalance> {
        balance_on(self.conn(), workspace, promoter).await
    }

    pub async fn insert_withdrawal(
        &mut self,
        workspace: &WorkspaceId,
        row: &WithdrawalRow,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO withdrawals ({WITHDRAWAL_COLUMNS}, workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(row.id.as_str())
        .bind(row.promoter_id.as_str())
        .bind(row.amount_fen)
        .bind(row.status.as_str())
        .bind(row.note.as_deref())
        .bind(row.requested_at.millis())
        .bind(row.reviewed_at.map(Timestamp::millis))
        .bind(workspace.as_str())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Moves a withdrawal from `from` to `to`; None if it was not in `from`.
    pub async fn move_withdrawal(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        from: &str,
        to: &str,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<WithdrawalRow>> {
        let row = sqlx::query(&format!(
            "UPDATE withdrawals SET status = $1, note = COALESCE($2, note), reviewed_at = $3
             WHERE workspace_id = $4 AND id = $5 AND status = $6
             RETURNING {WITHDRAWAL_COLUMNS}"
        ))
        .bind(to)
        .bind(note)
        .bind(now.millis())
        .bind(workspace.as_str())
        .bind(id)
        .bind(from)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(withdrawal).transpose()
    }
}
