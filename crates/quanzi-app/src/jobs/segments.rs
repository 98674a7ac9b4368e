//! `segments.refresh`: re-materialises every segment of a workspace, once a day (after
//! the RFM recomputation is queued, so daily scores feed daily audiences).

use std::sync::Arc;

use quanzi_domain::ids::JobId;
use quanzi_domain::jobs::JobKind;
use quanzi_domain::time::Timestamp;
use quanzi_store::NewJob;

use super::{handler_fn, JobHandler, JobRun};
use crate::App;

pub const REFRESH_KIND: &str = "segments.refresh";
const DAY_MS: i64 = 86_400_000;

pub fn handler() -> Arc<dyn JobHandler> {
    handler_fn(run)
}

async fn run(run: JobRun) -> anyhow::Result<()> {
    let workspace = run
        .job
        .workspace_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("segments.refresh needs a workspace"))?;
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

pub async fn schedule_daily(app: &App, now: Timestamp) -> anyhow::Result<()> {
    let day = now.millis().div_euclid(DAY_MS);
    for workspace in app.store.workspaces().await? {
        let job = NewJob {
            id: JobId::generate(now),
            workspace_id: Some(workspace.id.clone()),
            kind: JobKind::parse(REFRESH_KIND)?,
            payload: "{}".into(),
            dedup_key: Some(format!("{REFRESH_KIND}:{}:{day}", workspace.id)),
            // An hour after midnight UTC's RFM run has had its chance.
            run_at: now.plus(std::time::Duration::from_secs(3600)),
            max_attempts: 5,
        };
        app.store.enqueue_job(&job, now).await?;
    }
    Ok(())
}
