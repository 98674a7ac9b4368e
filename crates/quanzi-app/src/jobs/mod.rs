//! The durable job runtime.
//!
//! Handlers are registered by kind in a [`Registry`]; the [`WorkerPool`] inside
//! `quanzi serve` claims due jobs from the database, runs them with a heartbeat that keeps
//! the lease alive, and records success, a retry with backoff, or death. Any number of
//! nodes may run pools against one database.
//!
//! Exactly-once effects: a handler whose work is database writes does them in a
//! transaction and finishes the job in that same transaction with [`JobRun::complete_in`];
//! if its lease was lost meanwhile the whole transaction rolls back. Handlers with outside
//! effects (webhooks) must make those idempotent by the job id.

pub mod alerts;
pub mod loyalty;
pub mod maintenance;
pub mod probe;
pub mod promotions;
mod registry;
pub mod rfm;
pub mod segments;
pub mod social;
pub mod tiers;
mod worker;

pub use registry::{handler_fn, JobFuture, JobHandler, JobRun, Registry};
pub use worker::{JobStats, WorkerPool};

/// The registry with every built-in job kind.
pub fn builtin_registry() -> Registry {
    let mut registry = Registry::default();
    registry.register(probe::PROBE_KIND, probe::handler());
    registry.register(maintenance::PRUNE_KIND, maintenance::handler());
    registry.register(rfm::RFM_KIND, rfm::handler());
    registry.register(loyalty::SWEEP_KIND, loyalty::handler());
    registry.register(tiers::TIERS_KIND, tiers::handler());
    registry.register(promotions::SWEEP_KIND, promotions::handler());
    registry.register(social::SWEEP_KIND, social::handler());
    registry.register(segments::REFRESH_KIND, segments::handler());
    registry.register(alerts::ALERTS_KIND, alerts::handler());
    registry
}

/// Enqueues the periodic jobs that are due (each has a dedup key per period, so every node
/// may call this and only one job per period exists).
pub async fn schedule_periodic(
    app: &crate::App,
    now: quanzi_domain::time::Timestamp,
) -> anyhow::Result<()> {
    maintenance::schedule(app, now).await?;
    loyalty::schedule(app, now).await?;
    enqueue_every_minute(app, now, promotions::SWEEP_KIND).await?;
    enqueue_every_minute(app, now, social::SWEEP_KIND).await?;
    enqueue_every_minute(app, now, alerts::ALERTS_KIND).await?;
    rfm::schedule_daily(app, now).await?;
    segments::schedule_daily(app, now).await?;
    tiers::schedule_daily(app, now).await?;
    Ok(())
}

/// Enqueues one `kind` job (for all workspaces) per minute; false if this minute's exists.
pub(crate) async fn enqueue_every_minute(
    app: &crate::App,
    now: quanzi_domain::time::Timestamp,
    kind: &str,
) -> anyhow::Result<bool> {
    let minute = now.millis().div_euclid(60_000);
    let job = quanzi_store::NewJob {
        id: quanzi_domain::ids::JobId::generate(now),
        workspace_id: None,
        kind: quanzi_domain::jobs::JobKind::parse(kind)?,
        payload: "{}".into(),
        dedup_key: Some(format!("{kind}:{minute}")),
        run_at: now,
        max_attempts: 3,
    };
    Ok(app.store.enqueue_job(&job, now).await?)
}

/// Enqueues `kind` for every workspace once per UTC day (the dedup key names the day), to
/// run `delay` after `now`.
pub(crate) async fn enqueue_daily_per_workspace(
    app: &crate::App,
    now: quanzi_domain::time::Timestamp,
    kind: &str,
    delay: std::time::Duration,
) -> anyhow::Result<()> {
    let day = now.millis().div_euclid(86_400_000);
    let job_kind = quanzi_domain::jobs::JobKind::parse(kind)?;
    for workspace in app.store.workspaces().await? {
        let job = quanzi_store::NewJob {
            id: quanzi_domain::ids::JobId::generate(now),
            workspace_id: Some(workspace.id.clone()),
            kind: job_kind.clone(),
            payload: "{}".into(),
            dedup_key: Some(format!("{kind}:{}:{day}", workspace.id)),
            run_at: now.plus(delay),
            max_attempts: 5,
        };
        app.store.enqueue_job(&job, now).await?;
    }
    Ok(())
}
