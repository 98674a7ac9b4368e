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

pub mod maintenance;
pub mod probe;
mod registry;
pub mod rfm;
pub mod segments;
mod worker;

pub use registry::{handler_fn, JobFuture, JobHandler, JobRun, Registry};
pub use worker::{JobStats, WorkerPool};

/// The registry with every built-in job kind.
pub fn builtin_registry() -> Registry {
    let mut registry = Registry::default();
    registry.register(probe::PROBE_KIND, probe::handler());
    registry.register(maintenance::PRUNE_KIND, maintenance::handler());
    registry.register(rfm::RFM_KIND, rfm::handler());
    registry.register(segments::REFRESH_KIND, segments::handler());
    registry
}

/// Enqueues the periodic jobs that are due (each has a dedup key per period, so every node
/// may call this and only one job per period exists).
pub async fn schedule_periodic(
    app: &crate::App,
    now: quanzi_domain::time::Timestamp,
) -> anyhow::Result<()> {
    maintenance::schedule(app, now).await?;
    rfm::schedule_daily(app, now).await?;
    segments::schedule_daily(app, now).await?;
    Ok(())
}
