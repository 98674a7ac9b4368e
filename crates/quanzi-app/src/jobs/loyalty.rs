//! `loyalty.sweep`: the ledger's clockwork, run every minute by whichever node gets there
//! first (a dedup key per minute):
//! - pending transfers past their deadline are settled: checkout holds are voided (the
//!   points return), points earned on orders are posted once the return window is over;
//! - lots past their expiry are expired (spending already skips them; this books it);
//! - members whose points expire within the workspace's notice window get one
//!   `points.expiring` fact in the outbox, for journeys and webhooks.
//!
//! Request ids are derived from what they settle (`timeout:<pending id>`), so a sweep that
//! runs twice settles nothing twice: the ledger answers the second attempt as a duplicate.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::loyalty::ledger::{OnTimeout, Operation, Request};
use quanzi_domain::time::Timestamp;

use super::{handler_fn, JobHandler, JobRun};
use crate::services::loyalty::{ledger, settings};
use crate::App;

pub const SWEEP_KIND: &str = "loyalty.sweep";
const BATCH: i64 = 500;
/// Rounds per run, so one run never holds its lease for long; the next minute goes on.
const ROUNDS: usize = 20;

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let report = sweep(&run.app).await?;
    if report != SweepReport::default() {
        tracing::info!(?report, "loyalty sweep");
    }
    Ok(())
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub settled: usize,
    pub expired: usize,
    pub notices: usize,
}

/// Does everything that has fallen due at the clock's now.
pub async fn sweep(app: &App) -> anyhow::Result<SweepReport> {
    let mut report = SweepReport::default();
    for _ in 0..ROUNDS {
        let now = app.clock.now();
        let due = app.store.ledger_due_pendings(now, BATCH).await?;
        if due.is_empty() {
            break;
        }
        let mut by_workspace: BTreeMap<String, Vec<Request>> = BTreeMap::new();
        for (ws, id, action) in &due {
            let op = match action {
                OnTimeout::Void => Operation::Void {
                    pending_id: id.clone(),
                },
                OnTimeout::Post => Operation::Post {
                    pending_id: id.clone(),
                    amount: None,
                },
            };
            by_workspace.entry(ws.clone()).or_default().push(Request {
                id: format!("timeout:{id}"),
                linked: false,
                op,
            });
        }
        for (ws, requests) in by_workspace {
            let ws = WorkspaceId::parse(&ws)?;
            ledger::apply_batch(app, &ws, &requests).await?;
        }
        report.settled += due.len();
        if due.len() < BATCH as usize {
            break;
        }
    }
    for _ in 0..ROUNDS {
        let now = app.clock.now();
        let due = app.store.ledger_due_lots(now, BATCH).await?;
        if due.is_empty() {
            break;
        }
        let mut by_workspace: BTreeMap<String, Vec<Request>> = BTreeMap::new();
        for (ws, lot_id) in &due {
            by_workspace.entry(ws.clone()).or_default().push(Request {
                id: format!("expire:{lot_id}:{}", new_id_body(now)),
                linked: false,
                op: Operation::Expire {
                    lot_id: lot_id.clone(),
                },
            });
        }
        for (ws, requests) in by_workspace {
            let ws = WorkspaceId::parse(&ws)?;
            ledger::apply_batch(app, &ws, &requests).await?;
        }
        report.expired += due.len();
        if due.len() < BATCH as usize {
            break;
        }
    }
    for workspace in app.store.workspaces().await? {
        let notice_days = settings::load(app, &workspace.id).await?.expiry_notice_days;
        let now = app.clock.now();
        let until = now.plus(Duration::from_secs(u64::from(notice_days) * 86_400));
        let mut tx = app.store.begin().await?;
        let notices = tx
            .ledger_take_expiry_notices(&workspace.id, now, until, 1000)
            .await?;
        for (member, points, first) in &notices {
            let payload = format!(
                "{{\"member_id\":\"{member}\",\"points\":{points},\"expires_at\":\"{}\"}}",
                first.to_rfc3339()
            );
            tx.emit(&workspace.id, "points.expiring", member, &payload, now)
                .await?;
        }
        tx.commit().await?;
        report.notices += notices.len();
    }
    Ok(report)
}

/// Enqueues this minute's sweep unless some node already did.
pub async fn schedule(app: &App, now: Timestamp) -> anyhow::Result<bool> {
    super::enqueue_every_minute(app, now, SWEEP_KIND).await
}
