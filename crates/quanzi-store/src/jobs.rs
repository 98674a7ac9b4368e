//! The durable job table. See `quanzi_domain::jobs` for the life cycle.
//!
//! Claiming is one `UPDATE … RETURNING` over the oldest claimable rows; on PostgreSQL the
//! inner select takes `FOR UPDATE SKIP LOCKED`, so concurrent workers on many nodes each get
//! different rows without waiting on each other. On SQLite the single writer connection
//! makes the same statement atomic. Every later change is fenced by (worker, attempt).

use quanzi_domain::ids::{JobId, WorkspaceId};
use quanzi_domain::jobs::{AfterFailure, JobKind, JobState};
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::rows::{int, opt_text, opt_ts, text, ts};
use crate::{into_page, page_limit, Page, Store, Tx};

#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: JobId,
    pub workspace_id: Option<WorkspaceId>,
    pub kind: JobKind,
    /// JSON text; its shape belongs to the job kind.
    pub payload: String,
    /// At most one job with a given key ever exists (e.g. `points.expire:2026-11-23`).
    pub dedup_key: Option<String>,
    pub run_at: Timestamp,
    pub max_attempts: u32,
}

/// Proof that a worker holds a job: the fence for every later change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLease {
    pub job_id: JobId,
    pub worker: String,
    pub attempt: i64,
}

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub lease: JobLease,
    pub workspace_id: Option<WorkspaceId>,
    pub kind: String,
    pub payload: String,
    pub max_attempts: u32,
}

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: JobId,
    pub workspace_id: Option<WorkspaceId>,
    pub kind: String,
    pub payload: String,
    pub state: JobState,
    pub run_at: Timestamp,
    pub attempts: i64,
    pub max_attempts: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStateCount {
    pub state: JobState,
    pub count: i64,
}

const COLUMNS: &str = "id, workspace_id, kind, payload, state, run_at, attempts, max_attempts, \
                       locked_by, locked_until, last_error, created_at, finished_at";

/// A fenced update changed the job only if this worker still held the lease.
fn fenced(done: sqlx::any::AnyQueryResult) -> Result<()> {
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
    }
}

fn job(row: &AnyRow) -> Result<JobRow> {
    Ok(JobRow {
        id: JobId::from_trusted(text(row, "id")?),
        workspace_id: opt_text(row, "workspace_id")?.map(WorkspaceId::from_trusted),
        kind: text(row, "kind")?,
        payload: text(row, "payload")?,
        state: JobState::parse(&text(row, "state")?)?,
        run_at: ts(row, "run_at")?,
        attempts: int(row, "attempts")?,
        max_attempts: int(row, "max_attempts")?,
        locked_by: opt_text(row, "locked_by")?,
        locked_until: opt_ts(row, "locked_until")?,
        last_error: opt_text(row, "last_error")?,
        created_at: ts(row, "created_at")?,
        finished_at: opt_ts(row, "finished_at")?,
    })
}

impl Tx {
    /// Enqueues a job; returns false when a job with the same `dedup_key` already exists.
    pub async fn enqueue_job(&mut self, job: &NewJob, now: Timestamp) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, workspace_id, kind, payload, dedup_key, state, run_at, attempts, max_attempts, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, 0, $7, $8, $8)
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(job.id.as_str())
        .bind(job.workspace_id.as_ref().map(|w| w.to_string()))
        .bind(job.kind.as_str())
        .bind(&job.payload)
        .bind(job.dedup_key.as_deref())
        .bind(job.run_at.millis())
        .bind(i64::from(job.max_attempts))
        .bind(now.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("job"))?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Marks the leased job done inside this transaction, so the job's own writes and its
    /// completion commit together or not at all. `LeaseLost` if another worker took over.
    pub async fn complete_job(&mut self, lease: &JobLease, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL,
                    finished_at = $1, updated_at = $1
             WHERE id = $2 AND state = 'running' AND locked_by = $3 AND attempts = $4",
        )
        .bind(now.millis())
        .bind(lease.job_id.as_str())
        .bind(&lease.worker)
        .bind(lease.attempt)
        .execute(self.conn())
        .await?;
        fenced(done)
    }
}

impl Store {
    pub async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> Result<bool> {
        let mut tx = self.begin().await?;
        let inserted = tx.enqueue_job(job, now).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Declares dead the jobs whose lease ran out on their last attempt (their worker died
    /// and no attempts are left). Workers call this now and then, not on every claim.
    pub async fn bury_abandoned_jobs(&self, now: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'dead', locked_by = NULL, locked_until = NULL, updated_at = $1,
                    finished_at = $1, last_error = 'the worker running the last attempt stopped before finishing'
             WHERE state = 'running' AND locked_until <= $1 AND attempts >= max_attempts",
        )
        .bind(now.millis())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    /// Claims up to `limit` due jobs for `worker`, leased until `lease_until`. A job whose
    /// lease ran out is claimable again only while it has attempts left.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>> {
        // Jobs whose worker died come first (they are the oldest work); then due jobs. Each
        // is its own statement so each walks its own index in order and stops at `limit`,
        // instead of sorting every candidate.
        let mut claimed = self
            .claim_where(
                worker,
                now,
                lease_until,
                limit,
                "state = 'running' AND locked_until <= $3 AND attempts < max_attempts",
                "locked_until",
            )
            .await?;
        let left = limit.saturating_sub(claimed.len() as u32);
        if left > 0 {
            claimed.extend(
                self.claim_where(
                    worker,
                    now,
                    lease_until,
                    left,
                    "state = 'queued' AND run_at <= $3",
                    "run_at",
                )
                .await?,
            );
        }
        Ok(claimed)
    }

    async fn claim_where(
        &self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
        condition: &str,
        order: &str,
    ) -> Result<Vec<ClaimedJob>> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2,
                    attempts = attempts + 1, updated_at = $3
             WHERE id IN (SELECT id FROM jobs WHERE {condition} ORDER BY {order} LIMIT $4 {lock})
             RETURNING id, workspace_id, kind, payload, attempts, max_attempts"
        );
        let rows = sqlx::query(&sql)
            .bind(worker)
            .bind(lease_until.millis())
            .bind(now.millis())
            .bind(i64::from(limit))
            .fetch_all(self.writer())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedJob {
                    lease: JobLease {
                        job_id: JobId::from_trusted(text(row, "id")?),
                        worker: worker.to_owned(),
                        attempt: int(row, "attempts")?,
                    },
                    workspace_id: opt_text(row, "workspace_id")?.map(WorkspaceId::from_trusted),
                    kind: text(row, "kind")?,
                    payload: text(row, "payload")?,
                    max_attempts: u32::try_from(int(row, "max_attempts")?).unwrap_or(1),
                })
            })
            .collect()
    }

    pub async fn complete_job(&self, lease: &JobLease, now: Timestamp) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.complete_job(lease, now).await?;
        tx.commit().await
    }

    /// Records a failed attempt: back to the queue at the given time, or dead.
    pub async fn fail_job(
        &self,
        lease: &JobLease,
        error: &str,
        after: AfterFailure,
        now: Timestamp,
    ) -> Result<()> {
        let (state, run_at) = match after {
            AfterFailure::RetryAt(at) => ("queued", Some(at.millis())),
            AfterFailure::Dead => ("dead", None),
        };
        let error: String = error.chars().take(2000).collect();
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), locked_by = NULL, locked_until = NULL,
                    last_error = $3, updated_at = $4, finished_at = CASE WHEN $1 = 'dead' THEN $4 ELSE NULL END
             WHERE id = $5 AND state = 'running' AND locked_by = $6 AND attempts = $7",
        )
        .bind(state)
        .bind(run_at)
        .bind(error)
        .bind(now.millis())
        .bind(lease.job_id.as_str())
        .bind(&lease.worker)
        .bind(lease.attempt)
        .execute(self.writer())
        .await?;
        fenced(done)
    }

    /// Extends a lease the worker still holds (heartbeat for long jobs).
    pub async fn extend_job_lease(
        &self,
        lease: &JobLease,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE jobs SET locked_until = $1, updated_at = $2
             WHERE id = $3 AND state = 'running' AND locked_by = $4 AND attempts = $5",
        )
        .bind(until.millis())
        .bind(now.millis())
        .bind(lease.job_id.as_str())
        .bind(&lease.worker)
        .bind(lease.attempt)
        .execute(self.writer())
        .await?;
        fenced(done)
    }

    /// Puts a dead job of `workspace` back in the queue with fresh attempts.
    pub async fn retry_dead_job(
        &self,
        workspace: &WorkspaceId,
        id: &JobId,
        now: Timestamp,
    ) -> Result<JobRow> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $1, attempts = 0, finished_at = NULL, updated_at = $1
             WHERE id = $2 AND workspace_id = $3 AND state = 'dead'",
        )
        .bind(now.millis())
        .bind(id.as_str())
        .bind(workspace.as_str())
        .execute(self.writer())
        .await?;
        let row = self.job(workspace, id).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                what: "job_not_dead",
            });
        }
        Ok(row)
    }

    pub async fn job(&self, workspace: &WorkspaceId, id: &JobId) -> Result<JobRow> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 AND workspace_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .bind(workspace.as_str())
            .fetch_optional(self.writer())
            .await?
            .ok_or(StoreError::NotFound)?;
        job(&row)
    }

    pub async fn jobs(
        &self,
        workspace: &WorkspaceId,
        state: Option<JobState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<JobRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE workspace_id = $1 AND id > $2 AND ($3 = '' OR state = $3)
             ORDER BY id LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(workspace.as_str())
            .bind(after.unwrap_or(""))
            .bind(state.map(JobState::as_str).unwrap_or(""))
            .bind(page_limit(limit))
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(job)
            .collect::<Result<Vec<_>>>()?;
        Ok(into_page(rows, limit, |j| j.id.to_string()))
    }

    /// How many jobs are in each state, across all workspaces (for metrics and status).
    pub async fn job_state_counts(&self) -> Result<Vec<JobStateCount>> {
        sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state ORDER BY state")
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|row| {
                Ok(JobStateCount {
                    state: JobState::parse(&text(row, "state")?)?,
                    count: int(row, "n")?,
                })
            })
            .collect()
    }

    /// Deletes finished jobs older than `before`, keeping dead ones for operators.
    pub async fn prune_done_jobs(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
            .bind(before.millis())
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }
}
