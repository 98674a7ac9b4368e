//! The points ledger as a use case. Every point anyone earns, spends, holds or loses goes
//! through [`apply_in`], which loads the batch's working set under locks, runs the domain
//! state machine and writes the result back in the caller's transaction.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::loyalty::ledger::{
    apply, Applied, Balance, LedgerError, Lot, Operation, Outcome, Pending, Request, BATCH_LIMIT,
};
use quanzi_domain::time::Timestamp;
use quanzi_store::{LiabilityReport, NewAuditEntry, Page, StoreError, TransferRow, Tx};

use crate::principal::Principal;
use crate::services::audit_details;
use crate::{App, Error, Result};

/// How many times a batch is retried after losing a race (a deadlock or a unique
/// violation on PostgreSQL) before giving up.
const ATTEMPTS: usize = 8;

/// Applies `requests` inside `tx`: the caller commits (or rolls back) everything at once.
pub(crate) async fn apply_in(
    tx: &mut Tx,
    workspace: &WorkspaceId,
    requests: &[Request],
    now: Timestamp,
) -> Result<Applied, StoreError> {
    let mut requests = requests.to_vec();
    book_to_live_members(tx, workspace, std::slice::from_mut(&mut requests)).await?;
    let mut working = tx.ledger_working(workspace, &requests, now).await?;
    let applied = apply(&mut working, &requests, now);
    tx.ledger_write(workspace, &working, &applied.effects, now)
        .await?;
    Ok(applied)
}

/// Applies `requests` in a transaction of their own, retrying lost races.
pub(crate) async fn apply_batch(
    app: &App,
    workspace: &WorkspaceId,
    requests: &[Request],
) -> Result<Applied> {
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        match apply_in(&mut tx, workspace, requests, now).await {
            Ok(applied) => match tx.commit().await {
                Ok(()) => return Ok(applied),
                Err(err) if err.is_transient() => continue,
                Err(err) => return Err(err.into()),
            },
            Err(err) if err.is_transient() => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!(
        "a ledger batch kept losing races"
    )))
}

/// One request's answer, with the transfers it made (or made the first time).
pub struct Answer {
    pub id: String,
    pub outcome: AnswerOutcome,
}

pub enum AnswerOutcome {
    Created(Vec<TransferRow>),
    Exists(Vec<TransferRow>),
    Failed { error: LedgerError, replayed: bool },
}

/// Who may send which operation: storefronts spend and hold what members have; minting
/// points or taking them back is for admins (earning rules mint points on their own).
fn authorize(principal: &Principal, op: &Operation) -> Result<()> {
    match op {
        Operation::Spend { .. }
        | Operation::Hold { .. }
        | Operation::Post { .. }
        | Operation::Void { .. } => principal.require_any(&[Scope::Storefront, Scope::Admin]),
        Operation::Earn { .. } | Operation::Reverse { .. } | Operation::Expire { .. } => {
            principal.require_console(Role::Admin, Scope::Admin)
        }
        // Points move between members only when OneID merges them.
        Operation::Merge { .. } => Err(Error::Forbidden(
            "points move between members only when identify merges them".into(),
        )),
    }
}

/// Submits a batch from the API. Members are named by id (a merged member's points go
/// to the survivor); an unknown member refuses the whole batch before anything changes.
pub async fn submit(
    app: &App,
    principal: &Principal,
    mut requests: Vec<Request>,
) -> Result<Vec<Answer>> {
    if requests.is_empty() || requests.len() > BATCH_LIMIT {
        return Err(InvalidInput::new(
            "transfers",
            format!("send 1 to {BATCH_LIMIT} transfers per request"),
        )
        .into());
    }
    for request in &requests {
        authorize(principal, &request.op)?;
    }
    let ws = &principal.workspace_id;
    let named: Vec<String> = requests
        .iter()
        .filter_map(|r| r.op.member().map(str::to_owned))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let live = app.store.live_member_ids(ws, &named).await?;
    for (i, request) in requests.iter_mut().enumerate() {
        let Some(member) = request.op.booked_member_mut() else {
            continue;
        };
        match live.get(member.as_str()) {
            Some(id) => *member = id.clone(),
            None => {
                return Err(InvalidInput::new(
                    format!("transfers[{i}].member_id"),
                    format!("no member {member} in this workspace"),
                )
                .into())
            }
        }
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    app.ledger_queue()
        .send(super::queue::Submission {
            workspace: ws.clone(),
            requests: requests.clone(),
            reply,
        })
        .await
        .map_err(|_| Error::Internal(anyhow::anyhow!("the ledger writer has stopped")))?;
    let outcomes = answer
        .await
        .map_err(|_| Error::Internal(anyhow::anyhow!("the ledger writer dropped a batch")))?
        .map_err(|err| Error::Internal(anyhow::anyhow!("applying transfers failed: {err}")))?;
    let existing: Vec<String> = requests
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| matches!(o, Outcome::Exists))
        .map(|(r, _)| r.id.clone())
        .collect();
    let mut originals = if existing.is_empty() {
        HashMap::new()
    } else {
        app.store.ledger_transfers_of(ws, &existing).await?
    };
    Ok(requests
        .into_iter()
        .zip(outcomes)
        .map(|(request, outcome)| {
            let outcome = match outcome {
                Outcome::Created(transfers) => {
                    AnswerOutcome::Created(transfers.iter().map(row_of).collect())
                }
                Outcome::Exists => {
                    AnswerOutcome::Exists(originals.remove(&request.id).unwrap_or_default())
                }
                Outcome::Failed { error, replayed } => AnswerOutcome::Failed { error, replayed },
            };
            Answer {
                id: request.id,
                outcome,
            }
        })
        .collect())
}

fn row_of(t: &quanzi_domain::loyalty::ledger::Transfer) -> TransferRow {
    TransferRow {
        id: t.id.clone(),
        op_id: t.op_id.clone(),
        kind: t.kind.to_owned(),
        debit: t.debit.to_string(),
        credit: t.credit.to_string(),
        amount: t.amount,
        phase: t.phase.as_str().to_owned(),
        pending_id: t.pending_id.clone(),
        lot_id: t.lot_id.clone(),
        order_id: t.order_id.clone(),
        reason: t.reason.clone(),
        created_at: t.created_at,
    }
}

fn may_read(principal: &Principal) -> Result<()> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])
}

/// A member's points at a glance.
pub struct PointsSummary {
    pub member_id: String,
    pub wallet: Balance,
    pub debt: Balance,
    /// Points in lots that expire within the notice window, and the first such expiry.
    pub expiring_soon: i64,
    pub next_expiry: Option<Timestamp>,
}

impl PointsSummary {
    /// Spendable points less what the member owes: negative when a refund took back
    /// points already spent.
    pub fn net(&self) -> i64 {
        self.wallet.available() + self.debt.posted()
    }
}

pub async fn summary(app: &App, principal: &Principal, member_id: &str) -> Result<PointsSummary> {
    may_read(principal)?;
    let member = crate::services::members::find(app, principal, member_id).await?;
    let ws = &principal.workspace_id;
    let (wallet, debt) = app.store.ledger_balances(ws, &member.id).await?;
    let lots = app.store.ledger_lots(ws, &member.id, false).await?;
    let notice_days = super::settings::load(app, ws).await?.expiry_notice_days;
    let horizon = app
        .clock
        .now()
        .plus(Duration::from_secs(u64::from(notice_days) * 86_400));
    let soon: Vec<&Lot> = lots
        .iter()
        .filter(|l| l.expires_at.is_some_and(|at| at <= horizon))
        .collect();
    Ok(PointsSummary {
        member_id: member.id,
        wallet,
        debt,
        expiring_soon: soon.iter().map(|l| l.remaining).sum(),
        next_expiry: lots.iter().filter_map(|l| l.expires_at).min(),
    })
}

pub async fn lots(
    app: &App,
    principal: &Principal,
    member_id: &str,
    all: bool,
) -> Result<Vec<Lot>> {
    may_read(principal)?;
    let member = crate::services::members::find(app, principal, member_id).await?;
    Ok(app
        .store
        .ledger_lots(&principal.workspace_id, &member.id, all)
        .await?)
}

pub async fn pendings(app: &App, principal: &Principal, member_id: &str) -> Result<Vec<Pending>> {
    may_read(principal)?;
    let member = crate::services::members::find(app, principal, member_id).await?;
    Ok(app
        .store
        .ledger_pendings(&principal.workspace_id, &member.id)
        .await?)
}

pub async fn history(
    app: &App,
    principal: &Principal,
    member_id: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<TransferRow>> {
    may_read(principal)?;
    let member = crate::services::members::find(app, principal, member_id).await?;
    Ok(app
        .store
        .ledger_history(&principal.workspace_id, &member.id, cursor, limit)
        .await?)
}

pub struct Adjustment {
    /// Positive adds points (paid by the `adjustment` source), negative takes them away.
    pub amount: i64,
    pub reason: String,
    pub expires_at: Option<Timestamp>,
}

/// An operator's manual correction, with a reason, in the audit log.
pub async fn adjust(
    app: &App,
    principal: &Principal,
    member_id: &str,
    adjustment: Adjustment,
) -> Result<Answer> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    let reason = adjustment.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(InvalidInput::new("reason", "say why in 1 to 200 characters").into());
    }
    if adjustment.amount == 0 {
        return Err(InvalidInput::new("amount", "must not be zero").into());
    }
    let member = crate::services::members::find(app, principal, member_id).await?;
    let ws = &principal.workspace_id;
    let now = app.clock.now();
    let id = format!("adj_{}", new_id_body(now));
    let op = if adjustment.amount > 0 {
        Operation::Earn {
            member: member.id.clone(),
            source: "adjustment".into(),
            amount: adjustment.amount,
            lot_expires_at: adjustment.expires_at,
            pending: None,
            order_id: None,
            reason: Some(reason.clone()),
        }
    } else {
        Operation::Spend {
            member: member.id.clone(),
            sink: "adjustment".into(),
            amount: -adjustment.amount,
            order_id: None,
            reason: Some(reason.clone()),
        }
    };
    let requests = [Request {
        id: id.clone(),
        linked: false,
        op,
    }];
    for _ in 0..ATTEMPTS {
        let mut tx = app.store.begin().await?;
        let applied = retry_on_race!(apply_in(&mut tx, ws, &requests, now).await);
        let outcome = applied.outcomes.into_iter().next().expect("one outcome");
        if let Outcome::Failed { error, .. } = outcome {
            return Err(Error::Conflict {
                code: error.as_str(),
                message: error.message().to_owned(),
            });
        }
        tx.audit(&NewAuditEntry {
            workspace_id: ws.clone(),
            actor: principal.actor_ref(),
            action: "points.adjust",
            target: member.id.clone(),
            details: audit_details(&[
                ("transfer_id", &id),
                ("amount", &adjustment.amount.to_string()),
                ("reason", &reason),
            ]),
            at: now,
        })
        .await?;
        retry_on_race!(tx.commit().await);
        let Outcome::Created(transfers) = outcome else {
            unreachable!("a fresh id is never a resubmission")
        };
        return Ok(Answer {
            id,
            outcome: AnswerOutcome::Created(transfers.iter().map(row_of).collect()),
        });
    }
    Err(Error::Internal(anyhow::anyhow!(
        "an adjustment kept losing races"
    )))
}

/// Outstanding points, what expires within `horizon_days`, and the cost per source; with
/// what 100 points are worth in fen.
pub async fn liability(
    app: &App,
    principal: &Principal,
    horizon_days: u32,
) -> Result<(LiabilityReport, i64)> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    if !(1..=366).contains(&horizon_days) {
        return Err(InvalidInput::new("horizon_days", "must be 1 to 366").into());
    }
    let now = app.clock.now();
    let horizon = now.plus(Duration::from_secs(u64::from(horizon_days) * 86_400));
    let report = app
        .store
        .ledger_liability(&principal.workspace_id, now, horizon)
        .await?;
    let value = super::settings::load(app, &principal.workspace_id)
        .await?
        .fen_per_100_points;
    Ok((report, value))
}

/// Member accounts whose counters disagree with their transfers or lots; empty when the
/// books reconcile.
pub async fn reconcile(app: &App, principal: &Principal) -> Result<Vec<String>> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    Ok(app.store.ledger_mismatches(&principal.workspace_id).await?)
}

/// Callers name members they resolved earlier (the API when a batch arrived, a job when
/// it listed its work); a merge may have committed since, and booking to the merged
/// member's wallet would hide the points from the survivor. So the members are locked (`FOR SHARE` on PostgreSQL, which a merge
/// waits for) and followed to the live member again, in the writer's transaction.
pub(crate) async fn book_to_live_members(
    tx: &mut Tx,
    workspace: &WorkspaceId,
    batches: &mut [Vec<Request>],
) -> Result<(), StoreError> {
    let mut named: Vec<String> = batches
        .iter_mut()
        .flatten()
        .filter_map(|r| r.op.booked_member_mut().map(|m| m.clone()))
        .collect();
    named.sort_unstable();
    named.dedup();
    if named.is_empty() {
        return Ok(());
    }
    let live = tx.lock_live_members(workspace, &named, false).await?;
    for member in batches
        .iter_mut()
        .flatten()
        .filter_map(|r| r.op.booked_member_mut())
    {
        if let Some(id) = live.get(member.as_str()) {
            member.clone_from(id);
        }
    }
    Ok(())
}
