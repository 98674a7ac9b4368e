//! Reading the ledger: balances, lots, history, work that has fallen due, and reports.

use std::collections::HashMap;

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::loyalty::ledger::{AccountCode, Balance, Lot, OnTimeout, Pending};
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use super::{balance, lot, pending, LOT_COLUMNS, PENDING_COLUMNS};
use crate::error::{Result, StoreError};
use crate::rows::{int, opt_text, text, ts};
use crate::sql::{in_list, param, select_in};
use crate::{page_limit, Page, Store, Tx};

/// A transfer as stored, for history and answers.
#[derive(Debug, Clone)]
pub struct TransferRow {
    pub id: String,
    pub op_id: String,
    pub kind: String,
    pub debit: String,
    pub credit: String,
    pub amount: i64,
    pub phase: String,
    pub pending_id: Option<String>,
    pub lot_id: Option<String>,
    pub order_id: Option<String>,
    pub reason: Option<String>,
    pub created_at: Timestamp,
}

const TRANSFER_COLUMNS: &str =
    "id, op_id, kind, debit, credit, amount, phase, pending_id, lot_id, order_id, reason, created_at";

fn transfer(row: &AnyRow) -> Result<TransferRow> {
    Ok(TransferRow {
        id: text(row, "id")?,
        op_id: text(row, "op_id")?,
        kind: text(row, "kind")?,
        debit: text(row, "debit")?,
        credit: text(row, "credit")?,
        amount: int(row, "amount")?,
        phase: text(row, "phase")?,
        pending_id: opt_text(row, "pending_id")?,
        lot_id: opt_text(row, "lot_id")?,
        order_id: opt_text(row, "order_id")?,
        reason: opt_text(row, "reason")?,
        created_at: ts(row, "created_at")?,
    })
}

/// Points issued and taken back per source: what the points cost each rule or campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCost {
    pub source: String,
    pub issued: i64,
    pub returned: i64,
}

/// What the brand owes its members in points, and what they cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiabilityReport {
    /// Spendable points in all wallets.
    pub outstanding: i64,
    /// Points reserved by checkout holds.
    pub held: i64,
    /// Points earned on orders still inside their return window.
    pub pending_earned: i64,
    /// Points members owe after refunds of spent points.
    pub debt: i64,
    /// Outstanding points whose lots expire before the horizon.
    pub expiring: i64,
    pub members_with_points: i64,
    pub expired_total: i64,
    pub sources: Vec<SourceCost>,
    /// Points spent per sink.
    pub sinks: Vec<(String, i64)>,
}

impl Store {
    /// The member's wallet and debt counters (zero for a member who never had points).
    pub async fn ledger_balances(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<(Balance, Balance)> {
        let rows = sqlx::query(
            "SELECT code, debits_pending, debits_posted, credits_pending, credits_posted
             FROM loyalty_accounts WHERE workspace_id = $1 AND member_id = $2",
        )
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?;
        let (mut wallet, mut debt) = (Balance::default(), Balance::default());
        for row in rows {
            match AccountCode::parse(&text(&row, "code")?) {
                Some(AccountCode::Wallet(_)) => wallet = balance(&row)?,
                Some(AccountCode::Debt(_)) => debt = balance(&row)?,
                _ => {}
            }
        }
        Ok((wallet, debt))
    }

    /// The member's lots, oldest first; only those with points left unless `all`.
    pub async fn ledger_lots(
        &self,
        workspace: &WorkspaceId,
        member: &str,
        all: bool,
    ) -> Result<Vec<Lot>> {
        let filter = if all { "" } else { "AND remaining > 0" };
        sqlx::query(&format!(
            "SELECT {LOT_COLUMNS} FROM loyalty_lots WHERE workspace_id = $1 AND member_id = $2 {filter}
             ORDER BY earned_at, id LIMIT 1000"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(lot)
        .collect()
    }

    /// The member's open pending transfers (holds and points in their return window).
    pub async fn ledger_pendings(
        &self,
        workspace: &WorkspaceId,
        member: &str,
    ) -> Result<Vec<Pending>> {
        sqlx::query(&format!(
            "SELECT {PENDING_COLUMNS} FROM loyalty_pending
             WHERE workspace_id = $1 AND member_id = $2 AND state = 'pending' ORDER BY created_at, id"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(pending)
        .collect()
    }

    /// The member's transfers, newest first. The cursor is `<millis>.<id>` of the last row.
    pub async fn ledger_history(
        &self,
        workspace: &WorkspaceId,
        member: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<TransferRow>> {
        let (before_at, before_id) = match cursor.and_then(|c| c.split_once('.')) {
            Some((at, id)) => (at.parse::<i64>().unwrap_or(i64::MAX), id.to_owned()),
            None => (i64::MAX, String::new()),
        };
        let rows = sqlx::query(&format!(
            "SELECT {TRANSFER_COLUMNS} FROM loyalty_transfers
             WHERE workspace_id = $1 AND member_id = $2
               AND (created_at < $3 OR (created_at = $3 AND ($4 = '' OR id < $4)))
             ORDER BY created_at DESC, id DESC LIMIT $5"
        ))
        .bind(workspace.as_str())
        .bind(member)
        .bind(before_at)
        .bind(before_id)
        .bind(page_limit(limit))
        .fetch_all(self.reader())
        .await?;
        let mut items = rows.iter().map(transfer).collect::<Result<Vec<_>>>()?;
        let wanted = limit.clamp(1, 200) as usize;
        let next_cursor = if items.len() > wanted {
            items.truncate(wanted);
            items
                .last()
                .map(|t| format!("{}.{}", t.created_at.millis(), t.id))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// The transfers a request made, for answering a resubmission.
    pub async fn ledger_transfers_of(
        &self,
        workspace: &WorkspaceId,
        op_ids: &[String],
    ) -> Result<HashMap<String, Vec<TransferRow>>> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM loyalty_transfers WHERE workspace_id = {{ws}} AND op_id IN {{keys}}
             ORDER BY created_at, id"
        );
        let mut conn = self.reader().acquire().await?;
        let mut out: HashMap<String, Vec<TransferRow>> = HashMap::new();
        for t in select_in(&mut conn, self.backend(), &sql, workspace, op_ids, transfer).await? {
            out.entry(t.op_id.clone()).or_default().push(t);
        }
        Ok(out)
    }

    /// Pending transfers past their deadline, across workspaces, oldest first.
    pub async fn ledger_due_pendings(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, String, OnTimeout)>> {
        sqlx::query(
            "SELECT workspace_id, id, on_timeout FROM loyalty_pending
             WHERE state = 'pending' AND timeout_at <= $1 ORDER BY timeout_at LIMIT $2",
        )
        .bind(now.millis())
        .bind(limit)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            let action = text(row, "on_timeout")?;
            Ok((
                text(row, "workspace_id")?,
                text(row, "id")?,
                OnTimeout::parse(&action).ok_or(StoreError::Corrupt(action))?,
            ))
        })
        .collect()
    }

    /// Lots past their expiry with points left, across workspaces.
    pub async fn ledger_due_lots(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        sqlx::query(
            "SELECT workspace_id, id FROM loyalty_lots
             WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
        )
        .bind(now.millis())
        .bind(limit)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| Ok((text(row, "workspace_id")?, text(row, "id")?)))
        .collect()
    }

    /// The liability report of a workspace at `now`, with expiries up to `horizon`.
    pub async fn ledger_liability(
        &self,
        workspace: &WorkspaceId,
        now: Timestamp,
        horizon: Timestamp,
    ) -> Result<LiabilityReport> {
        let ws = workspace.as_str();
        let totals = sqlx::query(
            "SELECT
                CAST(COALESCE(SUM(CASE WHEN kind = 'wallet' THEN credits_posted - debits_posted - debits_pending ELSE 0 END), 0) AS BIGINT) AS outstanding,
                CAST(COALESCE(SUM(CASE WHEN kind = 'wallet' THEN debits_pending ELSE 0 END), 0) AS BIGINT) AS held,
                CAST(COALESCE(SUM(CASE WHEN kind = 'wallet' THEN credits_pending ELSE 0 END), 0) AS BIGINT) AS pending_earned,
                CAST(COALESCE(SUM(CASE WHEN kind = 'debt' THEN debits_posted - credits_posted ELSE 0 END), 0) AS BIGINT) AS debt,
                CAST(COALESCE(SUM(CASE WHEN kind = 'wallet' AND credits_posted - debits_posted - debits_pending > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS members
             FROM loyalty_accounts WHERE workspace_id = $1",
        )
        .bind(ws)
        .fetch_one(self.reader())
        .await?;
        let expiring = sqlx::query(
            "SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) AS expiring FROM loyalty_lots
             WHERE workspace_id = $1 AND due_at > $2 AND due_at <= $3",
        )
        .bind(ws)
        .bind(now.millis())
        .bind(horizon.millis())
        .fetch_one(self.reader())
        .await?;
        // System accounts have no counters: their balances are the sums of their posted
        // transfers (a post settles the pending row it names, so pending rows are skipped).
        let flows = sqlx::query(
            "SELECT account, CAST(SUM(out_amount) AS BIGINT) AS out_amount, CAST(SUM(in_amount) AS BIGINT) AS in_amount FROM (
                SELECT debit AS account, amount AS out_amount, 0 AS in_amount FROM loyalty_transfers
                 WHERE workspace_id = $1 AND phase IN ('single', 'post') AND debit NOT LIKE 'wallet:%' AND debit NOT LIKE 'debt:%'
                UNION ALL
                SELECT credit AS account, 0 AS out_amount, amount AS in_amount FROM loyalty_transfers
                 WHERE workspace_id = $1 AND phase IN ('single', 'post') AND credit NOT LIKE 'wallet:%' AND credit NOT LIKE 'debt:%'
             ) AS f GROUP BY account ORDER BY account",
        )
        .bind(ws)
        .fetch_all(self.reader())
        .await?;
        let mut report = LiabilityReport {
            outstanding: int(&totals, "outstanding")?,
            held: int(&totals, "held")?,
            pending_earned: int(&totals, "pending_earned")?,
            debt: int(&totals, "debt")?,
            members_with_points: int(&totals, "members")?,
            expiring: int(&expiring, "expiring")?,
            expired_total: 0,
            sources: Vec::new(),
            sinks: Vec::new(),
        };
        for row in flows {
            let account = text(&row, "account")?;
            let (out_amount, in_amount) = (int(&row, "out_amount")?, int(&row, "in_amount")?);
            match AccountCode::parse(&account) {
                Some(AccountCode::Source(source)) => report.sources.push(SourceCost {
                    source,
                    issued: out_amount,
                    returned: in_amount,
                }),
                Some(AccountCode::Sink(sink)) => report.sinks.push((sink, in_amount - out_amount)),
                Some(AccountCode::Expiry) => report.expired_total = in_amount - out_amount,
                _ => return Err(StoreError::Corrupt(account)),
            }
        }
        Ok(report)
    }

    /// Member accounts whose counters disagree with their transfers or whose available
    /// points differ from what their lots hold (empty when the books reconcile). Pending
    /// amounts come from the pending rows still open. Every sum is one grouped scan.
    pub async fn ledger_mismatches(&self, workspace: &WorkspaceId) -> Result<Vec<String>> {
        let ws = workspace.as_str();
        let mut derived: HashMap<String, Balance> = HashMap::new();
        let sums = [
            ("SELECT debit AS account, CAST(SUM(amount) AS BIGINT) AS total FROM loyalty_transfers
               WHERE workspace_id = $1 AND phase IN ('single', 'post') AND (debit LIKE 'wallet:%' OR debit LIKE 'debt:%') GROUP BY debit", 0),
            ("SELECT credit AS account, CAST(SUM(amount) AS BIGINT) AS total FROM loyalty_transfers
               WHERE workspace_id = $1 AND phase IN ('single', 'post') AND (credit LIKE 'wallet:%' OR credit LIKE 'debt:%') GROUP BY credit", 1),
            ("SELECT debit AS account, CAST(SUM(amount) AS BIGINT) AS total FROM loyalty_pending
               WHERE workspace_id = $1 AND state = 'pending' AND debit LIKE 'wallet:%' GROUP BY debit", 2),
            ("SELECT credit AS account, CAST(SUM(amount) AS BIGINT) AS total FROM loyalty_pending
               WHERE workspace_id = $1 AND state = 'pending' AND credit LIKE 'wallet:%' GROUP BY credit", 3),
        ];
        for (sql, counter) in sums {
            for row in sqlx::query(sql).bind(ws).fetch_all(self.reader()).await? {
                let b = derived.entry(text(&row, "account")?).or_default();
                let total = int(&row, "total")?;
                match counter {
                    0 => b.debits_posted = total,
                    1 => b.credits_posted = total,
                    2 => b.debits_pending = total,
                    _ => b.credits_pending = total,
                }
            }
        }
        let mut in_lots: HashMap<String, i64> = HashMap::new();
        for row in sqlx::query(
            "SELECT member_id, CAST(SUM(remaining) AS BIGINT) AS total FROM loyalty_lots
             WHERE workspace_id = $1 AND remaining > 0 GROUP BY member_id",
        )
        .bind(ws)
        .fetch_all(self.reader())
        .await?
        {
            in_lots.insert(text(&row, "member_id")?, int(&row, "total")?);
        }
        let mut mismatches = Vec::new();
        for row in sqlx::query(
            "SELECT code, member_id, kind, debits_pending, debits_posted, credits_pending, credits_posted
             FROM loyalty_accounts WHERE workspace_id = $1",
        )
        .bind(ws)
        .fetch_all(self.reader())
        .await?
        {
            let code = text(&row, "code")?;
            let stored = balance(&row)?;
            let want = derived.remove(&code).unwrap_or_default();
            if stored != want {
                mismatches.push(format!("{code}: stored {stored:?}, transfers say {want:?}"));
            }
            if text(&row, "kind")? == "wallet" {
                let held = in_lots.get(&text(&row, "member_id")?).copied().unwrap_or(0);
                if held != stored.available() {
                    mismatches.push(format!(
                        "{code}: available {} but lots hold {held}",
                        stored.available()
                    ));
                }
            }
        }
        for (code, want) in derived {
            mismatches.push(format!("{code}: has transfers {want:?} but no account"));
        }
        Ok(mismatches)
    }
}

impl Tx {
    /// Points each member earned from `source` since the starts of the current day, week
    /// and month (for per-member caps): member → (day, week, month).
    pub async fn earnings_from_source(
        &mut self,
        workspace: &WorkspaceId,
        source: &str,
        members: &[String],
        day: Timestamp,
        week: Timestamp,
        month: Timestamp,
    ) -> Result<HashMap<String, (i64, i64, i64)>> {
        let mut out = HashMap::new();
        let since = week.min(month);
        for chunk in members.chunks(500) {
            let sql = format!(
                "SELECT member_id,
                    CAST(SUM(CASE WHEN created_at >= {} THEN amount ELSE 0 END) AS BIGINT) AS day,
                    CAST(SUM(CASE WHEN created_at >= {} THEN amount ELSE 0 END) AS BIGINT) AS week,
                    CAST(SUM(CASE WHEN created_at >= {} THEN amount ELSE 0 END) AS BIGINT) AS month
                 FROM loyalty_transfers
                 WHERE workspace_id = {} AND debit = {} AND kind = 'earn' AND created_at >= {}
                   AND member_id IN {}
                 GROUP BY member_id",
                param(self.backend(), 1),
                param(self.backend(), 2),
                param(self.backend(), 3),
                param(self.backend(), 4),
                param(self.backend(), 5),
                param(self.backend(), 6),
                in_list(self.backend(), chunk.len(), 6)
            );
            let mut query = sqlx::query(&sql)
                .persistent(crate::sql::keep_prepared(self.backend()))
                .bind(day.millis())
                .bind(week.millis())
                .bind(month.millis())
                .bind(workspace.as_str())
                .bind(format!("source:{source}"))
                .bind(since.millis());
            for member in chunk {
                query = query.bind(member.as_str());
            }
            for row in query.fetch_all(self.conn()).await? {
                out.insert(
                    text(&row, "member_id")?,
                    (int(&row, "day")?, int(&row, "week")?, int(&row, "month")?),
                );
            }
        }
        Ok(out)
    }

    /// What an order earned so far: its open pending earnings and its lots (read under the
    /// order's row lock, which serialises refunds of one order).
    pub async fn ledger_order_earnings(
        &mut self,
        workspace: &WorkspaceId,
        order_id: &str,
    ) -> Result<(Vec<Pending>, Vec<Lot>)> {
        let pendings = sqlx::query(&format!(
            "SELECT {PENDING_COLUMNS} FROM loyalty_pending
             WHERE workspace_id = $1 AND order_id = $2 AND state = 'pending' AND credit LIKE 'wallet:%'
             ORDER BY created_at, id"
        ))
        .bind(workspace.as_str())
        .bind(order_id)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(pending)
        .collect::<Result<Vec<_>>>()?;
        let lots = sqlx::query(&format!(
            "SELECT {LOT_COLUMNS} FROM loyalty_lots WHERE workspace_id = $1 AND order_id = $2 ORDER BY earned_at, id"
        ))
        .bind(workspace.as_str())
        .bind(order_id)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(lot)
        .collect::<Result<Vec<_>>>()?;
        Ok((pendings, lots))
    }

    /// Members of the workspace with points expiring by `until` not yet told about, marking
    /// those lots told: (member, points, first expiry).
    pub async fn ledger_take_expiry_notices(
        &mut self,
        workspace: &WorkspaceId,
        now: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, i64, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT member_id, CAST(SUM(remaining) AS BIGINT) AS points, MIN(due_at) AS first
             FROM loyalty_lots
             WHERE workspace_id = $1 AND due_at > $2 AND due_at <= $3 AND noticed_at IS NULL
             GROUP BY member_id ORDER BY MIN(due_at) LIMIT $4",
        )
        .bind(workspace.as_str())
        .bind(now.millis())
        .bind(until.millis())
        .bind(limit)
        .fetch_all(self.conn())
        .await?;
        let mut notices = Vec::with_capacity(rows.len());
        for row in rows {
            let member = text(&row, "member_id")?;
            // A concurrent sweep may have told this member meanwhile: the update then
            // finds no untold lot (PostgreSQL re-checks the condition after the wait), and
            // the notice is left to it, so each member is told once.
            let told = sqlx::query(
                "UPDATE loyalty_lots SET noticed_at = $1
                 WHERE workspace_id = $2 AND member_id = $3 AND noticed_at IS NULL
                   AND due_at > $4 AND due_at <= $5",
            )
            .bind(now.millis())
            .bind(workspace.as_str())
            .bind(member.as_str())
            .bind(now.millis())
            .bind(until.millis())
            .execute(self.conn())
            .await?;
            if told.rows_affected() > 0 {
                notices.push((member, int(&row, "points")?, ts(&row, "first")?));
            }
        }
        Ok(notices)
    }
}
