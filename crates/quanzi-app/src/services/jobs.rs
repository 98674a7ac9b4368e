use quanzi_domain::auth::Scope;
use quanzi_domain::ids::JobId;
use quanzi_domain::jobs::{JobKind, JobState};
use quanzi_store::{JobRow, NewJob, Page};

use crate::jobs::probe::PROBE_KIND;
use crate::principal::Principal;
use crate::{App, Error, Result};

pub const MAX_PROBES_PER_REQUEST: u32 = 1000;
pub const MAX_PROBE_WORK_MS: u64 = 60_000;

/// Enqueues `count` diagnostic probe jobs that each pretend to work for `work_ms` and then
/// record one execution. Used to check that workers run and share the load.
pub async fn enqueue_probes(
    app: &App,
    principal: &Principal,
    count: u32,
    work_ms: u64,
) -> Result<Vec<JobId>> {
    principal.require(Scope::Admin)?;
    if count == 0 || count > MAX_PROBES_PER_REQUEST {
        return Err(quanzi_domain::input::InvalidInput::new(
            "count",
            format!("must be between 1 and {MAX_PROBES_PER_REQUEST}"),
        )
        .into());
    }
    if work_ms > MAX_PROBE_WORK_MS {
        return Err(quanzi_domain::input::InvalidInput::new(
            "work_ms",
            format!("must be at most {MAX_PROBE_WORK_MS}"),
        )
        .into());
    }
    let now = app.clock.now();
    let kind = JobKind::parse(PROBE_KIND)?;
    let mut ids = Vec::with_capacity(count as usize);
    let mut tx = app.store.begin().await?;
    for _ in 0..count {
        let id = JobId::generate(now);
        tx.enqueue_job(
            &NewJob {
                id: id.clone(),
                workspace_id: Some(principal.workspace_id.clone()),
                kind: kind.clone(),
                payload: format!("{{\"work_ms\":{work_ms}}}"),
                dedup_key: None,
                run_at: now,
                max_attempts: app.config.jobs.max_attempts,
            },
            now,
        )
        .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

pub async fn get(app: &App, principal: &Principal, id: &str) -> Result<JobRow> {
    principal.require(Scope::Admin)?;
    let id = JobId::parse(id).map_err(|_| Error::NotFound { what: "job" })?;
    app.store
        .job(&principal.workspace_id, &id)
        .await
        .map_err(Error::not_found("job"))
}

pub async fn list(
    app: &App,
    principal: &Principal,
    state: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<Page<JobRow>> {
    principal.require(Scope::Admin)?;
    let state = state.map(JobState::parse).transpose()?;
    Ok(app
        .store
        .jobs(&principal.workspace_id, state, after, limit)
        .await?)
}

/// Puts a dead job back in the queue.
pub async fn retry(app: &App, principal: &Principal, id: &str) -> Result<JobRow> {
    principal.require(Scope::Admin)?;
    let id = JobId::parse(id).map_err(|_| Error::NotFound { what: "job" })?;
    match app
        .store
        .retry_dead_job(&principal.workspace_id, &id, app.clock.now())
        .await
    {
        Ok(row) => Ok(row),
        Err(quanzi_store::StoreError::NotFound) => Err(Error::NotFound { what: "job" }),
        Err(quanzi_store::StoreError::Conflict { .. }) => Err(Error::Conflict {
            code: "job_not_dead",
            message: "only dead jobs can be retried".into(),
        }),
        Err(err) => Err(err.into()),
    }
}
