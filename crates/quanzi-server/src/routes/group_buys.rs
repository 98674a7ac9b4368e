//! Group buying (拼团): campaigns, opening and joining groups, group status and stats.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::social::group_buy::{self, CampaignView, GroupView};
use quanzi_domain::social::group_buy::Campaign;
use quanzi_store::GroupRow;
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
    pub group_price_fen: i64,
    pub original_price_fen: i64,
    /// Members a group needs, the leader included (2–100).
    pub group_size: i64,
    /// How long a group stays open (1–168, default 24).
    pub duration_hours: Option<i64>,
    /// Groups one member may be in (default 1).
    pub per_member_limit: Option<i64>,
    /// Points the leader earns when the group succeeds (团长福利; default 0).
    pub leader_points: Option<i64>,
    /// 虚拟成团: a group with at least this percent of its seats at expiry succeeds.
    pub virtual_completion_percent: Option<u32>,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignResponse {
    /// `gbc_…`
    pub id: String,
    pub name: String,
    pub sku: String,
    pub group_price_fen: i64,
    pub original_price_fen: i64,
    pub group_size: i64,
    pub duration_hours: i64,
    pub per_member_limit: i64,
    pub leader_points: i64,
    /// Shown to buyers before they join (disclosure of 虚拟成团).
    pub virtual_completion_percent: Option<u32>,
    pub starts_at: String,
    pub ends_at: String,
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignList {
    pub items: Vec<CampaignResponse>,
}

fn campaign(v: CampaignView) -> CampaignResponse {
    CampaignResponse {
        id: v.row.id,
        name: v.row.name,
        sku: v.rules.sku,
        group_price_fen: v.rules.group_price_fen,
        original_price_fen: v.rules.original_price_fen,
        group_size: v.rules.group_size,
        duration_hours: v.rules.duration_seconds / 3_600,
        per_member_limit: v.rules.per_member_limit,
        leader_points: v.rules.leader_points,
        virtual_completion_percent: v.rules.virtual_completion_percent,
        starts_at: v.rules.starts_at.to_rfc3339(),
        ends_at: v.rules.ends_at.to_rfc3339(),
        status: v.row.status,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatRequest {
    pub member_id: String,
    /// The paid order (its `external_id`) that bought the seat at the group price; a
    /// failed group refunds it in full.
    pub order_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct SeatResponse {
    pub member_id: String,
    pub order_id: String,
    pub leader: bool,
    pub joined_at: String,
    pub refunded_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GroupResponse {
    /// `grp_…`
    pub id: String,
    pub campaign_id: String,
    pub leader_id: String,
    pub seats: i64,
    pub joined: i64,
    pub seats_left: i64,
    /// `open`, `succeeded`, `succeeded_virtually` or `failed`.
    pub status: String,
    pub opened_at: String,
    pub expires_at: String,
    pub ended_at: Option<String>,
    /// The campaign's virtual-completion terms, disclosed to buyers.
    pub virtual_completion_percent: Option<u32>,
    pub members: Vec<SeatResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct GroupSummary {
    pub id: String,
    pub leader_id: String,
    pub seats: i64,
    pub joined: i64,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupSummary>,
}

fn group(v: GroupView) -> GroupResponse {
    GroupResponse {
        seats_left: v.group.seats - v.group.joined,
        id: v.group.id,
        campaign_id: v.group.campaign_id,
        leader_id: v.group.leader_id,
        seats: v.group.seats,
        joined: v.group.joined,
        status: v.group.status,
        opened_at: v.group.opened_at.to_rfc3339(),
        expires_at: v.group.expires_at.to_rfc3339(),
        ended_at: v.group.ended_at.map(|t| t.to_rfc3339()),
        virtual_completion_percent: v.virtual_completion_percent,
        members: v
            .members
            .into_iter()
            .map(|m| SeatResponse {
                member_id: m.member_id,
                order_id: m.order_id,
                leader: m.leader,
                joined_at: m.joined_at.to_rfc3339(),
                refunded_at: m.refunded_at.map(|t| t.to_rfc3339()),
            })
            .collect(),
    }
}

fn summary(g: GroupRow) -> GroupSummary {
    GroupSummary {
        id: g.id,
        leader_id: g.leader_id,
        seats: g.seats,
        joined: g.joined,
        expires_at: g.expires_at.to_rfc3339(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct StatsResponse {
    pub open: i64,
    pub succeeded: i64,
    pub succeeded_virtually: i64,
    pub failed: i64,
    /// Seats taken over all groups.
    pub joins: i64,
    /// Mean time from opening to the last seat, over groups that filled.
    pub mean_fill_seconds: Option<f64>,
    /// `share` events tagged with this campaign (`campaign_id`).
    pub shares: i64,
    /// Seats taken by joiners (leaders excluded) per share; null without shares.
    pub share_to_join: Option<f64>,
}

/// Creates a group-buy campaign (operator role).
#[utoipa::path(post, path = "/api/v1/group-buys", tag = "social", request_body = CreateCampaignRequest,
    responses((status = 201, body = CampaignResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateCampaignRequest>,
) -> ApiResult<(StatusCode, Json<CampaignResponse>)> {
    let rules = Campaign {
        sku: body.sku,
        group_price_fen: body.group_price_fen,
        original_price_fen: body.original_price_fen,
        group_size: body.group_size,
        duration_seconds: body.duration_hours.unwrap_or(24).saturating_mul(3_600),
        per_member_limit: body.per_member_limit.unwrap_or(1),
        leader_points: body.leader_points.unwrap_or(0),
        virtual_completion_percent: body.virtual_completion_percent,
        starts_at: required_time("starts_at", &body.starts_at)?,
        ends_at: required_time("ends_at", &body.ends_at)?,
    };
    let created = group_buy::create_campaign(&state.app, &caller, &body.name, rules).await?;
    Ok((StatusCode::CREATED, Json(campaign(created))))
}

#[utoipa::path(get, path = "/api/v1/group-buys", tag = "social",
    responses((status = 200, body = CampaignList)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<CampaignList>> {
    let items = group_buy::campaigns(&state.app, &caller).await?;
    Ok(Json(CampaignList {
        items: items.into_iter().map(campaign).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/group-buys/{id}", tag = "social", params(("id" = String, Path, description = "gbc_…")),
    responses((status = 200, body = CampaignResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CampaignResponse>> {
    Ok(Json(campaign(
        group_buy::campaign(&state.app, &caller, &id).await?,
    )))
}

/// A leader opens a group with the paid order for the campaign's SKU. 409
/// `group_limit_reached`, `order_already_used`, `campaign_not_started`, `campaign_ended`.
#[utoipa::path(post, path = "/api/v1/group-buys/{id}/groups", tag = "social", request_body = SeatRequest,
    params(("id" = String, Path, description = "gbc_…")),
    responses((status = 201, body = GroupResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn open(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SeatRequest>,
) -> ApiResult<(StatusCode, Json<GroupResponse>)> {
    let view = group_buy::open(&state.app, &caller, &id, &body.member_id, &body.order_id).await?;
    Ok((StatusCode::CREATED, Json(group(view))))
}

/// The campaign's open groups, soonest to expire first.
#[utoipa::path(get, path = "/api/v1/group-buys/{id}/groups", tag = "social", params(("id" = String, Path, description = "gbc_…")),
    responses((status = 200, body = GroupList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn open_groups(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<GroupList>> {
    let rows = group_buy::open_groups(&state.app, &caller, &id).await?;
    Ok(Json(GroupList {
        items: rows.into_iter().map(summary).collect(),
    }))
}

/// Takes a seat with a paid order; the last seat completes the group. 409 `group_full`,
/// `group_closed`, `already_in_group`, `group_limit_reached`, `order_already_used`.
#[utoipa::path(post, path = "/api/v1/groups/{id}/join", tag = "social", request_body = SeatRequest,
    params(("id" = String, Path, description = "grp_…")),
    responses((status = 200, body = GroupResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn join(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SeatRequest>,
) -> ApiResult<Json<GroupResponse>> {
    Ok(Json(group(
        group_buy::join(&state.app, &caller, &id, &body.member_id, &body.order_id).await?,
    )))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "social", params(("id" = String, Path, description = "grp_…")),
    responses((status = 200, body = GroupResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_group(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<GroupResponse>> {
    Ok(Json(group(
        group_buy::group(&state.app, &caller, &id).await?,
    )))
}

/// Open, succeeded and failed groups, fill time and share-to-join conversion (analysts).
#[utoipa::path(get, path = "/api/v1/group-buys/{id}/stats", tag = "social", params(("id" = String, Path, description = "gbc_…")),
    responses((status = 200, body = StatsResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<StatsResponse>> {
    let (s, shares) = group_buy::stats(&state.app, &caller, &id).await?;
    let groups = s.open + s.succeeded + s.succeeded_virtually + s.failed;
    let joiners = s.joins - groups;
    Ok(Json(StatsResponse {
        open: s.open,
        succeeded: s.succeeded,
        succeeded_virtually: s.succeeded_virtually,
        failed: s.failed,
        joins: s.joins,
        mean_fill_seconds: s.mean_fill_ms.map(|ms| ms as f64 / 1000.0),
        shares,
        share_to_join: (shares > 0).then(|| joiners as f64 / shares as f64),
    }))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/group-buys", get(list).post(create))
        .route("/api/v1/group-buys/{id}", get(get_campaign))
        .route(
            "/api/v1/group-buys/{id}/groups",
            with_idempotency(get(open_groups).post(open), state),
        )
        .route("/api/v1/group-buys/{id}/stats", get(stats))
        .route("/api/v1/groups/{id}", get(get_group))
        .route(
            "/api/v1/groups/{id}/join",
            with_idempotency(post(join), state),
        )
}
