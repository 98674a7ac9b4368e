//! Bargaining (砍价): campaigns, a member's bargain, helps and the purchase.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::social::bargain::{self, BargainView, CampaignView, NewCampaign};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::social::bargain::{BargainMode, BargainRules};
use quanzi_store::HelpRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{required_time, with_idempotency};
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaignRequest {
    pub name: String,
    pub sku: String,
    pub start_price_fen: i64,
    /// Reached exactly when the last needed helper cuts.
    pub floor_price_fen: i64,
    pub helpers_needed: usize,
    /// Each helper cuts between these (fen); helpers × min ≤ start − floor ≤ helpers × max.
    pub min_cut_fen: i64,
    pub max_cut_fen: i64,
    /// How long a member's bargain stays open (default 24).
    pub duration_hours: Option<i64>,
    /// `must_reach_floor` (default: buy only at the floor) or `buy_at_current`.
    pub mode: Option<String>,
    /// Only members new to the brand may help (default false).
    #[serde(default)]
    pub new_users_only: bool,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignResponse {
    /// `bgc_…`
    pub id: String,
    pub name: String,
    pub sku: String,
    pub start_price_fen: i64,
    pub floor_price_fen: i64,
    pub helpers_needed: usize,
    pub min_cut_fen: i64,
    pub max_cut_fen: i64,
    pub duration_hours: f64,
    pub mode: String,
    pub new_users_only: bool,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignList {
    pub items: Vec<CampaignResponse>,
}

fn mode_str(mode: BargainMode) -> &'static str {
    match mode {
        BargainMode::MustReachFloor => "must_reach_floor",
        BargainMode::BuyAtCurrent => "buy_at_current",
    }
}

fn campaign(v: CampaignView) -> CampaignResponse {
    CampaignResponse {
        id: v.row.id,
        name: v.row.name,
        sku: v.row.sku,
        start_price_fen: v.rules.start_price_fen,
        floor_price_fen: v.rules.floor_price_fen,
        helpers_needed: v.rules.helpers_needed,
        min_cut_fen: v.rules.min_cut_fen,
        max_cut_fen: v.rules.max_cut_fen,
        duration_hours: v.rules.duration_seconds as f64 / 3_600.0,
        mode: mode_str(v.rules.mode).to_owned(),
        new_users_only: v.rules.new_users_only,
        starts_at: v.row.starts_at.to_rfc3339(),
        ends_at: v.row.ends_at.to_rfc3339(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    pub member_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    /// The storefront's order number for the purchase at the bargained price.
    pub order_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct HelpResponse {
    pub helper_id: String,
    /// 0 for the first helper.
    pub position: i64,
    pub cut_fen: i64,
    pub price_after_fen: i64,
    pub helped_at: String,
}

fn help_body(h: HelpRow) -> HelpResponse {
    HelpResponse {
        helper_id: h.helper_id,
        position: h.position,
        cut_fen: h.cut_fen,
        price_after_fen: h.price_after,
        helped_at: h.helped_at.to_rfc3339(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct BargainResponse {
    /// `bgn_…`
    pub id: String,
    pub campaign_id: String,
    pub member_id: String,
    /// `open`, `expired` or `purchased`.
    pub state: String,
    pub price_fen: i64,
    pub floor_fen: i64,
    pub helpers: i64,
    pub helpers_needed: i64,
    /// What the member would pay now; null while they may not buy yet.
    pub purchase_price_fen: Option<i64>,
    pub started_at: String,
    pub expires_at: String,
    pub order_id: Option<String>,
    pub helps: Vec<HelpResponse>,
}

fn bargain_body(v: BargainView) -> BargainResponse {
    BargainResponse {
        id: v.bargain.id,
        campaign_id: v.bargain.campaign_id,
        member_id: v.bargain.member_id,
        state: v.state.to_owned(),
        price_fen: v.bargain.price_fen,
        floor_fen: v.bargain.floor_fen,
        helpers: v.bargain.helpers,
        helpers_needed: v.bargain.helpers_needed,
        purchase_price_fen: v.purchase_price_fen,
        started_at: v.bargain.started_at.to_rfc3339(),
        expires_at: v.bargain.expires_at.to_rfc3339(),
        order_id: v.bargain.order_id,
        helps: v.helps.into_iter().map(help_body).collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct HelpedResponse {
    pub help: HelpResponse,
    pub bargain: BargainResponse,
}

/// Creates a bargain campaign (operator role).
#[utoipa::path(post, path = "/api/v1/bargain-campaigns", tag = "social", request_body = CreateCampaignRequest,
    responses((status = 201, body = CampaignResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateCampaignRequest>,
) -> ApiResult<(StatusCode, Json<CampaignResponse>)> {
    let mode = match body.mode.as_deref() {
        None | Some("must_reach_floor") => BargainMode::MustReachFloor,
        Some("buy_at_current") => BargainMode::BuyAtCurrent,
        Some(other) => {
            return Err(InvalidInput::new(
                "mode",
                format!("`{other}` is not a mode: use must_reach_floor or buy_at_current"),
            )
            .into())
        }
    };
    let created = bargain::create_campaign(
        &state.app,
        &caller,
        NewCampaign {
            name: body.name,
            sku: body.sku,
            rules: BargainRules {
                start_price_fen: body.start_price_fen,
                floor_price_fen: body.floor_price_fen,
                helpers_needed: body.helpers_needed,
                min_cut_fen: body.min_cut_fen,
                max_cut_fen: body.max_cut_fen,
                duration_seconds: body.duration_hours.unwrap_or(24).saturating_mul(3_600),
                mode,
                new_users_only: body.new_users_only,
            },
            starts_at: required_time("starts_at", &body.starts_at)?,
            ends_at: required_time("ends_at", &body.ends_at)?,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(campaign(created))))
}

#[utoipa::path(get, path = "/api/v1/bargain-campaigns", tag = "social",
    responses((status = 200, body = CampaignList)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<CampaignList>> {
    let items = bargain::campaigns(&state.app, &caller).await?;
    Ok(Json(CampaignList {
        items: items.into_iter().map(campaign).collect(),
    }))
}

/// A member starts their bargain (one per campaign; 409 `bargain_exists`).
#[utoipa::path(post, path = "/api/v1/bargain-campaigns/{id}/bargains", tag = "social", request_body = MemberRequest,
    params(("id" = String, Path, description = "bgc_…")),
    responses((status = 201, body = BargainResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn start(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MemberRequest>,
) -> ApiResult<(StatusCode, Json<BargainResponse>)> {
    let started = bargain::start(&state.app, &caller, &id, &body.member_id).await?;
    Ok((StatusCode::CREATED, Json(bargain_body(started))))
}

#[utoipa::path(get, path = "/api/v1/bargains/{id}", tag = "social", params(("id" = String, Path, description = "bgn_…")),
    responses((status = 200, body = BargainResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_bargain(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BargainResponse>> {
    Ok(Json(bargain_body(
        bargain::get(&state.app, &caller, &id).await?,
    )))
}

/// A helper cuts the price. 409 `bargain_complete`, `bargain_closed`, `already_helped`,
/// `own_bargain`, `not_a_new_user`.
#[utoipa::path(post, path = "/api/v1/bargains/{id}/helps", tag = "social", request_body = MemberRequest,
    params(("id" = String, Path, description = "bgn_…")),
    responses((status = 201, body = HelpedResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn help(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MemberRequest>,
) -> ApiResult<(StatusCode, Json<HelpedResponse>)> {
    let (help, after) = bargain::help(&state.app, &caller, &id, &body.member_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(HelpedResponse {
            help: help_body(help),
            bargain: bargain_body(after),
        }),
    ))
}

/// Buys at the price reached (the floor in `must_reach_floor` mode; 409
/// `floor_not_reached`, `bargain_closed`).
#[utoipa::path(post, path = "/api/v1/bargains/{id}/purchase", tag = "social", request_body = PurchaseRequest,
    params(("id" = String, Path, description = "bgn_…")),
    responses((status = 200, body = BargainResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn purchase(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PurchaseRequest>,
) -> ApiResult<Json<BargainResponse>> {
    Ok(Json(bargain_body(
        bargain::purchase(&state.app, &caller, &id, &body.order_id).await?,
    )))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/bargain-campaigns", get(list).post(create))
        .route(
            "/api/v1/bargain-campaigns/{id}/bargains",
            with_idempotency(post(start), state),
        )
        .route("/api/v1/bargains/{id}", get(get_bargain))
        .route(
            "/api/v1/bargains/{id}/helps",
            with_idempotency(post(help), state),
        )
        .route("/api/v1/bargains/{id}/purchase", post(purchase))
}
