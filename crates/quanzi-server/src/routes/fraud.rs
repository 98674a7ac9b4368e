//! Anti-fraud: the thresholds and the review queue of held rewards.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::social::fraud;
use quanzi_domain::social::fraud::FraudRules;
use quanzi_store::FraudFlagRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

/// Thresholds; null switches a signal off.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// Hold rewards for invitees who arrived from the same device or IP as another of the
    /// inviter's invitees.
    pub shared_device: bool,
    /// `[count, minutes]`: the inviter bound at least `count` invitees within `minutes`.
    pub burst: Option<(u32, u32)>,
    /// `[count, percent]`: at least `count` of the inviter's week-old invitees, and
    /// `percent` % of them, never did anything.
    pub inactive_invitees: Option<(u32, u32)>,
    /// This many of the inviter's rewarded invitees refunded their first order.
    pub refunds_after_reward: Option<u32>,
    /// Bargain helpers must be at least this old (minutes).
    pub min_account_age_minutes: Option<u32>,
}

fn body(r: FraudRules) -> RulesBody {
    RulesBody {
        shared_device: r.shared_device,
        burst: r.burst,
        inactive_invitees: r.inactive_invitees,
        refunds_after_reward: r.refunds_after_reward,
        min_account_age_minutes: r.min_account_age_minutes,
    }
}

#[derive(Serialize, ToSchema)]
pub struct FlagResponse {
    /// `frd_…`
    pub id: String,
    /// `referral_reward`: the rewards an invitee's first order would have paid.
    pub subject_kind: String,
    /// The order (`ord_…`) whose rewards are held.
    pub subject_id: String,
    /// The inviter.
    pub member_id: String,
    /// Why: `[{code, reason}]`.
    #[schema(value_type = Object)]
    pub signals: serde_json::Value,
    /// `open`, `approved` or `rejected`.
    pub status: String,
    pub created_at: String,
    pub reviewed_at: Option<String>,
    pub reviewer: Option<String>,
}

fn flag(f: FraudFlagRow) -> FlagResponse {
    FlagResponse {
        id: f.id,
        subject_kind: f.subject_kind,
        subject_id: f.subject_id,
        member_id: f.member_id,
        signals: serde_json::from_str(&f.signals).unwrap_or_default(),
        status: f.status,
        created_at: f.created_at.to_rfc3339(),
        reviewed_at: f.reviewed_at.map(|t| t.to_rfc3339()),
        reviewer: f.reviewer,
    }
}

#[derive(Serialize, ToSchema)]
pub struct FlagList {
    pub items: Vec<FlagResponse>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagQuery {
    pub status: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// True pays the held rewards; false rejects them.
    pub approve: bool,
}

#[utoipa::path(get, path = "/api/v1/fraud/rules", tag = "social",
    responses((status = 200, body = RulesBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_rules(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<RulesBody>> {
    Ok(Json(body(fraud::rules(&state.app, &caller).await?)))
}

/// Replaces the anti-fraud thresholds (admin role).
#[utoipa::path(put, path = "/api/v1/fraud/rules", tag = "social", request_body = RulesBody,
    responses((status = 200, body = RulesBody), (status = 400, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn put_rules(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(b): ApiJson<RulesBody>,
) -> ApiResult<Json<RulesBody>> {
    let rules = FraudRules {
        shared_device: b.shared_device,
        burst: b.burst,
        inactive_invitees: b.inactive_invitees,
        refunds_after_reward: b.refunds_after_reward,
        min_account_age_minutes: b.min_account_age_minutes,
    };
    Ok(Json(body(
        fraud::put_rules(&state.app, &caller, rules).await?,
    )))
}

/// Held rewards with the signals that held them (analysts and above).
#[utoipa::path(get, path = "/api/v1/fraud/flags", tag = "social", params(FlagQuery),
    responses((status = 200, body = FlagList)), security(("bearer" = []), ("session" = [])))]
pub async fn flags(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<FlagQuery>,
) -> ApiResult<Json<FlagList>> {
    let rows = fraud::flags(&state.app, &caller, query.status.as_deref()).await?;
    Ok(Json(FlagList {
        items: rows.into_iter().map(flag).collect(),
    }))
}

/// Approves (pays the held rewards) or rejects a flag, once (409 `flag_decided`).
#[utoipa::path(post, path = "/api/v1/fraud/flags/{id}/review", tag = "social", request_body = ReviewRequest,
    params(("id" = String, Path, description = "frd_…")),
    responses((status = 200, body = FlagResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReviewRequest>,
) -> ApiResult<Json<FlagResponse>> {
    Ok(Json(flag(
        fraud::review(&state.app, &caller, &id, body.approve).await?,
    )))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/fraud/rules", get(get_rules).put(put_rules))
        .route("/api/v1/fraud/flags", get(flags))
        .route("/api/v1/fraud/flags/{id}/review", post(review))
}
