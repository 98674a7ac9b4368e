//! Anomaly alert rules. Every minute the `analytics.alerts` job judges each enabled
//! rule's newest completed bucket (yesterday for daily rules, the last hour for hourly
//! ones) against its seasonal baseline; an anomaly records an alert, writes an
//! `alert.fired` fact to the outbox for journeys, and runs the rule's actions — the seeds'
//! "refund spike → close the coupon channel" is a refund-rate rule that pauses coupon
//! templates. A rule fires at most once per bucket, whichever node judges it first.

use quanzi_domain::analytics::anomaly::rule::{AlertCondition, Granularity, Metric};
use quanzi_domain::analytics::anomaly::{evaluate, Direction, Method};
use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::input::InvalidInput;
use quanzi_store::{AlertRow, AlertRuleRow, NewAuditEntry, StoreError};
use serde::{Deserialize, Serialize};

use super::metrics::{bucket_frame, bucket_of, bucket_start, dense_values};
use crate::principal::Principal;
use crate::services::workspaces::time_zone;
use crate::services::{audit_details, checked_name};
use crate::{App, Error, Result};

/// What a rule does when it fires, beside recording the alert and the outbox fact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertActions {
    /// Coupon templates to pause (they stop issuing; claimed coupons stay usable).
    #[serde(default)]
    pub pause_coupon_templates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub id: String,
    pub name: String,
    pub condition: AlertCondition,
    pub actions: AlertActions,
    pub enabled: bool,
}

#[derive(Serialize, Deserialize)]
struct RuleDoc {
    metric: String,
    granularity: String,
    method: String,
    direction: String,
    threshold: f64,
    lookback_weeks: usize,
    min_denominator: f64,
    actions: AlertActions,
}

fn doc(condition: &AlertCondition, actions: &AlertActions) -> RuleDoc {
    RuleDoc {
        metric: condition.metric.as_str().into(),
        granularity: condition.granularity.as_str().into(),
        method: condition.method.as_str().into(),
        direction: condition.direction.as_str().into(),
        threshold: condition.threshold,
        lookback_weeks: condition.lookback_weeks,
        min_denominator: condition.min_denominator,
        actions: actions.clone(),
    }
}

fn parse_rule(row: &AlertRuleRow) -> Result<AlertRule> {
    let corrupt = || Error::Internal(anyhow::anyhow!("alert rule {} is corrupt", row.id));
    let d: RuleDoc = serde_json::from_str(&row.definition).map_err(|_| corrupt())?;
    Ok(AlertRule {
        id: row.id.clone(),
        name: row.name.clone(),
        condition: AlertCondition {
            metric: Metric::parse(&d.metric).ok_or_else(corrupt)?,
            granularity: Granularity::parse(&d.granularity).ok_or_else(corrupt)?,
            method: Method::parse(&d.method).ok_or_else(corrupt)?,
            direction: Direction::parse(&d.direction).ok_or_else(corrupt)?,
            threshold: d.threshold,
            lookback_weeks: d.lookback_weeks,
            min_denominator: d.min_denominator,
        },
        actions: d.actions,
        enabled: row.enabled,
    })
}

/// A rule as the operator sends it.
#[derive(Debug, Clone)]
pub struct RuleInput {
    pub name: String,
    pub condition: AlertCondition,
    pub actions: AlertActions,
    pub enabled: bool,
}

async fn check_input(app: &App, principal: &Principal, input: &RuleInput) -> Result<String> {
    let name = checked_name(&input.name)?;
    input.condition.check()?;
    for (i, id) in input.actions.pause_coupon_templates.iter().enumerate() {
        if app
            .store
            .coupon_template(&principal.workspace_id, id)
            .await
            .is_err()
        {
            return Err(InvalidInput::new(
                format!("actions.pause_coupon_templates[{i}]"),
                format!("no coupon template {id} in this workspace"),
            )
            .into());
        }
    }
    Ok(name)
}

fn definition_json(input: &RuleInput) -> Result<String> {
    serde_json::to_string(&doc(&input.condition, &input.actions))
        .map_err(|e| Error::Internal(e.into()))
}

pub async fn create_rule(app: &App, principal: &Principal, input: RuleInput) -> Result<AlertRule> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    let name = check_input(app, principal, &input).await?;
    let now = app.clock.now();
    let row = AlertRuleRow {
        id: format!("alr_{}", new_id_body(now)),
        workspace_id: principal.workspace_id.to_string(),
        name,
        definition: definition_json(&input)?,
        enabled: input.enabled,
        created_at: now,
        updated_at: now,
        checked_through: None,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_alert_rule(&row).await?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "alert_rule.create",
        target: row.id.clone(),
        details: audit_details(&[("name", &row.name)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    parse_rule(&row)
}

pub async fn update_rule(
    app: &App,
    principal: &Principal,
    id: &str,
    input: RuleInput,
) -> Result<AlertRule> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    let name = check_input(app, principal, &input).await?;
    let existing = app
        .store
        .alert_rule(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("alert_rule"))?;
    let now = app.clock.now();
    let row = AlertRuleRow {
        name,
        definition: definition_json(&input)?,
        enabled: input.enabled,
        updated_at: now,
        checked_through: None,
        ..existing
    };
    let mut tx = app.store.begin().await?;
    tx.update_alert_rule(&row)
        .await
        .map_err(Error::not_found("alert_rule"))?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "alert_rule.update",
        target: row.id.clone(),
        details: audit_details(&[("name", &row.name)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    parse_rule(&row)
}

pub async fn delete_rule(app: &App, principal: &Principal, id: &str) -> Result<()> {
    principal.require_console(Role::Admin, Scope::Admin)?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    tx.delete_alert_rule(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("alert_rule"))?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "alert_rule.delete",
        target: id.to_owned(),
        details: "{}".into(),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn rules(app: &App, principal: &Principal) -> Result<Vec<AlertRule>> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    app.store
        .alert_rules(&principal.workspace_id)
        .await?
        .iter()
        .map(parse_rule)
        .collect()
}

pub async fn alerts(
    app: &App,
    principal: &Principal,
    status: Option<&str>,
) -> Result<Vec<AlertRow>> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    if let Some(s) = status {
        if !matches!(s, "open" | "acknowledged") {
            return Err(InvalidInput::new("status", "must be open or acknowledged").into());
        }
    }
    Ok(app
        .store
        .alerts(&principal.workspace_id, status, 500)
        .await?)
}

pub async fn acknowledge(app: &App, principal: &Principal, id: &str) -> Result<AlertRow> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let row = tx
        .acknowledge_alert(&principal.workspace_id, id, &principal.actor_ref(), now)
        .await
        .map_err(Error::not_found("alert"))?;
    tx.commit().await?;
    Ok(row)
}

/// Judges every enabled rule's newest completed bucket; returns the alerts fired.
pub async fn evaluate_due(app: &App) -> Result<usize> {
    let mut fired = 0;
    for row in app.store.enabled_alert_rules().await? {
        let rule = parse_rule(&row)?;
        fired += judge_rule(app, &row, &rule).await?;
    }
    Ok(fired)
}

/// Buckets missed while no node ran that are still judged when one comes back: two days
/// of hours or a week of days, so a restart does not hide an anomaly but an old outage
/// does not raise a flood of stale alerts.
fn max_backfill(granularity: Granularity) -> i64 {
    match granularity {
        Granularity::Hour => 48,
        Granularity::Day => 7,
    }
}

/// Judges the rule's completed buckets it has not judged yet (a new rule: only the newest),
/// each against the history before it, and fires one alert per anomalous bucket.
async fn judge_rule(app: &App, row: &AlertRuleRow, rule: &AlertRule) -> Result<usize> {
    let ws = WorkspaceId::parse(&row.workspace_id).map_err(|_| {
        Error::Internal(anyhow::anyhow!("alert rule {} has a bad workspace", row.id))
    })?;
    let zone = time_zone(app, &ws).await?;
    let condition = &rule.condition;
    let (width, offset) = bucket_frame(condition.granularity, &zone);
    let now = app.clock.now();
    let newest = bucket_of(now, width, offset) - 1;
    if row.checked_through.is_some_and(|c| c >= newest) {
        return Ok(0);
    }
    let oldest_unjudged = row.checked_through.map_or(newest, |c| {
        (c + 1).max(newest + 1 - max_backfill(condition.granularity))
    });
    let first = oldest_unjudged + 1 - condition.history_buckets() as i64;
    let totals = app
        .store
        .bucket_totals(
            &ws,
            bucket_start(first, width, offset),
            bucket_start(newest + 1, width, offset),
            width,
            offset,
        )
        .await?;
    let measured = dense_values(
        &totals,
        first,
        newest,
        condition.metric,
        condition.min_denominator,
    );
    let values: Vec<f64> = measured.iter().map(|m| m.value).collect();
    // Each point is judged on the points before it only, so one pass judges every bucket.
    let points = evaluate(&values, &condition.config());
    let mut tx = app.store.begin().await?;
    if !tx.mark_alert_rule_checked(&ws, &row.id, newest).await? {
        // Another node judged these buckets already.
        return Ok(0);
    }
    let mut fired = 0;
    let mut paused: Vec<String> = Vec::new();
    for bucket in oldest_unjudged..=newest {
        let at = (bucket - first) as usize;
        let point = points[at];
        if !point.anomalous {
            continue;
        }
        // The first alert pauses the templates; later ones in the same pass name them too.
        if fired == 0 {
            for template in &rule.actions.pause_coupon_templates {
                if tx
                    .set_coupon_template_status(&ws, template, "paused", now)
                    .await?
                {
                    paused.push(template.clone());
                }
            }
        }
        let start = bucket_start(bucket, width, offset);
        let details = serde_json::json!({
            "rule_name": rule.name,
            "value": point.value,
            "expected": point.expected,
            "lower": point.lower,
            "upper": point.upper,
            "score": point.score,
            "numerator": measured[at].numerator,
            "denominator": measured[at].denominator,
            "granularity": condition.granularity.as_str(),
            "method": condition.method.as_str(),
            "direction": condition.direction.as_str(),
            "threshold": condition.threshold,
            "lookback_weeks": condition.lookback_weeks,
            "time_zone": zone.name(),
            "late": bucket < newest,
            "paused_coupon_templates": paused,
        });
        let alert = AlertRow {
            id: format!("alt_{}", new_id_body(now)),
            rule_id: row.id.clone(),
            bucket_start: start,
            metric: condition.metric.as_str().into(),
            details: details.to_string(),
            status: "open".into(),
            fired_at: now,
            acknowledged_at: None,
            acknowledged_by: None,
        };
        if !tx.insert_alert(&ws, &alert).await? {
            continue;
        }
        fired += 1;
        let payload = serde_json::json!({
            "alert_id": alert.id,
            "rule_id": row.id,
            "metric": alert.metric,
            "bucket_start": start.to_rfc3339(),
            "details": details,
        });
        tx.emit(&ws, "alert.fired", &row.id, &payload.to_string(), now)
            .await?;
        for template in std::mem::take(&mut paused) {
            tx.audit(&NewAuditEntry {
                workspace_id: ws.clone(),
                actor: format!("alert_rule:{}", row.id),
                action: "coupon_template.status",
                target: template.clone(),
                details: audit_details(&[("status", "paused"), ("alert", &alert.id)]),
                at: now,
            })
            .await?;
        }
    }
    tx.commit().await.map_err(|e: StoreError| Error::from(e))?;
    Ok(fired)
}
