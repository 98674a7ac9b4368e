use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::orders::{self, OrderInput, RecordedOrder, RefundInput};
use quanzi_domain::members::{NewOrderItem, Touchpoints};
use quanzi_store::RefundRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::events::{time, touchpoints};
use super::members::IdentityInput;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{parse_json, ApiJson};
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItemInput {
    pub sku: String,
    pub category: Option<String>,
    pub name: Option<String>,
    pub quantity: i64,
    pub unit_price_fen: i64,
    /// This line's own discount (e.g. a timed SKU discount), in fen.
    #[serde(default)]
    pub discount_fen: i64,
}

/// A paid order. Amounts are integers in fen (分). Touchpoint fields (`channel`, `utm_*`,
/// `link_code`, `kol_id`, `campaign_id`, `content_id`) may be added at the top level.
#[derive(Deserialize, ToSchema)]
pub struct OrderRequest {
    /// Your order number: resending the same order is harmless, a different order under
    /// the same number is refused (409).
    pub external_id: String,
    pub buyer: IdentityInput,
    /// RFC 3339 or epoch milliseconds; default now.
    #[schema(value_type = Option<String>)]
    pub paid_at: Option<Value>,
    pub items: Vec<OrderItemInput>,
    /// Discount on the whole order (coupons, spend-threshold rules).
    #[serde(default)]
    pub order_discount_fen: i64,
    #[serde(default)]
    pub shipping_fen: i64,
    /// If sent, must equal items − discounts + shipping.
    pub paid_fen: Option<i64>,
    #[serde(default)]
    pub coupons: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderItemResponse {
    pub line: i64,
    pub sku: String,
    pub category: Option<String>,
    pub name: Option<String>,
    pub quantity: i64,
    pub unit_price_fen: i64,
    pub discount_fen: i64,
    /// What the buyer paid for the line after its share of the order discount.
    pub net_fen: i64,
    pub refunded_quantity: i64,
    pub refunded_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RefundResponse {
    /// `rfd_…`
    pub id: String,
    pub external_id: String,
    pub amount_fen: i64,
    pub shipping_fen: i64,
    #[schema(value_type = Object)]
    pub lines: Value,
    pub reason: Option<String>,
    pub refunded_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct OrderResponse {
    /// `ord_…`
    pub id: String,
    pub external_id: String,
    pub member_id: String,
    pub paid_at: String,
    pub items_total_fen: i64,
    pub order_discount_fen: i64,
    pub shipping_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    /// `paid`, `partially_refunded` or `refunded`.
    pub status: String,
    pub coupons: Vec<String>,
    pub channel: Option<String>,
    pub campaign_id: Option<String>,
    pub kol_id: Option<String>,
    pub items: Vec<OrderItemResponse>,
    pub refunds: Vec<RefundResponse>,
}

impl From<RefundRow> for RefundResponse {
    fn from(r: RefundRow) -> Self {
        Self {
            id: r.id,
            external_id: r.external_id,
            amount_fen: r.amount_fen,
            shipping_fen: r.shipping_fen,
            lines: serde_json::from_str(&r.lines).unwrap_or_default(),
            reason: r.reason,
            refunded_at: r.refunded_at.to_rfc3339(),
        }
    }
}

impl From<RecordedOrder> for OrderResponse {
    fn from(r: RecordedOrder) -> Self {
        let o = r.order;
        Self {
            id: o.id,
            external_id: o.external_id,
            member_id: o.member_id,
            paid_at: o.paid_at.to_rfc3339(),
            items_total_fen: o.items_total_fen,
            order_discount_fen: o.order_discount_fen,
            shipping_fen: o.shipping_fen,
            paid_fen: o.paid_fen,
            refunded_fen: o.refunded_fen,
            status: o.status,
            coupons: serde_json::from_str(&o.coupons).unwrap_or_default(),
            channel: o.touchpoints.channel,
            campaign_id: o.touchpoints.campaign_id,
            kol_id: o.touchpoints.kol_id,
            items: r
                .items
                .into_iter()
                .map(|i| OrderItemResponse {
                    line: i.line,
                    sku: i.sku,
                    category: i.category,
                    name: i.name,
                    quantity: i.quantity,
                    unit_price_fen: i.unit_price_fen,
                    discount_fen: i.discount_fen,
                    net_fen: i.net_fen,
                    refunded_quantity: i.refunded_quantity,
                    refunded_fen: i.refunded_fen,
                })
                .collect(),
            refunds: r.refunds.into_iter().map(Into::into).collect(),
        }
    }
}

fn bad(field: &str, message: String) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_field",
        message,
        field: Some(field.to_owned()),
    }
}

/// Records a paid order (rewards and attribution hang off it).
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = OrderRequest,
    responses((status = 201, body = OrderResponse), (status = 200, body = OrderResponse, description = "the same order was already recorded"),
        (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(raw): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<OrderResponse>)> {
    let touch = touchpoints(&raw).map_err(|(f, m)| bad(f, m))?;
    let paid_at = time(raw.get("paid_at"), "paid_at").map_err(|(f, m)| bad(f, m))?;
    let mut body_only = raw.clone();
    if let Some(map) = body_only.as_object_mut() {
        for field in Touchpoints::FIELDS.into_iter().chain(["paid_at"]) {
            map.remove(field);
        }
    }
    let body: OrderRequestStrict = parse_json(body_only.to_string().as_bytes())?;
    let recorded = orders::record(
        &state.app,
        &caller,
        OrderInput {
            external_id: body.external_id,
            identity_kind: body.buyer.kind,
            identity_value: body.buyer.value,
            paid_at,
            items: body
                .items
                .into_iter()
                .map(|i| NewOrderItem {
                    sku: i.sku,
                    category: i.category,
                    name: i.name,
                    quantity: i.quantity,
                    unit_price_fen: i.unit_price_fen,
                    discount_fen: i.discount_fen,
                })
                .collect(),
            order_discount_fen: body.order_discount_fen,
            shipping_fen: body.shipping_fen,
            paid_fen: body.paid_fen,
            coupons: body.coupons,
            touchpoints: touch,
        },
    )
    .await?;
    let status = if recorded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(recorded.into())))
}

/// The order fields other than touchpoints and time, refusing unknown ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderRequestStrict {
    external_id: String,
    buyer: IdentityInput,
    items: Vec<OrderItemInput>,
    #[serde(default)]
    order_discount_fen: i64,
    #[serde(default)]
    shipping_fen: i64,
    paid_fen: Option<i64>,
    #[serde(default)]
    coupons: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = String, Path, description = "ord_…")),
    responses((status = 200, body = OrderResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderResponse>> {
    Ok(Json(orders::get(&state.app, &caller, &id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineInput {
    pub line: i64,
    pub quantity: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequestBody {
    /// Your refund number: resending the same refund is harmless.
    pub external_id: String,
    /// Units per line; leave out to refund everything not yet refunded, shipping included.
    pub items: Option<Vec<RefundLineInput>>,
    pub reason: Option<String>,
    /// RFC 3339 or epoch milliseconds; default now.
    #[schema(value_type = Option<String>)]
    pub refunded_at: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct RefundResult {
    pub refund: RefundResponse,
    pub order_status: String,
    pub order_refunded_fen: i64,
}

/// Records a full or partial refund; the amount follows from the lines (each unit returns
/// its share of what was paid).
#[utoipa::path(post, path = "/api/v1/orders/{id}/refunds", tag = "orders", request_body = RefundRequestBody, params(("id" = String, Path, description = "ord_…")),
    responses((status = 201, body = RefundResult), (status = 200, body = RefundResult, description = "the same refund was already recorded"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn refund(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RefundRequestBody>,
) -> ApiResult<(StatusCode, Json<RefundResult>)> {
    let refunded_at = time(body.refunded_at.as_ref(), "refunded_at").map_err(|(f, m)| bad(f, m))?;
    let done = orders::refund(
        &state.app,
        &caller,
        &id,
        RefundInput {
            external_id: body.external_id,
            lines: body
                .items
                .map(|items| items.into_iter().map(|i| (i.line, i.quantity)).collect()),
            reason: body.reason,
            refunded_at,
        },
    )
    .await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(RefundResult {
            refund: done.refund.into(),
            order_status: done.order.status,
            order_refunded_fen: done.order.refunded_fen,
        }),
    ))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/orders", post(create))
        .route("/api/v1/orders/{id}", get(get_one))
        .route("/api/v1/orders/{id}/refunds", post(refund))
}
