//! The points mall: items, redemptions and cancellations.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::loyalty::mall;
use quanzi_store::{MallItemRow, RedemptionRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::with_idempotency;
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateItemRequest {
    pub name: String,
    /// Price in points per unit.
    pub points: i64,
    /// Cash on top of the points per unit, in fen (points + cash items), collected by the
    /// storefront.
    #[serde(default)]
    pub cash_fen: i64,
    pub stock: i64,
    /// Units one member may hold across redemptions not cancelled; absent for no limit.
    pub per_member_limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemResponse {
    /// `itm_…`
    pub id: String,
    pub name: String,
    pub points: i64,
    pub cash_fen: i64,
    pub stock: i64,
    pub per_member_limit: Option<i64>,
    pub active: bool,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ItemList {
    pub items: Vec<ItemResponse>,
}

fn item(row: MallItemRow) -> ItemResponse {
    ItemResponse {
        id: row.id,
        name: row.name,
        points: row.points,
        cash_fen: row.cash_fen,
        stock: row.stock,
        per_member_limit: row.per_member_limit,
        active: row.active,
        created_at: row.created_at.to_rfc3339(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    pub member_id: String,
    /// 1–100 (default 1).
    pub quantity: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct RedemptionResponse {
    /// `rdm_…`; also the id of the points hold in the ledger.
    pub id: String,
    pub item_id: String,
    pub member_id: String,
    pub quantity: i64,
    pub points: i64,
    pub cash_fen: i64,
    /// `active` or `cancelled`.
    pub status: String,
    pub created_at: String,
    pub cancelled_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RedemptionList {
    pub items: Vec<RedemptionResponse>,
}

fn redemption(row: RedemptionRow) -> RedemptionResponse {
    RedemptionResponse {
        id: row.id,
        item_id: row.item_id,
        member_id: row.member_id,
        quantity: row.quantity,
        points: row.points,
        cash_fen: row.cash_fen,
        status: row.status,
        created_at: row.created_at.to_rfc3339(),
        cancelled_at: row.cancelled_at.map(|t| t.to_rfc3339()),
    }
}

/// Adds an item to the mall (admin role).
#[utoipa::path(post, path = "/api/v1/loyalty/mall/items", tag = "loyalty", request_body = CreateItemRequest,
    responses((status = 201, body = ItemResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateItemRequest>,
) -> ApiResult<(StatusCode, Json<ItemResponse>)> {
    let row = mall::create_item(
        &state.app,
        &caller,
        mall::NewItem {
            name: body.name,
            points: body.points,
            cash_fen: body.cash_fen,
            stock: body.stock,
            per_member_limit: body.per_member_limit,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(item(row))))
}

#[utoipa::path(get, path = "/api/v1/loyalty/mall/items", tag = "loyalty",
    responses((status = 200, body = ItemList)), security(("bearer" = []), ("session" = [])))]
pub async fn list_items(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<ItemList>> {
    let rows = mall::items(&state.app, &caller).await?;
    Ok(Json(ItemList {
        items: rows.into_iter().map(item).collect(),
    }))
}

/// Redeems an item: takes stock and holds the points; 409 `out_of_stock`,
/// `redemption_limit_reached` or `insufficient_points` change nothing.
#[utoipa::path(post, path = "/api/v1/loyalty/mall/items/{id}/redemptions", tag = "loyalty", request_body = RedeemRequest,
    params(("id" = String, Path, description = "itm_…")),
    responses((status = 201, body = RedemptionResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn redeem(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RedeemRequest>,
) -> ApiResult<(StatusCode, Json<RedemptionResponse>)> {
    let row = mall::redeem(
        &state.app,
        &caller,
        &id,
        &body.member_id,
        body.quantity.unwrap_or(1),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(redemption(row))))
}

/// Cancels a redemption inside its cancellation window: points and stock come back.
#[utoipa::path(post, path = "/api/v1/loyalty/mall/redemptions/{id}/cancel", tag = "loyalty",
    params(("id" = String, Path, description = "rdm_…")),
    responses((status = 200, body = RedemptionResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RedemptionResponse>> {
    Ok(Json(redemption(
        mall::cancel(&state.app, &caller, &id).await?,
    )))
}

#[utoipa::path(get, path = "/api/v1/members/{id}/redemptions", tag = "loyalty", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = RedemptionList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn of_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RedemptionList>> {
    let rows = mall::redemptions(&state.app, &caller, &id).await?;
    Ok(Json(RedemptionList {
        items: rows.into_iter().map(redemption).collect(),
    }))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/loyalty/mall/items",
            get(list_items).post(create_item),
        )
        .route(
            "/api/v1/loyalty/mall/items/{id}/redemptions",
            with_idempotency(post(redeem), state),
        )
        .route("/api/v1/loyalty/mall/redemptions/{id}/cancel", post(cancel))
        .route("/api/v1/members/{id}/redemptions", get(of_member))
}
