//! Experiments: definition, start and stop, assignment for the storefront, results.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::analytics::experiments::{
    self, ArmStats, Comparison, Experiment, ExperimentDefinition, Results, Variant,
};
use quanzi_domain::analytics::experiments::bayesian::BayesianResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantBody {
    /// a-z, 0-9, `_`, `-`.
    pub key: String,
    /// Relative share of traffic (positive).
    pub weight: f64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Stable key the storefront asks by; never reused.
    pub key: String,
    pub name: String,
    /// Two to eight; the first is the control.
    pub variants: Vec<VariantBody>,
    /// Share of members held out of every variant, 0–0.5 (default 0).
    pub holdout_share: Option<f64>,
    /// Orders within this many days of exposure count (default 14).
    pub window_days: Option<u32>,
    /// Days of pre-exposure revenue used by CUPED (default 28).
    pub pre_period_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ExperimentResponse {
    /// `exp_…`
    pub id: String,
    pub key: String,
    pub name: String,
    pub variants: Vec<VariantBody>,
    pub holdout_share: f64,
    pub window_days: u32,
    pub pre_period_days: u32,
    /// `draft`, `running` or `stopped`.
    pub status: String,
    pub started_at: Option<String>,
    pub stopped_at: Option<String>,
    pub created_at: String,
}

fn experiment(e: Experiment) -> ExperimentResponse {
    ExperimentResponse {
        id: e.id,
        key: e.key,
        name: e.name,
        variants: e
            .definition
            .variants
            .into_iter()
            .map(|v| VariantBody {
                key: v.key,
                weight: v.weight,
            })
            .collect(),
        holdout_share: e.definition.holdout_share,
        window_days: e.definition.window_days,
        pre_period_days: e.definition.pre_period_days,
        status: e.status,
        started_at: e.started_at.map(|t| t.to_rfc3339()),
        stopped_at: e.stopped_at.map(|t| t.to_rfc3339()),
        created_at: e.created_at.to_rfc3339(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ExperimentList {
    pub items: Vec<ExperimentResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub member_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct AssignResponse {
    pub experiment: String,
    /// The variant key to show; the control's while the experiment is not running; null
    /// for a member of the holdout (show what you would show without the experiment).
    pub variant: Option<String>,
    /// False when the experiment is not running (nothing was recorded).
    pub recorded: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ArmResponse {
    pub key: String,
    /// Exposed members.
    pub members: u64,
    /// Members with at least one order in the window.
    pub converted: u64,
    pub conversion_rate: Option<f64>,
    pub orders: u64,
    /// Paid minus refunded.
    pub revenue_fen: i64,
    pub revenue_per_member_fen: Option<f64>,
}

fn arm(a: ArmStats) -> ArmResponse {
    let per = |x: f64| (a.members > 0).then(|| x / a.members as f64);
    ArmResponse {
        conversion_rate: per(a.converted as f64),
        revenue_per_member_fen: per(a.revenue_fen as f64),
        key: a.key,
        members: a.members,
        converted: a.converted,
        orders: a.orders,
        revenue_fen: a.revenue_fen,
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConversionTest {
    /// P(variant's conversion rate > control's), Beta(1, 1) prior.
    pub chance_to_win: f64,
    pub expected_loss_control: f64,
    pub expected_loss_variant: f64,
    /// `exact` or `normal_approximation`.
    pub method: String,
}

#[derive(Serialize, ToSchema)]
pub struct RevenueTest {
    /// Relative lift of revenue per member (0.05 = +5 %), flat prior.
    pub lift: f64,
    pub lift_sd: f64,
    /// 95 % credible interval of the lift.
    pub interval: (f64, f64),
    pub chance_to_win: f64,
    pub risk_control: f64,
    pub risk_variant: f64,
    /// CUPED only: the share of variance the pre-period covariate removed.
    pub variance_reduction: Option<f64>,
}

fn revenue_test(b: &BayesianResult, variance_reduction: Option<f64>) -> RevenueTest {
    RevenueTest {
        lift: b.effect_mean,
        lift_sd: b.effect_sd,
        interval: b.credible_interval,
        chance_to_win: b.chance_to_win,
        risk_control: b.risk.control,
        risk_variant: b.risk.treatment,
        variance_reduction,
    }
}

#[derive(Serialize, ToSchema)]
pub struct ComparisonResponse {
    pub variant: String,
    pub conversion: Option<ConversionTest>,
    pub revenue: Option<RevenueTest>,
    pub revenue_cuped: Option<RevenueTest>,
    /// Why a test above is null (too few members, no variance yet).
    pub notes: Vec<String>,
}

fn comparison(c: Comparison) -> ComparisonResponse {
    let mut notes = Vec::new();
    let conversion = match c.conversion {
        Ok(r) => Some(ConversionTest {
            chance_to_win: r.chance_to_win,
            expected_loss_control: r.expected_loss_control,
            expected_loss_variant: r.expected_loss_treatment,
            method: match r.method {
                quanzi_domain::analytics::experiments::beta_binomial::Method::Exact => "exact",
                quanzi_domain::analytics::experiments::beta_binomial::Method::NormalApproximation => {
                    "normal_approximation"
                }
            }
            .into(),
        }),
        Err(e) => {
            notes.push(format!("conversion: {e}"));
            None
        }
    };
    let revenue = match c.revenue {
        Ok(b) => Some(revenue_test(&b, None)),
        Err(e) => {
            notes.push(format!("revenue: {e}"));
            None
        }
    };
    let revenue_cuped = match c.revenue_cuped {
        Ok((cu, b)) => Some(revenue_test(&b, Some(cu.variance_reduction))),
        Err(e) => {
            notes.push(format!("revenue_cuped: {e}"));
            None
        }
    };
    ComparisonResponse {
        variant: c.variant,
        conversion,
        revenue,
        revenue_cuped,
        notes,
    }
}

#[derive(Serialize, ToSchema)]
pub struct SrmResponse {
    pub p_value: Option<f64>,
    pub chi_square: Option<f64>,
    /// True when p < threshold: the split is not what the weights say; distrust the
    /// results until the cause is found.
    pub mismatch: bool,
    pub threshold: f64,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HoldoutLiftResponse {
    /// Relative lift of revenue per member, all variants over the holdout.
    pub lift: Option<f64>,
    pub interval: Option<(f64, f64)>,
    /// Extra revenue (fen) the treated members brought: (mean treated − mean holdout) × n.
    pub incremental_revenue_fen: Option<f64>,
    pub p_value: Option<f64>,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ResultsResponse {
    pub experiment: ExperimentResponse,
    /// Outcomes counted up to here (now, or when the experiment stopped).
    pub as_of: String,
    pub arms: Vec<ArmResponse>,
    pub holdout: Option<ArmResponse>,
    /// Each variant against the control (the first variant).
    pub comparisons: Vec<ComparisonResponse>,
    pub srm: SrmResponse,
    pub holdout_lift: Option<HoldoutLiftResponse>,
}

fn results(r: Results) -> ResultsResponse {
    let srm = match r.srm {
        Ok(s) => SrmResponse {
            p_value: Some(s.p_value),
            chi_square: Some(s.chi_square),
            mismatch: s.is_mismatch(r.srm_threshold),
            threshold: r.srm_threshold,
            note: None,
        },
        Err(e) => SrmResponse {
            p_value: None,
            chi_square: None,
            mismatch: false,
            threshold: r.srm_threshold,
            note: Some(e),
        },
    };
    let holdout_lift = r.holdout_lift.map(|l| match l {
        Ok(h) => HoldoutLiftResponse {
            lift: Some(h.lift.mean()),
            interval: Some(h.lift_interval),
            incremental_revenue_fen: Some(h.incremental_total),
            p_value: Some(h.p_value),
            note: None,
        },
        Err(e) => HoldoutLiftResponse {
            lift: None,
            interval: None,
            incremental_revenue_fen: None,
            p_value: None,
            note: Some(e),
        },
    });
    ResultsResponse {
        experiment: experiment(r.experiment),
        as_of: r.as_of.to_rfc3339(),
        arms: r.arms.into_iter().map(arm).collect(),
        holdout: r.holdout.map(arm),
        comparisons: r.comparisons.into_iter().map(comparison).collect(),
        srm,
        holdout_lift,
    }
}

/// Defines an experiment (draft); start it to begin exposing members.
#[utoipa::path(post, path = "/api/v1/experiments", tag = "analytics", request_body = CreateRequest,
    responses((status = 201, body = ExperimentResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(b): ApiJson<CreateRequest>,
) -> ApiResult<(StatusCode, Json<ExperimentResponse>)> {
    let definition = ExperimentDefinition {
        variants: b
            .variants
            .into_iter()
            .map(|v| Variant {
                key: v.key,
                weight: v.weight,
            })
            .collect(),
        holdout_share: b.holdout_share.unwrap_or(0.0),
        window_days: b.window_days.unwrap_or(14),
        pre_period_days: b.pre_period_days.unwrap_or(28),
    };
    let created = experiments::create(&state.app, &caller, &b.key, &b.name, definition).await?;
    Ok((StatusCode::CREATED, Json(experiment(created))))
}

#[utoipa::path(get, path = "/api/v1/experiments", tag = "analytics",
    responses((status = 200, body = ExperimentList)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<ExperimentList>> {
    let items = experiments::list(&state.app, &caller).await?;
    Ok(Json(ExperimentList {
        items: items.into_iter().map(experiment).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/experiments/{id}", tag = "analytics",
    params(("id" = String, Path, description = "exp_… or the key")),
    responses((status = 200, body = ExperimentResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ExperimentResponse>> {
    Ok(Json(experiment(
        experiments::get(&state.app, &caller, &id).await?,
    )))
}

/// Starts a draft experiment (409 `experiment_status` otherwise).
#[utoipa::path(post, path = "/api/v1/experiments/{id}/start", tag = "analytics",
    params(("id" = String, Path, description = "exp_… or the key")),
    responses((status = 200, body = ExperimentResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn start(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ExperimentResponse>> {
    Ok(Json(experiment(
        experiments::transition(&state.app, &caller, &id, "running").await?,
    )))
}

/// Stops a running experiment; results are then counted up to the stop.
#[utoipa::path(post, path = "/api/v1/experiments/{id}/stop", tag = "analytics",
    params(("id" = String, Path, description = "exp_… or the key")),
    responses((status = 200, body = ExperimentResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn stop(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ExperimentResponse>> {
    Ok(Json(experiment(
        experiments::transition(&state.app, &caller, &id, "stopped").await?,
    )))
}

/// The member's variant, by a hash of (experiment key, member) and the weights — the
/// same answer on every call and every node; records the first exposure while running.
/// Storefront or admin keys.
#[utoipa::path(post, path = "/api/v1/experiments/{id}/assign", tag = "analytics", request_body = AssignRequest,
    params(("id" = String, Path, description = "exp_… or the key")),
    responses((status = 200, body = AssignResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn assign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AssignRequest>,
) -> ApiResult<Json<AssignResponse>> {
    let (e, variant, recorded) =
        experiments::assign(&state.app, &caller, &id, &b.member_id).await?;
    Ok(Json(AssignResponse {
        variant: variant.map(|i| e.definition.variants[i].key.clone()),
        experiment: e.key,
        recorded,
    }))
}

/// Per-variant outcomes and the tests: Beta-Binomial on conversion, Bayesian (and CUPED)
/// on revenue per member, sample-ratio mismatch, holdout lift.
#[utoipa::path(get, path = "/api/v1/experiments/{id}/results", tag = "analytics",
    params(("id" = String, Path, description = "exp_… or the key")),
    responses((status = 200, body = ResultsResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn get_results(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ResultsResponse>> {
    Ok(Json(results(
        experiments::results(&state.app, &caller, &id).await?,
    )))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/experiments", get(list).post(create))
        .route("/api/v1/experiments/{id}", get(get_one))
        .route("/api/v1/experiments/{id}/start", post(start))
        .route("/api/v1/experiments/{id}/stop", post(stop))
        .route("/api/v1/experiments/{id}/assign", post(assign))
        .route("/api/v1/experiments/{id}/results", get(get_results))
}
