//! Anomaly alert rules and the alerts they fire.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use quanzi_app::services::analytics::alerts::{self, AlertActions, AlertRule, RuleInput};
use quanzi_domain::analytics::anomaly::rule::{AlertCondition, Granularity, Metric};
use quanzi_domain::analytics::anomaly::{Direction, Method};
use quanzi_domain::input::InvalidInput;
use quanzi_store::AlertRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    pub name: String,
    /// `gmv`, `orders`, `new_members`, `active_members`, `conversion_rate`,
    /// `refund_rate` or `share_rate`.
    pub metric: String,
    /// `day` (weekday seasonality, judged after local midnight) or `hour` (hour-of-week
    /// seasonality, judged after each hour). Default `day`.
    pub granularity: Option<String>,
    /// `robust_z` (median and MAD, default) or `ewma`.
    pub method: Option<String>,
    /// `up`, `down` or `both` (default).
    pub direction: Option<String>,
    /// |z| at or above which the rule fires (default 3.5).
    pub threshold: Option<f64>,
    /// Weeks of history in the baseline, 3–52 (default 8).
    pub lookback_weeks: Option<usize>,
    /// Rates only: the least denominator a bucket needs to be judged — active members
    /// for conversion and share rates, paid fen for the refund rate (default 0).
    pub min_denominator: Option<f64>,
    /// Coupon templates to pause when the rule fires.
    pub pause_coupon_templates: Option<Vec<String>>,
    /// Default true.
    pub enabled: Option<bool>,
}

fn parse_or<T>(
    field: &str,
    raw: Option<&str>,
    default: T,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<T, InvalidInput> {
    match raw {
        None => Ok(default),
        Some(raw) => {
            parse(raw).ok_or_else(|| InvalidInput::new(field, format!("must be one of {allowed}")))
        }
    }
}

impl RuleRequest {
    fn into_input(self) -> Result<RuleInput, InvalidInput> {
        let metric = Metric::parse(&self.metric).ok_or_else(|| {
            InvalidInput::new(
                "metric",
                "must be one of gmv, orders, new_members, active_members, conversion_rate, refund_rate, share_rate",
            )
        })?;
        Ok(RuleInput {
            name: self.name,
            condition: AlertCondition {
                metric,
                granularity: parse_or(
                    "granularity",
                    self.granularity.as_deref(),
                    Granularity::Day,
                    Granularity::parse,
                    "day, hour",
                )?,
                method: parse_or(
                    "method",
                    self.method.as_deref(),
                    Method::RobustZ,
                    Method::parse,
                    "robust_z, ewma",
                )?,
                direction: parse_or(
                    "direction",
                    self.direction.as_deref(),
                    Direction::Both,
                    Direction::parse,
                    "up, down, both",
                )?,
                threshold: self.threshold.unwrap_or(3.5),
                lookback_weeks: self.lookback_weeks.unwrap_or(8),
                min_denominator: self.min_denominator.unwrap_or(0.0),
            },
            actions: AlertActions {
                pause_coupon_templates: self.pause_coupon_templates.unwrap_or_default(),
            },
            enabled: self.enabled.unwrap_or(true),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct RuleResponse {
    /// `alr_…`
    pub id: String,
    pub name: String,
    pub metric: String,
    pub granularity: String,
    pub method: String,
    pub direction: String,
    pub threshold: f64,
    pub lookback_weeks: usize,
    pub min_denominator: f64,
    pub pause_coupon_templates: Vec<String>,
    pub enabled: bool,
}

fn rule(r: AlertRule) -> RuleResponse {
    let c = r.condition;
    RuleResponse {
        id: r.id,
        name: r.name,
        metric: c.metric.as_str().into(),
        granularity: c.granularity.as_str().into(),
        method: c.method.as_str().into(),
        direction: c.direction.as_str().into(),
        threshold: c.threshold,
        lookback_weeks: c.lookback_weeks,
        min_denominator: c.min_denominator,
        pause_coupon_templates: r.actions.pause_coupon_templates,
        enabled: r.enabled,
    }
}

#[derive(Serialize, ToSchema)]
pub struct RuleList {
    pub items: Vec<RuleResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertResponse {
    /// `alt_…`
    pub id: String,
    pub rule_id: String,
    pub metric: String,
    /// Start of the bucket that was anomalous.
    pub bucket_start: String,
    /// value, expected, lower, upper, score, the rule's settings and the actions taken.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// `open` or `acknowledged`.
    pub status: String,
    pub fired_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
}

fn alert(a: AlertRow) -> AlertResponse {
    AlertResponse {
        id: a.id,
        rule_id: a.rule_id,
        metric: a.metric,
        bucket_start: a.bucket_start.to_rfc3339(),
        details: serde_json::from_str(&a.details).unwrap_or_default(),
        status: a.status,
        fired_at: a.fired_at.to_rfc3339(),
        acknowledged_at: a.acknowledged_at.map(|t| t.to_rfc3339()),
        acknowledged_by: a.acknowledged_by,
    }
}

#[derive(Serialize, ToSchema)]
pub struct AlertList {
    pub items: Vec<AlertResponse>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// `open` or `acknowledged`.
    pub status: Option<String>,
}

/// Creates an alert rule (admin role).
#[utoipa::path(post, path = "/api/v1/alerts/rules", tag = "analytics", request_body = RuleRequest,
    responses((status = 201, body = RuleResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<RuleRequest>,
) -> ApiResult<(StatusCode, Json<RuleResponse>)> {
    let created = alerts::create_rule(&state.app, &caller, body.into_input()?).await?;
    Ok((StatusCode::CREATED, Json(rule(created))))
}

#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "analytics",
    responses((status = 200, body = RuleList)), security(("bearer" = []), ("session" = [])))]
pub async fn list_rules(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<RuleList>> {
    let items = alerts::rules(&state.app, &caller).await?;
    Ok(Json(RuleList {
        items: items.into_iter().map(rule).collect(),
    }))
}

/// Replaces a rule (admin role); its next judgement starts afresh.
#[utoipa::path(put, path = "/api/v1/alerts/rules/{id}", tag = "analytics", request_body = RuleRequest,
    params(("id" = String, Path, description = "alr_…")),
    responses((status = 200, body = RuleResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn update_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RuleRequest>,
) -> ApiResult<Json<RuleResponse>> {
    let updated = alerts::update_rule(&state.app, &caller, &id, body.into_input()?).await?;
    Ok(Json(rule(updated)))
}

#[utoipa::path(delete, path = "/api/v1/alerts/rules/{id}", tag = "analytics",
    params(("id" = String, Path, description = "alr_…")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn delete_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    alerts::delete_rule(&state.app, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Fired alerts, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "analytics", params(AlertQuery),
    responses((status = 200, body = AlertList), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list_alerts(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<AlertQuery>,
) -> ApiResult<Json<AlertList>> {
    let items = alerts::alerts(&state.app, &caller, query.status.as_deref()).await?;
    Ok(Json(AlertList {
        items: items.into_iter().map(alert).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", tag = "analytics",
    params(("id" = String, Path, description = "alt_…")),
    responses((status = 200, body = AlertResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertResponse>> {
    Ok(Json(alert(
        alerts::acknowledge(&state.app, &caller, &id).await?,
    )))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/alerts/rules", get(list_rules).post(create_rule))
        .route(
            "/api/v1/alerts/rules/{id}",
            put(update_rule).delete(delete_rule),
        )
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}/acknowledge", post(acknowledge))
}
