//! Flash sales (秒杀): creating and cancelling a sale, its stock, reservations,
//! cancelling and completing them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::promotions::flash::{self, FalseOriginal};
use quanzi_app::services::promotions::flash_cancel;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::promotions::compliance::PriceCheck;
use quanzi_domain::promotions::flash::{FlashSale, FlashSku};
use quanzi_store::{FlashSaleRow, ReservationRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{required_time, with_idempotency};
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, OptionalJson};
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlashSkuBody {
    pub sku: String,
    pub flash_price_fen: i64,
    /// The crossed-out price shown beside the flash price; checked against the lowest
    /// price the SKU sold for in the 7 days before the sale.
    pub original_price_fen: i64,
    pub stock: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSaleRequest {
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    /// Seconds a reservation holds stock before it must be paid (60–86400, default 900).
    pub payment_timeout_seconds: Option<i64>,
    /// Units one member may hold across the sale (default 1).
    pub per_member_limit: Option<i64>,
    /// Stock rows per SKU (1–64, default 1). More rows let more buyers through at once
    /// on PostgreSQL; see docs/benchmarks.md.
    pub buckets: Option<i64>,
    pub skus: Vec<FlashSkuBody>,
    /// `refuse` (default): a false original price is an error; `flag`: create the sale
    /// and report it in `price_checks`.
    pub on_false_original: Option<String>,
    /// `none` (default), or `redis`: a Redis counter turns buyers away once it reaches
    /// zero, before the database is asked (needs `promotions.redis_url`).
    pub gate: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FlashSkuResponse {
    pub sku: String,
    pub flash_price_fen: i64,
    pub original_price_fen: i64,
    pub stock: i64,
    pub remaining: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PriceCheckResponse {
    pub sku: String,
    /// The lowest price paid in the 7 days before the start (or the last price before),
    /// null when the SKU never sold.
    pub reference_fen: Option<i64>,
    /// `false_original_price`, `discount_not_lower`, or null when the price is honest.
    pub violation: Option<String>,
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SaleResponse {
    /// `fls_…`
    pub id: String,
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    pub payment_timeout_seconds: i64,
    pub per_member_limit: i64,
    pub buckets: i64,
    /// `none` or `redis`.
    pub gate: String,
    pub status: String,
    pub skus: Vec<FlashSkuResponse>,
    /// Filled on creation.
    pub price_checks: Vec<PriceCheckResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct SaleSummary {
    pub id: String,
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct SaleList {
    pub items: Vec<SaleSummary>,
}

pub(crate) fn price_checks(checks: Vec<(String, PriceCheck)>) -> Vec<PriceCheckResponse> {
    checks
        .into_iter()
        .map(|(sku, c)| PriceCheckResponse {
            sku,
            reference_fen: c.reference_fen,
            violation: c.violation.map(|v| v.code().to_owned()),
            message: c.violation.map(|v| v.message()),
        })
        .collect()
}

fn sale(s: flash::Sale) -> SaleResponse {
    SaleResponse {
        id: s.row.id,
        name: s.row.name,
        starts_at: s.row.starts_at.to_rfc3339(),
        ends_at: s.row.ends_at.to_rfc3339(),
        payment_timeout_seconds: s.row.payment_timeout_seconds,
        per_member_limit: s.row.per_member_limit,
        buckets: s.row.buckets,
        gate: s.row.gate,
        status: s.row.status,
        skus: s
            .skus
            .into_iter()
            .map(|k| FlashSkuResponse {
                sku: k.sku,
                flash_price_fen: k.flash_price_fen,
                original_price_fen: k.original_price_fen,
                stock: k.stock,
                remaining: k.remaining,
            })
            .collect(),
        price_checks: price_checks(s.price_checks),
    }
}

fn summary(row: FlashSaleRow) -> SaleSummary {
    SaleSummary {
        id: row.id,
        name: row.name,
        starts_at: row.starts_at.to_rfc3339(),
        ends_at: row.ends_at.to_rfc3339(),
        status: row.status,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    pub member_id: String,
    pub sku: String,
    /// Default 1.
    pub quantity: Option<i64>,
    /// The storefront's order number, if it has one: recording that order pays the
    /// reservation.
    pub order_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReservationResponse {
    /// `rsv_…`
    pub id: String,
    pub sale_id: String,
    pub sku: String,
    pub member_id: String,
    pub quantity: i64,
    /// `reserved`, `paid`, `expired` or `cancelled`.
    pub status: String,
    pub order_id: Option<String>,
    pub reserved_at: String,
    /// Pay before this, or the stock goes back.
    pub expires_at: String,
    pub settled_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReservationList {
    pub items: Vec<ReservationResponse>,
}

fn reservation(row: ReservationRow) -> ReservationResponse {
    ReservationResponse {
        id: row.id,
        sale_id: row.sale_id,
        sku: row.sku,
        member_id: row.member_id,
        quantity: row.quantity,
        status: row.status,
        order_id: row.order_id,
        reserved_at: row.reserved_at.to_rfc3339(),
        expires_at: row.expires_at.to_rfc3339(),
        settled_at: row.settled_at.map(|t| t.to_rfc3339()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub order_id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReservationQuery {
    pub member_id: Option<String>,
}

pub(crate) fn false_original(raw: Option<&str>) -> Result<FalseOriginal, InvalidInput> {
    match raw {
        None | Some("refuse") => Ok(FalseOriginal::Refuse),
        Some("flag") => Ok(FalseOriginal::Flag),
        Some(other) => Err(InvalidInput::new(
            "on_false_original",
            format!("`{other}` is not a choice: use refuse or flag"),
        )),
    }
}

/// Creates a flash sale (operator role). A SKU whose original price is above the lowest
/// price it sold for in the 7 days before the start is refused (422, field
/// `skus[i].original_price_fen`) unless `on_false_original` is `flag`.
#[utoipa::path(post, path = "/api/v1/flash-sales", tag = "promotions", request_body = CreateSaleRequest,
    responses((status = 201, body = SaleResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateSaleRequest>,
) -> ApiResult<(StatusCode, Json<SaleResponse>)> {
    let new = flash::NewSale {
        name: body.name,
        sale: FlashSale {
            starts_at: required_time("starts_at", &body.starts_at)?,
            ends_at: required_time("ends_at", &body.ends_at)?,
            payment_timeout_seconds: body.payment_timeout_seconds.unwrap_or(900),
            per_member_limit: body.per_member_limit.unwrap_or(1),
            buckets: body.buckets.unwrap_or(1),
            skus: body
                .skus
                .into_iter()
                .map(|s| FlashSku {
                    sku: s.sku,
                    flash_price_fen: s.flash_price_fen,
                    original_price_fen: s.original_price_fen,
                    stock: s.stock,
                })
                .collect(),
        },
        on_false_original: false_original(body.on_false_original.as_deref())?,
        redis_gate: match body.gate.as_deref() {
            None | Some("none") => false,
            Some("redis") => true,
            Some(other) => {
                return Err(InvalidInput::new(
                    "gate",
                    format!("`{other}` is not a gate: use none or redis"),
                )
                .into())
            }
        },
    };
    let created = flash::create(&state.app, &caller, new).await?;
    Ok((StatusCode::CREATED, Json(sale(created))))
}

#[utoipa::path(get, path = "/api/v1/flash-sales", tag = "promotions",
    responses((status = 200, body = SaleList)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SaleList>> {
    let rows = flash::sales(&state.app, &caller).await?;
    Ok(Json(SaleList {
        items: rows.into_iter().map(summary).collect(),
    }))
}

/// A sale with its SKUs and the stock left.
#[utoipa::path(get, path = "/api/v1/flash-sales/{id}", tag = "promotions", params(("id" = String, Path, description = "fls_…")),
    responses((status = 200, body = SaleResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_sale(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SaleResponse>> {
    Ok(Json(sale(flash::sale(&state.app, &caller, &id).await?)))
}

/// Reserves stock for a member until the payment timeout. 409 `flash_sold_out`,
/// `flash_limit_reached`, `flash_not_started` or `flash_ended` change nothing.
#[utoipa::path(post, path = "/api/v1/flash-sales/{id}/reservations", tag = "promotions", request_body = ReserveRequest,
    params(("id" = String, Path, description = "fls_…")),
    responses((status = 201, body = ReservationResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn reserve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReserveRequest>,
) -> ApiResult<(StatusCode, Json<ReservationResponse>)> {
    let row = flash::reserve(
        &state.app,
        &caller,
        &id,
        flash::ReserveInput {
            member_id: body.member_id,
            sku: body.sku,
            quantity: body.quantity.unwrap_or(1),
            order_id: body.order_id,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(reservation(row))))
}

#[utoipa::path(get, path = "/api/v1/flash-sales/{id}/reservations", tag = "promotions",
    params(("id" = String, Path, description = "fls_…"), ReservationQuery),
    responses((status = 200, body = ReservationList)), security(("bearer" = []), ("session" = [])))]
pub async fn reservations(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(query): Query<ReservationQuery>,
) -> ApiResult<Json<ReservationList>> {
    let rows = flash::reservations(&state.app, &caller, &id, query.member_id.as_deref()).await?;
    Ok(Json(ReservationList {
        items: rows.into_iter().map(reservation).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSaleRequest {
    /// Also end the unpaid reservations (their buyers can no longer pay at the flash
    /// price). Default false: reservations already made stay payable until they expire.
    pub release_reservations: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct CancelSaleResponse {
    pub sale: SaleResponse,
    /// Unpaid reservations ended with the sale.
    pub released_reservations: usize,
}

/// Cancels a whole sale (operator role): once this answers, no node takes another
/// reservation for it. The body may be left out. 409 `flash_sale_not_active` when it was
/// already cancelled.
#[utoipa::path(post, path = "/api/v1/flash-sales/{id}/cancel", tag = "promotions", request_body = CancelSaleRequest,
    params(("id" = String, Path, description = "fls_…")),
    responses((status = 200, body = CancelSaleResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn cancel_sale(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<CancelSaleRequest>,
) -> ApiResult<Json<CancelSaleResponse>> {
    let release = body.and_then(|b| b.release_reservations).unwrap_or(false);
    let done = flash_cancel::cancel_sale(&state.app, &caller, &id, release).await?;
    Ok(Json(CancelSaleResponse {
        sale: sale(done.sale),
        released_reservations: done.released,
    }))
}

/// Cancels an unpaid reservation: its stock goes back at once.
#[utoipa::path(post, path = "/api/v1/flash-reservations/{id}/cancel", tag = "promotions", params(("id" = String, Path, description = "rsv_…")),
    responses((status = 200, body = ReservationResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ReservationResponse>> {
    Ok(Json(reservation(
        flash::cancel(&state.app, &caller, &id).await?,
    )))
}

/// Marks a reservation paid by an order.
#[utoipa::path(post, path = "/api/v1/flash-reservations/{id}/complete", tag = "promotions", request_body = CompleteRequest,
    params(("id" = String, Path, description = "rsv_…")),
    responses((status = 200, body = ReservationResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn complete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CompleteRequest>,
) -> ApiResult<Json<ReservationResponse>> {
    Ok(Json(reservation(
        flash::complete(&state.app, &caller, &id, &body.order_id).await?,
    )))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/flash-sales", get(list).post(create))
        .route("/api/v1/flash-sales/{id}", get(get_sale))
        .route("/api/v1/flash-sales/{id}/cancel", post(cancel_sale))
        .route(
            "/api/v1/flash-sales/{id}/reservations",
            with_idempotency(get(reservations).post(reserve), state),
        )
        .route("/api/v1/flash-reservations/{id}/cancel", post(cancel))
        .route("/api/v1/flash-reservations/{id}/complete", post(complete))
}
