//! `members.rfm`: recomputes a workspace's RFM scores in one transaction that also completes
//! the job. Scheduled once a day per workspace (a dedup key per day makes the nodes agree),
//! and on demand through the API.

use std::sync::Arc;

use quanzi_domain::ids::{JobId, WorkspaceId};
use quanzi_domain::jobs::JobKind;
use quanzi_domain::members::rfm_scores;
use quanzi_domain::time::Timestamp;
use quanzi_store::NewJob;

use super::{handler_fn, JobHandler, JobRun};
use crate::App;

pub const RFM_KIND: &str = "members.rfm";

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let workspace = run
        .job
        .workspace_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("members.rfm needs a workspace"))?;
    let now = run.app.clock.now();
    let mut tx = run.app.store.begin().await?;
    let inputs = tx.rfm_inputs(&workspace, now).await?;
    let scores = rfm_scores(&inputs);
    let pairs: Vec<_> = inputs
        .into_iter()
        .map(|i| i.member_id)
        .zip(scores)
        .collect();
    tx.set_rfm(&workspace, &pairs, now).await?;
    run.complete_in(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(workspace = %workspace, members = pairs.len(), "rfm recomputed");
    Ok(())
}

fn job(workspace: &WorkspaceId, now: Timestamp) -> anyhow::Result<NewJob> {
    Ok(NewJob {
        id: JobId::generate(now),
        workspace_id: Some(workspace.clone()),
        kind: JobKind::parse(RFM_KIND)?,
        payload: "{}".into(),
        dedup_key: None,
        run_at: now,
        max_attempts: 5,
    })
}

/// Enqueues today's recomputation for every workspace that has none yet.
pub async fn schedule_daily(app: &App, now: Timestamp) -> anyhow::Result<()> {
    super::enqueue_daily_per_workspace(app, now, RFM_KIND, std::time::Duration::ZERO).await
}

/// Enqueues a recomputation now; returns the job's id.
pub async fn enqueue_now(app: &App, workspace: &WorkspaceId) -> anyhow::Result<JobId> {
    let now = app.clock.now();
    let new = job(workspace, now)?;
    app.store.enqueue_job(&new, now).await?;
    Ok(new.id)
}
