//! Rows written by the `diagnostics.probe` job, one per successful execution.

use quanzi_domain::ids::{new_id_body, JobId};
use quanzi_domain::time::Timestamp;

use crate::error::Result;
use crate::rows::{int, text};
use crate::{Store, Tx};

impl Tx {
    pub async fn record_probe_run(&mut self, job: &JobId, node: &str, at: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO job_probe_runs (id, job_id, node_id, ran_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(format!("pr_{}", new_id_body(at)))
        .bind(job.as_str())
        .bind(node)
        .bind(at.millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// (job id, executions) for every probe job that ran at least once.
    pub async fn probe_run_counts(&self) -> Result<Vec<(String, i64)>> {
        sqlx::query("SELECT job_id, COUNT(*) AS n FROM job_probe_runs GROUP BY job_id")
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|row| Ok((text(row, "job_id")?, int(row, "n")?)))
            .collect()
    }

    /// Executions per node, to see that work was shared.
    pub async fn probe_runs_by_node(&self) -> Result<Vec<(String, i64)>> {
        sqlx::query(
            "SELECT node_id, COUNT(*) AS n FROM job_probe_runs GROUP BY node_id ORDER BY node_id",
        )
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| Ok((text(row, "node_id")?, int(row, "n")?)))
        .collect()
    }
}
