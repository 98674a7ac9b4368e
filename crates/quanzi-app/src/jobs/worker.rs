use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quanzi_domain::jobs::RetryPolicy;
use quanzi_domain::time::Timestamp;
use quanzi_store::{ClaimedJob, StoreError};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::registry::{JobRun, Registry};
use crate::App;

/// What this node's pool has done since it started (exported as metrics).
#[derive(Debug, Default)]
pub struct JobStats {
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    /// Attempts whose lease passed to another node before they finished.
    pub lease_lost: AtomicU64,
}

pub struct WorkerPool {
    app: App,
    registry: Arc<Registry>,
    stats: Arc<JobStats>,
}

impl WorkerPool {
    pub fn new(app: App, registry: Registry, stats: Arc<JobStats>) -> Self {
        Self {
            app,
            registry: Arc::new(registry),
            stats,
        }
    }

    /// Claims and runs jobs until `shutdown` fires, then waits up to the configured grace for
    /// running jobs to finish. Jobs still running after that keep their lease until it
    /// expires and another node retries them.
    pub async fn run(self, shutdown: CancellationToken) {
        let config = &self.app.config.jobs;
        let concurrency = config.concurrency as usize;
        let poll = Duration::from_millis(config.poll_interval_ms);
        let mut running: JoinSet<()> = JoinSet::new();
        let mut scheduled_minute = None;
        let mut last_burial = None;
        tracing::info!(node = %self.app.node_id, concurrency, "job workers started");
        loop {
            while running.try_join_next().is_some() {}
            let now = self.app.clock.now();
            // Periodic jobs carry a dedup key per period, so asking every minute on every
            // node still makes one job per period.
            let minute = now.millis().div_euclid(60_000);
            if scheduled_minute != Some(minute) {
                match super::schedule_periodic(&self.app, now).await {
                    Ok(_) => scheduled_minute = Some(minute),
                    Err(err) => tracing::warn!(error = %err, "could not schedule periodic jobs"),
                }
            }
            // Burying abandoned jobs is a write: once per lease length is often enough.
            if last_burial.is_none_or(|at: Timestamp| {
                now.since(at) >= Duration::from_secs(config.lease_seconds)
            }) {
                match self.app.store.bury_abandoned_jobs(now).await {
                    Ok(_) => last_burial = Some(now),
                    Err(err) => tracing::warn!(error = %err, "could not bury abandoned jobs"),
                }
            }
            let free = concurrency.saturating_sub(running.len());
            let mut claimed = 0;
            if free > 0 {
                let lease_until = now.plus(Duration::from_secs(config.lease_seconds));
                match self
                    .app
                    .store
                    .claim_jobs(&self.app.node_id, now, lease_until, free as u32)
                    .await
                {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            running.spawn(run_one(
                                self.app.clone(),
                                self.registry.clone(),
                                self.stats.clone(),
                                job,
                            ));
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "claiming jobs failed"),
                }
            }
            // A full batch means more may be waiting: claim again once half the slots are
            // free, so claims stay batched. Otherwise the queue is drained; wait for the poll.
            let busy = claimed > 0 && claimed == free;
            let refill_at = concurrency.div_ceil(2);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = async {
                    while concurrency - running.len() < refill_at {
                        if running.join_next().await.is_none() {
                            break;
                        }
                    }
                }, if busy => {}
                _ = tokio::time::sleep(poll), if !busy => {}
            }
        }
        let grace = Duration::from_secs(self.app.config.server.shutdown_grace_seconds);
        let drained = tokio::time::timeout(grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                still_running = running.len(),
                "jobs did not finish within the grace period; their leases will expire"
            );
            running.abort_all();
        }
        tracing::info!(node = %self.app.node_id, "job workers stopped");
    }
}

async fn run_one(app: App, registry: Arc<Registry>, stats: Arc<JobStats>, job: ClaimedJob) {
    let lease = job.lease.clone();
    let kind = job.kind.clone();
    let heartbeat = tokio::spawn(heartbeat(app.clone(), lease.clone()));
    let outcome = match registry.get(&kind) {
        // A newer node may know this kind (rolling deploys): fail with backoff, do not drop it.
        None => Err(format!("no handler for job kind `{kind}` on this node")),
        Some(handler) => {
            let run = JobRun::new(app.clone(), job.clone());
            // The handler runs in its own task so a panic becomes a failed attempt.
            match tokio::spawn(handler.run(run.clone())).await {
                Ok(Ok(())) => Ok(run.completed_by_handler()),
                Ok(Err(err)) => Err(format!("{err:#}")),
                Err(join) => Err(format!("the job panicked: {join}")),
            }
        }
    };
    heartbeat.abort();
    let now = app.clock.now();
    let recorded = match outcome {
        Ok(true) => Ok(Recorded::Succeeded),
        Ok(false) => app
            .store
            .complete_job(&lease, now)
            .await
            .map(|()| Recorded::Succeeded),
        Err(error) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            let policy = RetryPolicy {
                max_attempts: job.max_attempts,
                ..app.retry_policy()
            };
            let attempt = u32::try_from(lease.attempt).unwrap_or(u32::MAX);
            tracing::warn!(job = %lease.job_id, %kind, attempt, %error, "job attempt failed");
            app.store
                .fail_job(&lease, &error, policy.after_failure(attempt, now), now)
                .await
                .map(|()| Recorded::Failed)
        }
    };
    match recorded {
        Ok(Recorded::Succeeded) => {
            stats.succeeded.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Recorded::Failed) => {}
        Err(StoreError::LeaseLost) => {
            stats.lease_lost.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(job = %lease.job_id, %kind, "lease lost before finishing; another node owns the job now");
        }
        Err(err) => {
            tracing::error!(job = %lease.job_id, %kind, error = %err, "could not record the job's outcome")
        }
    }
}

enum Recorded {
    Succeeded,
    Failed,
}

/// Extends the lease every third of its length while the job runs.
async fn heartbeat(app: App, lease: quanzi_store::JobLease) {
    let length = Duration::from_secs(app.config.jobs.lease_seconds);
    loop {
        tokio::time::sleep(length / 3).await;
        let now = app.clock.now();
        if app
            .store
            .extend_job_lease(&lease, now.plus(length), now)
            .await
            .is_err()
        {
            return;
        }
    }
}
