//! The points ledger's tables: loading a batch's working set under locks and writing back
//! what the ledger state machine decided.
//!
//! A batch locks the wallet and debt accounts of every member it touches (`FOR UPDATE`,
//! in code order, on PostgreSQL; the single writer serialises SQLite) and only then reads
//! lots, pending transfers and earlier outcomes, so what it reads cannot change under it.
//! Every lot and pending transfer belongs to one member, so the member's account lock
//! guards them too.
//!
//! # Layout
//! - this file: the batch working set and the write-back.
//! - `reads`: balances, lots, history, due work for jobs, and the liability report.
//! - `mall`: points-mall items (stock taken by a conditional update) and redemptions.
//! - `settings`: each workspace's loyalty settings and members' check-in days.
//! - `tiers`: members' tiers and the growth (spend or points) they are decided by.

mod mall;
mod reads;
mod settings;
mod tiers;

use std::collections::{BTreeSet, HashMap};

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::loyalty::ledger::{
    AccountCode, Balance, Effects, LedgerError, Lot, OnTimeout, Operation, Pending, PendingState,
    Request, Timeout, Working,
};
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::rows::{int, opt_text, opt_ts, text, ts};
use crate::sql::{bulk_insert, placeholders, select_in, CHUNK};
use crate::Tx;

pub use mall::{MallItemRow, RedemptionRow};
pub use reads::{LiabilityReport, SourceCost, TransferRow};
pub use settings::CheckinRow;
pub use tiers::MemberTierRow;

const LOT_COLUMNS: &str =
    "id, member_id, source, amount, remaining, reversed, expired, earned_at, expires_at, order_id";
const PENDING_COLUMNS: &str = "id, debit, credit, amount, state, timeout_at, on_timeout, lot_expires_at, order_id, uses, resolved_amount, created_at, resolved_at";

impl Tx {
    /// Loads what `requests` touch, locking the accounts of every member involved.
    pub async fn ledger_working(
        &mut self,
        workspace: &WorkspaceId,
        requests: &[Request],
        now: Timestamp,
    ) -> Result<Working> {
        let mut pending_ids = BTreeSet::new();
        let mut lot_ids = BTreeSet::new();
        let mut members = BTreeSet::new();
        let mut merged_members = BTreeSet::new();
        for request in requests {
            match &request.op {
                Operation::Merge { from, into } => {
                    members.insert(from.clone());
                    members.insert(into.clone());
                    merged_members.insert(from.clone());
                }
                Operation::Post { pending_id, .. } | Operation::Void { pending_id } => {
                    pending_ids.insert(pending_id.clone());
                }
                Operation::Expire { lot_id } | Operation::Reverse { lot_id, .. } => {
                    lot_ids.insert(lot_id.clone());
                }
                op => {
                    members.extend(op.member().map(str::to_owned));
                }
            }
        }
        // Who owns the referenced pendings and lots decides which accounts to lock; they
        // are read again once the locks are held.
        let pending_ids: Vec<String> = pending_ids.into_iter().collect();
        let lot_ids: Vec<String> = lot_ids.into_iter().collect();
        for p in self.pendings_by_id(workspace, &pending_ids).await? {
            members.extend(p.debit.member().or(p.credit.member()).map(str::to_owned));
        }
        for lot in self.lots_by_id(workspace, &lot_ids).await? {
            members.insert(lot.member);
        }
        let members: Vec<String> = members.into_iter().collect();
        // Most wallets exist: lock them first and create only the missing ones (then lock
        // those), instead of an insert attempt for every member of every batch.
        let mut accounts = self.lock_accounts(workspace, &members).await?;
        let missing: Vec<String> = members
            .iter()
            .filter(|m| !accounts.contains_key(&AccountCode::Wallet((*m).clone())))
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.ensure_wallets(workspace, &missing, now).await?;
            accounts.extend(self.lock_accounts(workspace, &missing).await?);
        }

        let mut pendings = self.pendings_by_id(workspace, &pending_ids).await?;
        let merged_members: Vec<String> = merged_members.into_iter().collect();
        for p in self.open_pendings_of(workspace, &merged_members).await? {
            if !pendings.iter().any(|q| q.id == p.id) {
                pendings.push(p);
            }
        }
        // Open lots, plus used-up ones a request names or a hold may give points back to.
        let mut lots = self.open_lots(workspace, &members).await?;
        let open: BTreeSet<String> = lots.iter().map(|l| l.id.clone()).collect();
        let named = pendings
            .iter()
            .flat_map(|p| p.uses.iter().map(|(lot, _)| lot.clone()))
            .chain(lot_ids);
        let closed: Vec<String> = named
            .filter(|id| !open.contains(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        lots.extend(self.lots_by_id(workspace, &closed).await?);
        let ids: Vec<String> = requests.iter().map(|r| r.id.clone()).collect();
        let known = self.known_ops(workspace, &ids).await?;
        Ok(Working::new(accounts, lots, pendings, known))
    }

    async fn ensure_wallets(
        &mut self,
        workspace: &WorkspaceId,
        members: &[String],
        now: Timestamp,
    ) -> Result<()> {
        for chunk in members.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO loyalty_accounts (workspace_id, code, member_id, kind, created_at, updated_at)
                 VALUES {} ON CONFLICT (workspace_id, code) DO NOTHING",
                placeholders(self.backend(), chunk.len(), 6, 0)
            );
            let mut query = sqlx::query(&sql);
            for member in chunk {
                query = query
                    .bind(workspace.as_str())
                    .bind(AccountCode::Wallet(member.clone()).to_string())
                    .bind(member.as_str())
                    .bind("wallet")
                    .bind(now.millis())
                    .bind(now.millis());
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    async fn lock_accounts(
        &mut self,
        workspace: &WorkspaceId,
        members: &[String],
    ) -> Result<HashMap<AccountCode, Balance>> {
        // PostgreSQL locks the rows in code order, so two batches never wait on each other
        // in a cycle. SQLite has one writer and needs neither; asking it to sort made it
        // walk the primary key of every account instead of the member index.
        let lock = match self.backend() {
            Backend::Postgres => "ORDER BY code FOR UPDATE",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT code, debits_pending, debits_posted, credits_pending, credits_posted
             FROM loyalty_accounts WHERE workspace_id = {{ws}} AND member_id IN {{keys}} {lock}"
        );
        let backend = self.backend();
        let rows = select_in(self.conn(), backend, &sql, workspace, members, |row| {
            let code = text(row, "code")?;
            let code = AccountCode::parse(&code).ok_or(StoreError::Corrupt(code))?;
            Ok((code, balance(row)?))
        })
        .await?;
        Ok(rows.into_iter().collect())
    }

    async fn open_lots(&mut self, workspace: &WorkspaceId, members: &[String]) -> Result<Vec<Lot>> {
        let sql = format!(
            "SELECT {LOT_COLUMNS} FROM loyalty_lots
             WHERE workspace_id = {{ws}} AND member_id IN {{keys}} AND remaining > 0"
        );
        let backend = self.backend();
        select_in(self.conn(), backend, &sql, workspace, members, lot).await
    }

    async fn lots_by_id(&mut self, workspace: &WorkspaceId, ids: &[String]) -> Result<Vec<Lot>> {
        let sql = format!(
            "SELECT {LOT_COLUMNS} FROM loyalty_lots WHERE workspace_id = {{ws}} AND id IN {{keys}}"
        );
        let backend = self.backend();
        select_in(self.conn(), backend, &sql, workspace, ids, lot).await
    }

    async fn pendings_by_id(
        &mut self,
        workspace: &WorkspaceId,
        ids: &[String],
    ) -> Result<Vec<Pending>> {
        let sql = format!(
            "SELECT {PENDING_COLUMNS} FROM loyalty_pending WHERE workspace_id = {{ws}} AND id IN {{keys}}"
        );
        let backend = self.backend();
        select_in(self.conn(), backend, &sql, workspace, ids, pending).await
    }

    async fn open_pendings_of(
        &mut self,
        workspace: &WorkspaceId,
        members: &[String],
    ) -> Result<Vec<Pending>> {
        let sql = format!(
            "SELECT {PENDING_COLUMNS} FROM loyalty_pending
             WHERE workspace_id = {{ws}} AND state = 'pending' AND member_id IN {{keys}}"
        );
        let backend = self.backend();
        select_in(self.conn(), backend, &sql, workspace, members, pending).await
    }

    async fn known_ops(
        &mut self,
        workspace: &WorkspaceId,
        ids: &[String],
    ) -> Result<HashMap<String, (String, Option<LedgerError>)>> {
        let backend = self.backend();
        let rows = select_in(
            self.conn(),
            backend,
            "SELECT id, fingerprint, error FROM loyalty_ops WHERE workspace_id = {ws} AND id IN {keys}",
            workspace,
            ids,
            |row| {
                let error = match opt_text(row, "error")? {
                    Some(code) => Some(LedgerError::parse(&code).ok_or(StoreError::Corrupt(code))?),
                    None => None,
                };
                Ok((text(row, "id")?, (text(row, "fingerprint")?, error)))
            },
        )
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Writes what a batch changed: new requests, transfers and lot uses, and the final
    /// state of every account, lot and pending transfer it touched.
    pub async fn ledger_write(
        &mut self,
        workspace: &WorkspaceId,
        working: &Working,
        effects: &Effects,
        now: Timestamp,
    ) -> Result<()> {
        let ws = workspace.as_str();
        let backend = self.backend();
        for chunk in effects.ops.chunks(CHUNK) {
            let sql = format!(
                "{} INTO loyalty_ops (workspace_id, id, kind, fingerprint, error, member_id, created_at) VALUES {}",
                bulk_insert(backend),
                placeholders(backend, chunk.len(), 7, 0)
            );
            let mut query = sqlx::query(&sql);
            for op in chunk {
                query = query
                    .bind(ws)
                    .bind(op.id.as_str())
                    .bind(op.kind)
                    .bind(op.fingerprint.as_str())
                    .bind(op.error.map(LedgerError::as_str))
                    .bind(op.member.as_deref())
                    .bind(op.created_at.millis());
            }
            query
                .execute(self.conn())
                .await
                .map_err(StoreError::unique("loyalty_op"))?;
        }
        for chunk in effects.transfers.chunks(CHUNK) {
            let sql = format!(
                "{} INTO loyalty_transfers (workspace_id, id, op_id, kind, debit, credit, amount, phase,
                    pending_id, lot_id, order_id, reason, member_id, created_at) VALUES {}",
                bulk_insert(backend),
                placeholders(backend, chunk.len(), 14, 0)
            );
            let mut query = sqlx::query(&sql);
            for t in chunk {
                query = query
                    .bind(ws)
                    .bind(t.id.as_str())
                    .bind(t.op_id.as_str())
                    .bind(t.kind)
                    .bind(t.debit.to_string())
                    .bind(t.credit.to_string())
                    .bind(t.amount)
                    .bind(t.phase.as_str())
                    .bind(t.pending_id.as_deref())
                    .bind(t.lot_id.as_deref())
                    .bind(t.order_id.as_deref())
                    .bind(t.reason.as_deref())
                    .bind(t.member())
                    .bind(t.created_at.millis());
            }
            query
                .execute(self.conn())
                .await
                .map_err(StoreError::unique("loyalty_transfer"))?;
        }
        for chunk in effects.lot_uses.chunks(CHUNK) {
            let sql = format!(
                "{} INTO loyalty_lot_uses (workspace_id, transfer_id, lot_id, amount) VALUES {}",
                bulk_insert(backend),
                placeholders(backend, chunk.len(), 4, 0)
            );
            let mut query = sqlx::query(&sql);
            for u in chunk {
                query = query
                    .bind(ws)
                    .bind(u.transfer_id.as_str())
                    .bind(u.lot_id.as_str())
                    .bind(u.amount);
            }
            query.execute(self.conn()).await?;
        }
        let accounts: Vec<(&AccountCode, Balance)> = effects
            .accounts
            .iter()
            .map(|code| (code, working.balance(code)))
            .collect();
        for chunk in accounts.chunks(CHUNK) {
            let sql = format!(
                "{} INTO loyalty_accounts (workspace_id, code, member_id, kind, debits_pending, debits_posted,
                    credits_pending, credits_posted, created_at, updated_at) VALUES {}
                 ON CONFLICT (workspace_id, code) DO UPDATE SET
                    debits_pending = excluded.debits_pending, debits_posted = excluded.debits_posted,
                    credits_pending = excluded.credits_pending, credits_posted = excluded.credits_posted,
                    updated_at = excluded.updated_at",
                bulk_insert(backend),
                placeholders(backend, chunk.len(), 10, 0)
            );
            let mut query = sqlx::query(&sql);
            for (code, b) in chunk {
                query = query
                    .bind(ws)
                    .bind(code.to_string())
                    .bind(code.member().unwrap_or_default().to_owned())
                    .bind(code.kind())
                    .bind(b.debits_pending)
                    .bind(b.debits_posted)
                    .bind(b.credits_pending)
                    .bind(b.credits_posted)
                    .bind(now.millis())
                    .bind(now.millis());
            }
            query.execute(self.conn()).await?;
        }
        let lots: Vec<&Lot> = effects
            .lots
            .iter()
            .filter_map(|id| working.lots.get(id))
            .collect();
        for chunk in lots.chunks(CHUNK) {
            let sql = format!(
                "{} INTO loyalty_lots ({LOT_COLUMNS}, workspace_id, due_at) VALUES {}
                 ON CONFLICT (workspace_id, id) DO UPDATE SET due_at = excluded.due_at,
                    member_id = excluded.member_id, remaining = excluded.remaining,
                    reversed = excluded.reversed, expired = excluded.expired",
                bulk_insert(backend),
                placeholders(backend, chunk.len(), 12, 0)
            );
            let mut query = sqlx::query(&sql);
            for lot in chunk {
                let due_at = lot.expires_at.filter(|_| lot.remaining > 0);
                query = query
                    .bind(lot.id.as_str())
                    .bind(lot.member.as_str())
                    .bind(lot.source.as_str())
                    .bind(lot.amount)
                    .bind(lot.remaining)
                    .bind(lot.reversed)
                    .bind(lot.expired)
                    .bind(lot.earned_at.millis())
                    .bind(lot.expires_at.map(Timestamp::millis))
                    .bind(lot.order_id.as_deref())
                    .bind(ws)
                    .bind(due_at.map(Timestamp::millis));
            }
            query.execute(self.conn()).await?;
        }
        let pendings: Vec<&Pending> = effects
            .pendings
            .iter()
            .filter_map(|id| working.pendings.get(id))
            .collect();
        for chunk in pendings.chunks(CHUNK) {
            let sql = format!(
                "{} INTO loyalty_pending ({PENDING_COLUMNS}, member_id, workspace_id) VALUES {}
                 ON CONFLICT (workspace_id, id) DO UPDATE SET
                    state = excluded.state, resolved_amount = excluded.resolved_amount,
                    resolved_at = excluded.resolved_at",
                bulk_insert(backend),
                placeholders(backend, chunk.len(), 15, 0)
            );
            let mut query = sqlx::query(&sql);
            for p in chunk {
                let member = p.debit.member().or(p.credit.member()).unwrap_or_default();
                query = query
                    .bind(p.id.as_str())
                    .bind(p.debit.to_string())
                    .bind(p.credit.to_string())
                    .bind(p.amount)
                    .bind(p.state.as_str())
                    .bind(p.timeout.at.millis())
                    .bind(p.timeout.action.as_str())
                    .bind(p.lot_expires_at.map(Timestamp::millis))
                    .bind(p.order_id.as_deref())
                    .bind(encode_uses(&p.uses))
                    .bind(p.resolved_amount)
                    .bind(p.created_at.millis())
                    .bind(p.resolved_at.map(Timestamp::millis))
                    .bind(member.to_owned())
                    .bind(ws);
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }
}

fn balance(row: &AnyRow) -> Result<Balance> {
    Ok(Balance {
        debits_pending: int(row, "debits_pending")?,
        debits_posted: int(row, "debits_posted")?,
        credits_pending: int(row, "credits_pending")?,
        credits_posted: int(row, "credits_posted")?,
    })
}

pub(crate) fn lot(row: &AnyRow) -> Result<Lot> {
    Ok(Lot {
        id: text(row, "id")?,
        member: text(row, "member_id")?,
        source: text(row, "source")?,
        amount: int(row, "amount")?,
        remaining: int(row, "remaining")?,
        reversed: int(row, "reversed")?,
        expired: int(row, "expired")?,
        earned_at: ts(row, "earned_at")?,
        expires_at: opt_ts(row, "expires_at")?,
        order_id: opt_text(row, "order_id")?,
    })
}

pub(crate) fn pending(row: &AnyRow) -> Result<Pending> {
    let account = |col: &str| -> Result<AccountCode> {
        let raw = text(row, col)?;
        AccountCode::parse(&raw).ok_or(StoreError::Corrupt(raw))
    };
    let state = text(row, "state")?;
    let action = text(row, "on_timeout")?;
    Ok(Pending {
        id: text(row, "id")?,
        debit: account("debit")?,
        credit: account("credit")?,
        amount: int(row, "amount")?,
        state: PendingState::parse(&state).ok_or(StoreError::Corrupt(state))?,
        timeout: Timeout {
            at: ts(row, "timeout_at")?,
            action: OnTimeout::parse(&action).ok_or(StoreError::Corrupt(action))?,
        },
        lot_expires_at: opt_ts(row, "lot_expires_at")?,
        order_id: opt_text(row, "order_id")?,
        created_at: ts(row, "created_at")?,
        resolved_amount: int(row, "resolved_amount")?,
        resolved_at: opt_ts(row, "resolved_at")?,
        uses: decode_uses(&text(row, "uses")?)?,
    })
}

/// `lot=amount;lot=amount`: lot ids never contain `=` or `;`.
fn encode_uses(uses: &[(String, i64)]) -> String {
    uses.iter()
        .map(|(lot, amount)| format!("{lot}={amount}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn decode_uses(raw: &str) -> Result<Vec<(String, i64)>> {
    raw.split(';')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (lot, amount) = part
                .rsplit_once('=')
                .ok_or_else(|| StoreError::Corrupt(raw.to_owned()))?;
            let amount = amount
                .parse()
                .map_err(|_| StoreError::Corrupt(raw.to_owned()))?;
            Ok((lot.to_owned(), amount))
        })
        .collect()
}
