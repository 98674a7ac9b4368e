//! `segments.refresh`: re-evaluates every rule tag and re-materialises every segment of a
//! workspace, once a day (after the RFM recomputation is queued, so daily scores feed daily
//! audiences).

use std::sync::Arc;

use quanzi_domain::time::Timestamp;

use super::{handler_fn, JobHandler, JobRun};
use crate::App;

pub const REFRESH_KIND: &str = "segments.refresh";

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let workspace = run
        .job
        .workspace_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("segments.refresh needs a workspace"))?;
    // Rule tags first: segments may select by tag.
    crate::services::tags::refresh_rule_tags(&run.app, &workspace)
        .await
        .map_err(|e| anyhow::anyhow!("rule tags: {e}"))?;
    let mut after = None;
    loop {
        let page = run
            .app
            .store
            .segments(&workspace, after.as_deref(), 200)
            .await?;
        for segment in &page.items {
            crate::services::segments::refresh_stored(&run.app, &workspace, segment)
                .await
                .map_err(|e| anyhow::anyhow!("segment {}: {e}", segment.id))?;
        }
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    Ok(())
}

/// An hour after the day's RFM recomputation was queued, so daily scores feed daily audiences.
pub async fn schedule_daily(app: &App, now: Timestamp) -> anyhow::Result<()> {
    super::enqueue_daily_per_workspace(app, now, REFRESH_KIND, std::time::Duration::from_secs(3600))
        .await
}
