//! Group commit for ledger requests, as for events. Concurrent API batches on one node go
//! to a single writer task, which loads one working set for everything waiting, applies
//! each batch to it in arrival order (each batch on its own, so linked chains never span
//! two callers), writes the result back in one transaction and answers every caller once
//! it has committed. On SQLite one fsync then serves many callers instead of one each.

use std::collections::BTreeMap;

use futures_util::FutureExt;
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::loyalty::ledger::{apply, Effects, Outcome, Request};
use quanzi_store::StoreError;
use tokio::sync::{mpsc, oneshot};

use crate::services::group_commit;
use crate::App;

/// Requests taken into one transaction at most (the first batch is always taken whole).
const GROUP_LIMIT: usize = 16_000;
const ATTEMPTS: usize = 8;

pub(crate) struct Submission {
    pub workspace: WorkspaceId,
    pub requests: Vec<Request>,
    pub reply: oneshot::Sender<Result<Vec<Outcome>, String>>,
}

impl group_commit::Submission for Submission {
    type Answer = Vec<Outcome>;

    fn size(&self) -> usize {
        self.requests.len()
    }

    fn reply_to(self) -> oneshot::Sender<Result<Vec<Outcome>, String>> {
        self.reply
    }
}

pub(crate) type Queue = mpsc::Sender<Submission>;

/// Starts the writer task; it ends when every sender is gone.
pub(crate) fn start(app: App) -> Queue {
    let (sender, receiver) = mpsc::channel::<Submission>(1024);
    group_commit::spawn(app, receiver, 1, GROUP_LIMIT, "ledger", |app, group| {
        store_group(app, group).boxed()
    });
    sender
}

async fn store_group(app: &App, group: &[Submission]) -> Result<Vec<Vec<Outcome>>, String> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match store_group_once(app, group).await {
            Ok(answers) => return Ok(answers),
            Err(err) if err.is_transient() => last = Some(err),
            Err(err) => return Err(err.to_string()),
        }
    }
    Err(format!("the ledger kept losing races: {last:?}"))
}

async fn store_group_once(
    app: &App,
    group: &[Submission],
) -> Result<Vec<Vec<Outcome>>, StoreError> {
    let now = app.clock.now();
    let mut answers: Vec<Vec<Outcome>> = vec![Vec::new(); group.len()];
    let mut by_workspace: BTreeMap<&WorkspaceId, Vec<usize>> = BTreeMap::new();
    for (i, submission) in group.iter().enumerate() {
        by_workspace
            .entry(&submission.workspace)
            .or_default()
            .push(i);
    }
    let mut tx = app.store.begin().await?;
    for (workspace, members) in by_workspace {
        let mut batches: Vec<Vec<Request>> =
            members.iter().map(|&i| group[i].requests.clone()).collect();
        super::ledger::book_to_live_members(&mut tx, workspace, &mut batches).await?;
        let all: Vec<Request> = batches.iter().flatten().cloned().collect();
        let mut working = tx.ledger_working(workspace, &all, now).await?;
        let mut effects = Effects::default();
        for (&i, batch) in members.iter().zip(&batches) {
            let applied = apply(&mut working, batch, now);
            effects.absorb(applied.effects);
            answers[i] = applied.outcomes;
        }
        tx.ledger_write(workspace, &working, &effects, now).await?;
    }
    tx.commit().await?;
    Ok(answers)
}
