//! `loyalty.tiers`: the daily tier review of a workspace (upgrades that settled points
//! brought, and downgrades where the workspace re-evaluates tiers on a window).

use std::sync::Arc;

use super::{handler_fn, JobHandler, JobRun};
use crate::App;

pub const TIERS_KIND: &str = "loyalty.tiers";

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let workspace = run
        .job
        .workspace_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("loyalty.tiers needs a workspace"))?;
    let changes = crate::services::loyalty::tiers::review(&run.app, &workspace).await?;
    tracing::info!(workspace = %workspace, changes, "tiers reviewed");
    Ok(())
}

/// Enqueues today's review for every workspace that has none yet.
pub async fn schedule_daily(app: &App, now: quanzi_domain::time::Timestamp) -> anyhow::Result<()> {
    super::enqueue_daily_per_workspace(app, now, TIERS_KIND, std::time::Duration::from_secs(3600))
        .await
}
