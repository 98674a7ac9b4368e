//! Alert rules and fired alerts.

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::time::Timestamp;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::rows::{int, opt_int, opt_text, opt_ts, text, ts};
use crate::{Store, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRuleRow {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    /// JSON: the condition and the actions.
    pub definition: String,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The newest bucket number already judged.
    pub checked_through: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: String,
    pub rule_id: String,
    pub bucket_start: Timestamp,
    pub metric: String,
    /// JSON: value, expected, band, score, actions taken.
    pub details: String,
    /// `open` or `acknowledged`.
    pub status: String,
    pub fired_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
}

const RULE_COLUMNS: &str =
    "id, workspace_id, name, definition, enabled, created_at, updated_at, checked_through";
const ALERT_COLUMNS: &str =
    "id, rule_id, bucket_start, metric, details, status, fired_at, acknowledged_at, acknowledged_by";

fn rule(row: &AnyRow) -> Result<AlertRuleRow> {
    Ok(AlertRuleRow {
        id: text(row, "id")?,
        workspace_id: text(row, "workspace_id")?,
        name: text(row, "name")?,
        definition: text(row, "definition")?,
        enabled: int(row, "enabled")? != 0,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
        checked_through: opt_int(row, "checked_through")?,
    })
}

fn alert(row: &AnyRow) -> Result<AlertRow> {
    Ok(AlertRow {
        id: text(row, "id")?,
        rule_id: text(row, "rule_id")?,
        bucket_start: ts(row, "bucket_start")?,
        metric: text(row, "metric")?,
        details: text(row, "details")?,
        status: text(row, "status")?,
        fired_at: ts(row, "fired_at")?,
        acknowledged_at: opt_ts(row, "acknowledged_at")?,
        acknowledged_by: opt_text(row, "acknowledged_by")?,
    })
}

impl Store {
    pub async fn alert_rules(&self, workspace: &WorkspaceId) -> Result<Vec<AlertRuleRow>> {
        sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(workspace.as_str())
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(rule)
        .collect()
    }

    /// Every enabled rule of every workspace, for the evaluation job.
    pub async fn enabled_alert_rules(&self) -> Result<Vec<AlertRuleRow>> {
        sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE enabled = 1 ORDER BY workspace_id, id"
        ))
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(rule)
        .collect()
    }

    pub async fn alert_rule(&self, workspace: &WorkspaceId, id: &str) -> Result<AlertRuleRow> {
        sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(rule)
        .transpose()?
        .ok_or(StoreError::NotFound)
    }

    /// The newest alerts first, optionally only one status.
    pub async fn alerts(
        &self,
        workspace: &WorkspaceId,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AlertRow>> {
        sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts
             WHERE workspace_id = $1 AND (CAST($2 AS TEXT) IS NULL OR status = $2)
             ORDER BY fired_at DESC, id DESC LIMIT $3"
        ))
        .bind(workspace.as_str())
        .bind(status)
        .bind(limit)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(alert)
        .collect()
    }
}

impl Tx {
    pub async fn insert_alert_rule(&mut self, row: &AlertRuleRow) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO alert_rules ({RULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(row.id.as_str())
        .bind(row.workspace_id.as_str())
        .bind(row.name.as_str())
        .bind(row.definition.as_str())
        .bind(i64::from(row.enabled))
        .bind(row.created_at.millis())
        .bind(row.updated_at.millis())
        .bind(row.checked_through)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Notes that `bucket` was judged; false if another node got there first.
    pub async fn mark_alert_rule_checked(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        bucket: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE alert_rules SET checked_through = $3
             WHERE workspace_id = $1 AND id = $2 AND (checked_through IS NULL OR checked_through < $3)",
        )
        .bind(workspace.as_str())
        .bind(id)
        .bind(bucket)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn update_alert_rule(&mut self, row: &AlertRuleRow) -> Result<()> {
        let done = sqlx::query(
            "UPDATE alert_rules SET name = $3, definition = $4, enabled = $5, updated_at = $6,
                    checked_through = NULL
             WHERE workspace_id = $1 AND id = $2",
        )
        .bind(row.workspace_id.as_str())
        .bind(row.id.as_str())
        .bind(row.name.as_str())
        .bind(row.definition.as_str())
        .bind(i64::from(row.enabled))
        .bind(row.updated_at.millis())
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn delete_alert_rule(&mut self, workspace: &WorkspaceId, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM alert_rules WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.as_str())
            .bind(id)
            .execute(self.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records an alert unless the rule already fired for that bucket; true if this call
    /// recorded it (so its actions run once, whichever node evaluates first).
    pub async fn insert_alert(&mut self, workspace: &WorkspaceId, row: &AlertRow) -> Result<bool> {
        let done = sqlx::query(&format!(
            "INSERT INTO alerts ({ALERT_COLUMNS}, workspace_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (rule_id, bucket_start) DO NOTHING"
        ))
        .bind(row.id.as_str())
        .bind(row.rule_id.as_str())
        .bind(row.bucket_start.millis())
        .bind(row.metric.as_str())
        .bind(row.details.as_str())
        .bind(row.status.as_str())
        .bind(row.fired_at.millis())
        .bind(row.acknowledged_at.map(Timestamp::millis))
        .bind(row.acknowledged_by.as_deref())
        .bind(workspace.as_str())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Acknowledges an open alert; the alert as it is now (unchanged if it was already
    /// acknowledged).
    pub async fn acknowledge_alert(
        &mut self,
        workspace: &WorkspaceId,
        id: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<AlertRow> {
        sqlx::query(
            "UPDATE alerts SET status = 'acknowledged', acknowledged_at = $3, acknowledged_by = $4
             WHERE workspace_id = $1 AND id = $2 AND status = 'open'",
        )
        .bind(workspace.as_str())
        .bind(id)
        .bind(now.millis())
        .bind(by)
        .execute(self.conn())
        .await?;
        sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.as_str())
        .bind(id)
        .fetch_optional(self.conn())
        .await?
        .as_ref()
        .map(alert)
        .transpose()?
        .ok_or(StoreError::NotFound)
    }
}
