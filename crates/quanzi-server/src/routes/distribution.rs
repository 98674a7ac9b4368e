//! Distribution (分销): settings, promoters, buyer binding, dashboards and withdrawals.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::social::distribution::{self, BindingPolicy, Eligibility, Settings};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::social::commission::{LevelRates, RateTable};
use quanzi_store::{PromoterRow, WithdrawalRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::with_idempotency;
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct LevelBody {
    /// 1 (the promoter) or 2 (the promoter's upline); there is no level 3.
    pub level: u8,
    /// Basis points of what the buyer paid (1000 = 10 %).
    pub rate_bp: i64,
    /// Per-SKU rates in basis points.
    #[serde(default)]
    pub sku_bp: BTreeMap<String, i64>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    #[serde(default)]
    pub enabled: bool,
    /// `everyone`, `appointed` (default) or `min_spend`.
    pub eligibility: Option<String>,
    pub min_spend_fen: Option<i64>,
    /// `permanent` (default, first touch), `expires` (first touch for `binding_days`) or
    /// `latest` (the latest link wins).
    pub binding: Option<String>,
    pub binding_days: Option<u32>,
    pub levels: Vec<LevelBody>,
    /// Days commissions stay pending (default 7).
    pub freeze_days: Option<u32>,
    /// Smallest withdrawal (default 1000 fen).
    pub min_withdrawal_fen: Option<i64>,
}

pub(crate) fn settings_body(s: Settings) -> SettingsBody {
    let (eligibility, min_spend_fen) = match s.eligibility {
        Eligibility::Everyone => ("everyone", None),
        Eligibility::Appointed => ("appointed", None),
        Eligibility::MinSpend(fen) => ("min_spend", Some(fen)),
    };
    let (binding, binding_days) = match s.binding {
        BindingPolicy::Permanent => ("permanent", None),
        BindingPolicy::ExpiresAfterDays(d) => ("expires", Some(d)),
        BindingPolicy::LatestWins => ("latest", None),
    };
    SettingsBody {
        enabled: s.enabled,
        eligibility: Some(eligibility.into()),
        min_spend_fen,
        binding: Some(binding.into()),
        binding_days,
        levels: s
            .rates
            .levels
            .into_iter()
            .map(|l| LevelBody {
                level: l.level,
                rate_bp: l.default_bp,
                sku_bp: l.sku_bp,
            })
            .collect(),
        freeze_days: Some(s.freeze_days),
        min_withdrawal_fen: Some(s.min_withdrawal_fen),
    }
}

fn settings_of(b: SettingsBody) -> Result<Settings, InvalidInput> {
    let defaults = Settings::default();
    Ok(Settings {
        enabled: b.enabled,
        eligibility: match b.eligibility.as_deref() {
            None | Some("appointed") => Eligibility::Appointed,
            Some("everyone") => Eligibility::Everyone,
            Some("min_spend") => Eligibility::MinSpend(b.min_spend_fen.ok_or_else(|| {
                InvalidInput::new("min_spend_fen", "is required with eligibility min_spend")
            })?),
            Some(other) => {
                return Err(InvalidInput::new(
                    "eligibility",
                    format!("`{other}` is not a choice: use everyone, appointed or min_spend"),
                ))
            }
        },
        binding: match b.binding.as_deref() {
            None | Some("permanent") => BindingPolicy::Permanent,
            Some("latest") => BindingPolicy::LatestWins,
            Some("expires") => {
                BindingPolicy::ExpiresAfterDays(b.binding_days.ok_or_else(|| {
                    InvalidInput::new("binding_days", "is required with binding expires")
                })?)
            }
            Some(other) => {
                return Err(InvalidInput::new(
                    "binding",
                    format!("`{other}` is not a policy: use permanent, expires or latest"),
                ))
            }
        },
        rates: RateTable {
            levels: b
                .levels
                .into_iter()
                .map(|l| LevelRates {
                    level: l.level,
                    default_bp: l.rate_bp,
                    sku_bp: l.sku_bp,
                })
                .collect(),
        },
        freeze_days: b.freeze_days.unwrap_or(defaults.freeze_days),
        min_withdrawal_fen: b.min_withdrawal_fen.unwrap_or(defaults.min_withdrawal_fen),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoterRequest {
    pub member_id: String,
    /// The promoter who recruited them (their level-2 earner).
    pub upline_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PromoterResponse {
    pub member_id: String,
    pub upline_id: Option<String>,
    pub status: String,
    pub joined_at: String,
}

fn promoter_body(p: PromoterRow) -> PromoterResponse {
    PromoterResponse {
        member_id: p.member_id,
        upline_id: p.upline_id,
        status: p.status,
        joined_at: p.joined_at.to_rfc3339(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    pub promoter_id: String,
    pub buyer_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct BindResponse {
    pub buyer_id: String,
    /// The promoter the buyer belongs to now (the earlier one if the policy kept them).
    pub promoter_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct CommissionResponse {
    pub order_id: String,
    pub level: i64,
    pub line: i64,
    pub paid_fen: i64,
    pub rate_bp: i64,
    pub amount_fen: i64,
    pub clawed_back_fen: i64,
    /// `pending` or `settled`.
    pub status: String,
    pub settle_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct WithdrawalResponse {
    /// `wdr_…`
    pub id: String,
    pub promoter_id: String,
    pub amount_fen: i64,
    /// `requested`, `approved`, `rejected` or `paid`.
    pub status: String,
    pub note: Option<String>,
    pub requested_at: String,
    pub reviewed_at: Option<String>,
}

fn withdrawal_body(w: WithdrawalRow) -> WithdrawalResponse {
    WithdrawalResponse {
        id: w.id,
        promoter_id: w.promoter_id,
        amount_fen: w.amount_fen,
        status: w.status,
        note: w.note,
        requested_at: w.requested_at.to_rfc3339(),
        reviewed_at: w.reviewed_at.map(|t| t.to_rfc3339()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct DashboardResponse {
    pub promoter: PromoterResponse,
    /// `click` events whose `link_code` is the promoter's invite code.
    pub clicks: i64,
    /// Buyers bound to the promoter.
    pub buyers: i64,
    /// Net of clawbacks.
    pub pending_fen: i64,
    pub settled_fen: i64,
    pub clawed_back_fen: i64,
    pub withdrawn_fen: i64,
    pub available_fen: i64,
    pub commissions: Vec<CommissionResponse>,
    pub withdrawals: Vec<WithdrawalResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    pub amount_fen: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `approve`, `reject` or `pay`.
    pub action: String,
    pub note: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/distribution/settings", tag = "social",
    responses((status = 200, body = SettingsBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SettingsBody>> {
    Ok(Json(settings_body(
        distribution::settings(&state.app, &caller).await?,
    )))
}

/// Replaces the distribution settings (admin role). A level 3 is refused: deeper chains
/// are unlawful pyramid selling in China.
#[utoipa::path(put, path = "/api/v1/distribution/settings", tag = "social", request_body = SettingsBody,
    responses((status = 200, body = SettingsBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<SettingsBody>,
) -> ApiResult<Json<SettingsBody>> {
    let settings = settings_of(body)?;
    Ok(Json(settings_body(
        distribution::put_settings(&state.app, &caller, settings).await?,
    )))
}

/// Makes a member a promoter: appointed by an operator, or on their own request where the
/// settings allow it (409 `not_eligible`, `already_promoter`, `distribution_disabled`).
#[utoipa::path(post, path = "/api/v1/promoters", tag = "social", request_body = PromoterRequest,
    responses((status = 201, body = PromoterResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn add_promoter(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<PromoterRequest>,
) -> ApiResult<(StatusCode, Json<PromoterResponse>)> {
    let row = distribution::add_promoter(
        &state.app,
        &caller,
        &body.member_id,
        body.upline_id.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(promoter_body(row))))
}

/// Binds a buyer who arrived through a promoter's link, by the binding policy.
#[utoipa::path(post, path = "/api/v1/distribution/bind", tag = "social", request_body = BindRequest,
    responses((status = 200, body = BindResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn bind(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<BindRequest>,
) -> ApiResult<Json<BindResponse>> {
    let promoter =
        distribution::bind_buyer(&state.app, &caller, &body.promoter_id, &body.buyer_id).await?;
    Ok(Json(BindResponse {
        buyer_id: body.buyer_id,
        promoter_id: promoter,
    }))
}

/// The promoter's clicks, buyers, commissions by state, balance and withdrawals.
#[utoipa::path(get, path = "/api/v1/promoters/{id}/dashboard", tag = "social", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = DashboardResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn dashboard(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DashboardResponse>> {
    let d = distribution::dashboard(&state.app, &caller, &id).await?;
    Ok(Json(DashboardResponse {
        promoter: promoter_body(d.promoter),
        clicks: d.clicks,
        buyers: d.buyers,
        pending_fen: d.balance.pending_fen,
        settled_fen: d.balance.settled_fen,
        clawed_back_fen: d.balance.clawed_back_fen,
        withdrawn_fen: d.balance.withdrawn_fen,
        available_fen: d.balance.available_fen(),
        commissions: d
            .commissions
            .into_iter()
            .map(|c| CommissionResponse {
                order_id: c.order_id,
                level: c.level,
                line: c.line,
                paid_fen: c.paid_fen,
                rate_bp: c.rate_bp,
                amount_fen: c.amount_fen,
                clawed_back_fen: c.clawed_back_fen,
                status: c.status,
                settle_at: c.settle_at.to_rfc3339(),
            })
            .collect(),
        withdrawals: d.withdrawals.into_iter().map(withdrawal_body).collect(),
    }))
}

/// A promoter asks to withdraw settled commission (400 below the minimum, 409
/// `insufficient_commission`).
#[utoipa::path(post, path = "/api/v1/promoters/{id}/withdrawals", tag = "social", request_body = WithdrawRequest,
    params(("id" = String, Path, description = "mem_…")),
    responses((status = 201, body = WithdrawalResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WithdrawRequest>,
) -> ApiResult<(StatusCode, Json<WithdrawalResponse>)> {
    let row = distribution::request_withdrawal(&state.app, &caller, &id, body.amount_fen).await?;
    Ok((StatusCode::CREATED, Json(withdrawal_body(row))))
}

/// Reviews a withdrawal (admin role): approve, reject or mark paid.
#[utoipa::path(post, path = "/api/v1/withdrawals/{id}/review", tag = "social", request_body = ReviewRequest,
    params(("id" = String, Path, description = "wdr_…")),
    responses((status = 200, body = WithdrawalResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReviewRequest>,
) -> ApiResult<Json<WithdrawalResponse>> {
    Ok(Json(withdrawal_body(
        distribution::review_withdrawal(
            &state.app,
            &caller,
            &id,
            &body.action,
            body.note.as_deref(),
        )
        .await?,
    )))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/distribution/settings",
            get(get_settings).put(put_settings),
        )
        .route("/api/v1/distribution/bind", post(bind))
        .route("/api/v1/promoters", post(add_promoter))
        .route("/api/v1/promoters/{id}/dashboard", get(dashboard))
        .route(
            "/api/v1/promoters/{id}/withdrawals",
            with_idempotency(post(withdraw), state),
        )
        .route("/api/v1/withdrawals/{id}/review", post(review))
}
