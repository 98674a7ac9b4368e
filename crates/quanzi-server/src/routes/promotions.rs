//! Spend-threshold rules (满减送) and timed SKU discounts (限时折扣).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::promotions::rules::{self, NewPromotion, Promotion};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::promotions::pricing::{Offer, OfferKind, ThresholdBasis, ThresholdTier};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::coupons::{ScopeBody, StackingBody};
use super::flash_sales::{false_original, price_checks, PriceCheckResponse};
use super::required_time;
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct TierBody {
    /// Reached when the in-scope amount (fen) or item count is at least this.
    pub at: i64,
    #[serde(default)]
    pub amount_off_fen: i64,
    /// Percent off the in-scope amount (0–100).
    #[serde(default)]
    pub percent_off: u32,
    #[serde(default)]
    pub free_shipping: bool,
    /// Points granted (满送积分).
    #[serde(default)]
    pub points: i64,
    /// Coupon templates granted (满送券).
    #[serde(default)]
    pub gift_coupons: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePromotionRequest {
    pub name: String,
    /// `threshold` (满减送) or `timed_discount` (限时折扣).
    pub kind: String,
    pub starts_at: String,
    pub ends_at: String,
    /// Threshold: `amount` (default) or `quantity`.
    pub basis: Option<String>,
    /// Threshold: ascending tiers; the highest reached applies.
    #[serde(default)]
    pub tiers: Vec<TierBody>,
    /// Timed discount: SKU → discounted unit price (fen).
    #[serde(default)]
    pub prices: BTreeMap<String, i64>,
    /// Timed discount: SKU → the crossed-out "original" price shown, checked against the
    /// lowest price the SKU sold for in the 7 days before the start.
    #[serde(default)]
    pub original_prices: BTreeMap<String, i64>,
    /// `refuse` (default) or `flag` a false original price.
    pub on_false_original: Option<String>,
    pub scope: Option<ScopeBody>,
    /// Default: exclusive.
    pub stacking: Option<StackingBody>,
}

#[derive(Serialize, ToSchema)]
pub struct PromotionResponse {
    /// `prm_…`
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub starts_at: String,
    pub ends_at: String,
    pub basis: Option<String>,
    pub tiers: Vec<TierBody>,
    pub prices: BTreeMap<String, i64>,
    pub original_prices: BTreeMap<String, i64>,
    pub scope: ScopeBody,
    pub stacking: StackingBody,
    /// Filled on creation for timed discounts with original prices.
    pub price_checks: Vec<PriceCheckResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct PromotionList {
    pub items: Vec<PromotionResponse>,
}

fn response(p: Promotion) -> PromotionResponse {
    let (basis, tiers, prices) = match &p.offer.kind {
        OfferKind::Threshold { basis, tiers } => (
            Some(
                match basis {
                    ThresholdBasis::Amount => "amount",
                    ThresholdBasis::Quantity => "quantity",
                }
                .to_owned(),
            ),
            tiers
                .iter()
                .map(|t| TierBody {
                    at: t.at,
                    amount_off_fen: t.amount_off_fen,
                    percent_off: t.percent_off,
                    free_shipping: t.free_shipping,
                    points: t.points,
                    gift_coupons: t.gift_coupons.clone(),
                })
                .collect(),
            BTreeMap::new(),
        ),
        OfferKind::ActivityPrice { prices } => (None, Vec::new(), prices.clone()),
        _ => (None, Vec::new(), BTreeMap::new()),
    };
    PromotionResponse {
        id: p.row.id,
        name: p.row.name,
        kind: p.row.kind,
        status: p.row.status,
        starts_at: p.row.starts_at.to_rfc3339(),
        ends_at: p.row.ends_at.to_rfc3339(),
        basis,
        tiers,
        prices,
        original_prices: p.original_prices,
        scope: ScopeBody::from_domain(&p.offer.scope),
        stacking: StackingBody::from_domain(&p.offer.stacking),
        price_checks: price_checks(p.price_checks),
    }
}

/// Creates a spend-threshold rule or a timed discount (operator role).
#[utoipa::path(post, path = "/api/v1/promotions", tag = "promotions", request_body = CreatePromotionRequest,
    responses((status = 201, body = PromotionResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreatePromotionRequest>,
) -> ApiResult<(StatusCode, Json<PromotionResponse>)> {
    let kind = match body.kind.as_str() {
        "threshold" => {
            if !body.prices.is_empty() || !body.original_prices.is_empty() {
                return Err(
                    InvalidInput::new("prices", "a threshold rule has tiers, not prices").into(),
                );
            }
            OfferKind::Threshold {
                basis: match body.basis.as_deref() {
                    None | Some("amount") => ThresholdBasis::Amount,
                    Some("quantity") => ThresholdBasis::Quantity,
                    Some(other) => {
                        return Err(InvalidInput::new(
                            "basis",
                            format!("`{other}` is not a basis: use amount or quantity"),
                        )
                        .into())
                    }
                },
                tiers: body
                    .tiers
                    .into_iter()
                    .map(|t| ThresholdTier {
                        at: t.at,
                        amount_off_fen: t.amount_off_fen,
                        percent_off: t.percent_off,
                        free_shipping: t.free_shipping,
                        points: t.points,
                        gift_coupons: t.gift_coupons,
                    })
                    .collect(),
            }
        }
        "timed_discount" => {
            if !body.tiers.is_empty() || body.basis.is_some() {
                return Err(
                    InvalidInput::new("tiers", "a timed discount has prices, not tiers").into(),
                );
            }
            OfferKind::ActivityPrice {
                prices: body.prices,
            }
        }
        other => {
            return Err(InvalidInput::new(
                "kind",
                format!("`{other}` is not a promotion kind: use threshold or timed_discount"),
            )
            .into())
        }
    };
    let offer = Offer {
        id: "new".into(),
        label: body.name.clone(),
        kind,
        scope: ScopeBody::into_domain(body.scope),
        stacking: StackingBody::into_domain(body.stacking, "stacking")?,
    };
    let created = rules::create(
        &state.app,
        &caller,
        NewPromotion {
            name: body.name,
            starts_at: required_time("starts_at", &body.starts_at)?,
            ends_at: required_time("ends_at", &body.ends_at)?,
            offer,
            original_prices: body.original_prices,
            on_false_original: false_original(body.on_false_original.as_deref())?,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(response(created))))
}

#[utoipa::path(get, path = "/api/v1/promotions", tag = "promotions",
    responses((status = 200, body = PromotionList)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<PromotionList>> {
    let items = rules::list(&state.app, &caller).await?;
    Ok(Json(PromotionList {
        items: items.into_iter().map(response).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/promotions/{id}/pause", tag = "promotions", params(("id" = String, Path, description = "prm_…")),
    responses((status = 200, body = PromotionResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn pause(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PromotionResponse>> {
    Ok(Json(response(
        rules::set_active(&state.app, &caller, &id, false).await?,
    )))
}

#[utoipa::path(post, path = "/api/v1/promotions/{id}/resume", tag = "promotions", params(("id" = String, Path, description = "prm_…")),
    responses((status = 200, body = PromotionResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn resume(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PromotionResponse>> {
    Ok(Json(response(
        rules::set_active(&state.app, &caller, &id, true).await?,
    )))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/promotions", get(list).post(create))
        .route("/api/v1/promotions/{id}/pause", post(pause))
        .route("/api/v1/promotions/{id}/resume", post(resume))
}
