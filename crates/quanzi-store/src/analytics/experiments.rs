//! Experiments, their exposures, and the outcomes of exposed members.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{int, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentRow {
    pub id: String,
    pub workspace_id: String,
    pub key: String,
    pub name: String,
    /// JSON: variants with weights, metric, holdout.
    pub definition: String,
    /// `draft`, `running` or `stopped`.
    pub status: String,
    pub started_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// One exposed member: the variant, and what they did after (and before) exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExposureOutcome {
    /// The variant index; -1 for a member of the holdout.
    pub variant: i64,
    /// Orders paid from exposure until the end of the window.
    pub orders: i64,
    /// Paid minus refunded fen of those orders.
    pub revenue_fen: i64,
    /// Paid minus refunded fen in the pre-period (the covariate of CUPED).
    pub pre_revenue_fen: i64,
}

const COLUMNS: &str =
    "id, workspace_id, key, name, definition, status, started_at, stopped_at, created_at";

fn experiment(row: &AnyRow) -> Result<ExperimentRow> {
    Ok(ExperimentRow {
        id: text(row, "id")?,
        workspace_id: text(row, "workspace_id")?,
        key: text(row, "key")?,
        name: text(row, "name")?,
        definition: text(row, "definition")?,
        status: text(row, "status")?,
        started_at: opt_ts(row, "started_at")?,
        stopped_at: opt_ts(row, "stopped_at")?,
        created_at: ts(row, "created_at")?,
    })
}

impl Store {
    pub async fn experiments(&self, workspace: &WorkspaceId) -> Result<Vec<ExperimentRow>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM experiments WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(experiment)
        .collect()
    }

    /// By id (`exp_…`) or key.
    pub async fn experiment(
        &self,
        workspace: &WorkspaceId,
        id_or_key: &str,
    ) -> Result<ExperimentRow> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM experiments WHERE workspace_id = $1 AND (id = $2 OR key = $2)"
        ))
        .bind(workspace.as_str())
        .bind(id_or_key)
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(experiment)
        .transpose()?
        .ok_or(StoreError::NotFound)
    }

    /// Every exposed member's outcome: orders and net revenue paid within `window_ms` of
    /// their exposure (and before `until`), and net revenue in the `pre_ms` before it.
    pub async fn exposure_outcomes(
        &self,
        workspace: &WorkspaceId,
        experiment_id: &str,
        until: Timestamp,
        window_ms: i64,
        pre_ms: i64,
    ) -> Result<Vec<ExposureOutcome>> {
        sqlx::query(
            "SELECT x.variant,
                    CAST(COALESCE(SUM(CASE WHEN o.paid_at >= x.exposed_at AND o.paid_at < x.exposed_at + $4
                                            AND o.paid_at <= $3 THEN 1 ELSE 0 END), 0) AS BIGINT) AS orders,
                    CAST(COALESCE(SUM(CASE WHEN o.paid_at >= x.exposed_at AND o.paid_at < x.exposed_at + $4
                                            AND o.paid_at <= $3
                                           THEN o.paid_fen - o.refunded_fen ELSE 0 END), 0) AS BIGINT) AS revenue,
                    CAST(COALESCE(SUM(CASE WHEN o.paid_at >= x.exposed_at - $5 AND o.paid_at < x.exposed_at
                                           THEN o.paid_fen - o.refunded_fen ELSE 0 END), 0) AS BIGINT) AS pre_revenue
             FROM experiment_exposures x
             LEFT JOIN orders o ON o.workspace_id = x.workspace_id AND o.member_id = x.member_id
             WHERE x.workspace_id = $1 AND x.experiment_id = $2
             GROUP BY x.member_id, x.variant",
        )
        .bind(workspace.as_str())
        .bind(experiment_id)
        .bind(until.millis())
        .bind(window_ms)
        .bind(pre_ms)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            Ok(ExposureOutcome {
                variant: int(row, "variant")?,
                orders: int(row, "orders")?,
                revenue_fen: int(row, "revenue")?,
                pre_revenue_fen: int(row, "pre_revenue")?,
            })
        })
        .collect()
    }
}

impl Tx {
    pub async fn insert_experiment(&mut self, row: &ExperimentRow) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO experiments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(row.id.as_str())
        .bind(row.workspace_id.as_str())
        .bind(row.key.as_str())
        .bind(row.name.as_str())
        .bind(row.definition.as_str())
        .bind(row.status.as_str())
        .bind(row.started_at.map(Timestamp::millis))
        .bind(row.stopped_at.map(Timestamp::millis))
        .bind(row.created_at.millis())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique("experiment_key"))?;
        Ok(())
    }

    /// Moves an experiment from `from` to `to` status; false if it was not in `from`.
    pub async fn set_experiment_status(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        from: &str,
        to: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE experiments SET status = $4,
                    started_at = CASE WHEN $4 = 'running' THEN $5 ELSE started_at END,
                    stopped_at = CASE WHEN $4 = 'stopped' THEN $5 ELSE stopped_at END
             WHERE workspace_id = $1 AND id = $2 AND status = $3",
        )
        .bind(workspace.as_str())
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(now.millis())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a member's first exposure; later ones change nothing. Answers the variant
    /// on record: the first exposure's, which may differ from `variant` when the member
    /// took over another's exposure in a merge.
    pub async fn record_exposure(
        &mut self,
        workspace: &WorkspaceId,
        experiment_id: &str,
        member_id: &str,
        variant: i64,
        at: Timestamp,
    ) -> Result<i64> {
        // The no-op update makes the conflicting row answer RETURNING (DO NOTHING would not).
        let row = sqlx::query(
            "INSERT INTO experiment_exposures (experiment_id, member_id, workspace_id, variant, exposed_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (experiment_id, member_id) DO UPDATE SET variant = experiment_exposures.variant
             RETURNING variant",
        )
        .bind(experiment_id)
        .bind(member_id)
        .bind(workspace.as_str())
        .bind(variant)
        .bind(at.millis())
        .fetch_one(self.conn())
        .await?;
        int(&row, "variant")
    }
}
