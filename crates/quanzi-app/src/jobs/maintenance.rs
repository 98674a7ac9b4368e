//! `maintenance.prune`: forgets what has outlived its purpose: expired idempotency keys,
//! login attempts older than 30 days, finished jobs older than 7 days (dead jobs stay for
//! operators). Enqueued once per hour by whichever node gets there first (a dedup key per
//! hour makes the others' attempts no-ops).

use std::sync::Arc;
use std::time::Duration;

use quanzi_domain::ids::JobId;
use quanzi_domain::jobs::JobKind;
use quanzi_domain::time::Timestamp;
use quanzi_store::NewJob;

use super::{handler_fn, JobHandler, JobRun};
use crate::App;

pub const PRUNE_KIND: &str = "maintenance.prune";
const HOUR_MS: i64 = 3_600_000;

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let store = &run.app.store;
    let now = run.app.clock.now();
    let keys = store.prune_idempotency_keys(now).await?;
    let attempts = store
        .prune_login_attempts(now.minus(Duration::from_secs(30 * 86_400)))
        .await?;
    let jobs = store
        .prune_done_jobs(now.minus(Duration::from_secs(7 * 86_400)))
        .await?;
    tracing::info!(keys, attempts, jobs, "pruned expired records");
    Ok(())
}

/// Enqueues this hour's prune job unless some node already did.
pub async fn schedule(app: &App, now: Timestamp) -> anyhow::Result<bool> {
    let hour = now.millis().div_euclid(HOUR_MS);
    let job = NewJob {
        id: JobId::generate(now),
        workspace_id: None,
        kind: JobKind::parse(PRUNE_KIND)?,
        payload: "{}".into(),
        dedup_key: Some(format!("{PRUNE_KIND}:{hour}")),
        run_at: now,
        max_attempts: 3,
    };
    Ok(app.store.enqueue_job(&job, now).await?)
}
