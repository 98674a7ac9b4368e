//! Cart pricing (`POST /api/v1/carts/price`) and checkout locks: the best price the
//! promotions allow, explained line by line, and the coupons it uses held for an unpaid
//! order.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use quanzi_app::services::promotions::checkout::{self, CartInput, CartItem, OfferSource, Quote};
use quanzi_domain::promotions::pricing::{Reason, Stage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::coupons::{coupon, CouponResponse};
use super::with_idempotency;
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartItemBody {
    pub sku: String,
    /// Needed so category scopes and exclusions can apply.
    pub category: String,
    pub unit_price_fen: i64,
    pub quantity: i64,
    /// Margin floor: the line is never sold below this per unit, whatever applies.
    pub floor_unit_fen: Option<i64>,
    /// A flash-sale reservation (`rsv_…`) of this member for this SKU: the line is priced
    /// at the flash price (for at most the reserved quantity) and takes part in no other
    /// promotion. A checkout ties the reservation to its order.
    pub flash_reservation_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceRequest {
    pub member_id: String,
    pub items: Vec<CartItemBody>,
    #[serde(default)]
    pub shipping_fen: i64,
    /// The coupons the shopper chose (`cpn_…`); absent: the best of all their coupons.
    pub coupons: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The storefront's order number; recording the paid order with this `external_id`
    /// marks the coupons used.
    pub order_id: String,
    pub member_id: String,
    pub items: Vec<CartItemBody>,
    #[serde(default)]
    pub shipping_fen: i64,
    pub coupons: Option<Vec<String>>,
    /// How long the coupons stay locked without payment (60–86400, default 1800).
    pub timeout_seconds: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct LineDiscount {
    pub offer_id: String,
    pub fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PricedLineResponse {
    pub line: usize,
    pub sku: String,
    pub list_fen: i64,
    /// Every discount this line bears, by offer.
    pub discounts: Vec<LineDiscount>,
    pub final_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Allocation {
    pub line: usize,
    pub fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AppliedOfferResponse {
    pub offer_id: String,
    pub label: String,
    /// `coupon`, `threshold`, `timed_discount`, `tier` or `flash_sale`.
    pub source: String,
    /// `activity_price`, `tier_discount`, `threshold` or `coupon`: the order they apply in.
    pub stage: String,
    /// Taken off the items; equals the sum of `allocations`.
    pub savings_fen: i64,
    /// Which lines bear it.
    pub allocations: Vec<Allocation>,
    /// Taken off shipping.
    pub shipping_fen: i64,
    /// Points this offer grants (满送积分), paid by the storefront's order flow.
    pub points: i64,
    /// Coupon templates this offer grants (满送券).
    pub gift_coupons: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NotAppliedResponse {
    pub offer_id: String,
    pub label: String,
    pub source: String,
    /// `no_eligible_items`, `below_threshold`, `no_benefit`, `not_combinable`,
    /// `not_better`, or a coupon refusal (`coupon_expired`, `coupon_not_available`,
    /// `coupon_budget_exhausted`, …) for chosen coupons that could not be considered.
    pub reason: String,
    /// For `below_threshold`: how much more (fen or items) would reach it.
    pub missing: Option<i64>,
    /// For `not_combinable`: the applied offer it cannot stack with.
    pub conflicts_with: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PriceResponse {
    pub member_id: String,
    pub subtotal_fen: i64,
    pub discount_fen: i64,
    pub shipping_fen: i64,
    pub shipping_discount_fen: i64,
    /// subtotal − discount + shipping − shipping discount.
    pub total_fen: i64,
    pub lines: Vec<PricedLineResponse>,
    pub applied: Vec<AppliedOfferResponse>,
    pub not_applied: Vec<NotAppliedResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckoutResponse {
    pub order_id: String,
    pub price: PriceResponse,
    /// The coupons now locked for this order.
    pub locked_coupons: Vec<CouponResponse>,
    pub locked_until: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReleasedResponse {
    pub order_id: String,
    pub released_coupons: Vec<CouponResponse>,
}

fn stage(s: Stage) -> &'static str {
    match s {
        Stage::ActivityPrice => "activity_price",
        Stage::TierDiscount => "tier_discount",
        Stage::Threshold => "threshold",
        Stage::Coupon => "coupon",
    }
}

pub(crate) fn describe(quote: &Quote, id: &str) -> (String, String) {
    match quote.offers.get(id) {
        Some((offer, source)) => (
            offer.label.clone(),
            match source {
                OfferSource::Coupon { .. } => "coupon".to_owned(),
                OfferSource::Promotion { kind } => kind.clone(),
                OfferSource::Tier { .. } => "tier".to_owned(),
                OfferSource::Flash { .. } => "flash_sale".to_owned(),
            },
        ),
        None => (id.to_owned(), "coupon".to_owned()),
    }
}

fn price_response(quote: Quote) -> PriceResponse {
    let p = &quote.priced;
    let applied = p
        .applied
        .iter()
        .map(|a| {
            let (label, source) = describe(&quote, &a.offer_id);
            AppliedOfferResponse {
                offer_id: a.offer_id.clone(),
                label,
                source,
                stage: stage(a.stage).to_owned(),
                savings_fen: a.savings_fen,
                allocations: a
                    .allocations
                    .iter()
                    .map(|x| Allocation {
                        line: x.line,
                        fen: x.fen,
                    })
                    .collect(),
                shipping_fen: a.shipping_fen,
                points: a.points,
                gift_coupons: a.gift_coupons.clone(),
            }
        })
        .collect();
    let mut not_applied: Vec<NotAppliedResponse> = p
        .not_applied
        .iter()
        .map(|n| {
            let (label, source) = describe(&quote, &n.offer_id);
            let (reason, missing, conflicts_with) = match &n.reason {
                Reason::NoEligibleItems => ("no_eligible_items", None, None),
                Reason::BelowThreshold { missing } => ("below_threshold", Some(*missing), None),
                Reason::NoBenefit => ("no_benefit", None, None),
                Reason::NotCombinable { with } => ("not_combinable", None, Some(with.clone())),
                Reason::NotBetter => ("not_better", None, None),
            };
            NotAppliedResponse {
                offer_id: n.offer_id.clone(),
                label,
                source,
                reason: reason.to_owned(),
                missing,
                conflicts_with,
            }
        })
        .collect();
    not_applied.extend(
        quote
            .unusable
            .iter()
            .map(|(id, refusal)| NotAppliedResponse {
                offer_id: id.clone(),
                label: id.clone(),
                source: "coupon".to_owned(),
                reason: refusal.code().to_owned(),
                missing: None,
                conflicts_with: None,
            }),
    );
    PriceResponse {
        member_id: quote.member_id.clone(),
        subtotal_fen: p.subtotal_fen,
        discount_fen: p.discount_fen,
        shipping_fen: p.shipping_fen,
        shipping_discount_fen: p.shipping_discount_fen,
        total_fen: p.total_fen,
        lines: p
            .lines
            .iter()
            .map(|l| PricedLineResponse {
                line: l.line,
                sku: l.sku.clone(),
                list_fen: l.list_fen,
                discounts: l
                    .discounts
                    .iter()
                    .map(|(offer_id, fen)| LineDiscount {
                        offer_id: offer_id.clone(),
                        fen: *fen,
                    })
                    .collect(),
                final_fen: l.final_fen,
            })
            .collect(),
        applied,
        not_applied,
    }
}

fn cart(
    member_id: String,
    items: Vec<CartItemBody>,
    shipping_fen: i64,
    coupons: Option<Vec<String>>,
) -> CartInput {
    CartInput {
        member_id,
        items: items
            .into_iter()
            .map(|i| CartItem {
                sku: i.sku,
                category: i.category,
                unit_price_fen: i.unit_price_fen,
                quantity: i.quantity,
                floor_unit_fen: i.floor_unit_fen,
                flash_reservation_id: i.flash_reservation_id,
            })
            .collect(),
        shipping_fen,
        coupons,
    }
}

/// The best price for a member's cart: timed discounts, the tier discount, spend-threshold
/// rules and the member's coupons (or the chosen ones), combined as their stacking rules
/// allow, with every discount explained and the offers left out and why. Deterministic.
#[utoipa::path(post, path = "/api/v1/carts/price", tag = "promotions", request_body = PriceRequest,
    responses((status = 200, body = PriceResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn price(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<PriceRequest>,
) -> ApiResult<Json<PriceResponse>> {
    let quote = checkout::price(
        &state.app,
        &caller,
        cart(body.member_id, body.items, body.shipping_fen, body.coupons),
    )
    .await?;
    Ok(Json(price_response(quote)))
}

/// Prices the cart and locks the coupons the best price uses for an unpaid order. 409
/// `coupon_not_available`, `coupon_limit_reached` or `coupon_budget_exhausted` lock
/// nothing. Calling again for the same order re-prices and replaces its locks.
#[utoipa::path(post, path = "/api/v1/checkouts", tag = "promotions", request_body = CheckoutRequest,
    responses((status = 201, body = CheckoutResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn checkout(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CheckoutRequest>,
) -> ApiResult<(StatusCode, Json<CheckoutResponse>)> {
    let done = checkout::lock(
        &state.app,
        &caller,
        &body.order_id,
        cart(body.member_id, body.items, body.shipping_fen, body.coupons),
        body.timeout_seconds,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CheckoutResponse {
            order_id: done.order_id,
            locked_until: done.locked_until.to_rfc3339(),
            locked_coupons: done.locked.into_iter().map(coupon).collect(),
            price: price_response(done.quote),
        }),
    ))
}

/// Releases the coupons an unpaid order holds.
#[utoipa::path(post, path = "/api/v1/checkouts/{order_id}/cancel", tag = "promotions",
    params(("order_id" = String, Path, description = "the storefront's order number")),
    responses((status = 200, body = ReleasedResponse)), security(("bearer" = []), ("session" = [])))]
pub async fn cancel_checkout(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(order_id): Path<String>,
) -> ApiResult<Json<ReleasedResponse>> {
    let released = checkout::cancel(&state.app, &caller, &order_id).await?;
    Ok(Json(ReleasedResponse {
        order_id,
        released_coupons: released.into_iter().map(coupon).collect(),
    }))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/carts/price", post(price))
        .route("/api/v1/checkouts", with_idempotency(post(checkout), state))
        .route("/api/v1/checkouts/{order_id}/cancel", post(cancel_checkout))
}
