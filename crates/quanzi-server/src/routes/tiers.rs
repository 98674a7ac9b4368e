//! A member's tier (会员等级): where they stand, what it gives, how far to the next.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use quanzi_app::services::loyalty::tiers;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct BenefitsView {
    /// Basis points off (200 = 2 % off, 98折).
    pub discount_bp: u32,
    /// 100 = 1×.
    pub points_multiplier_percent: u32,
    pub free_shipping: bool,
    pub dedicated_service: bool,
    pub birthday_gift_points: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TierResponse {
    pub member_id: String,
    /// e.g. `gold`.
    pub tier: String,
    /// e.g. `黄金`.
    pub name: String,
    pub benefits: BenefitsView,
    /// Growth over the member's whole history.
    pub lifetime_growth: i64,
    /// Growth in the review window (equal to lifetime growth when tiers never go down).
    pub window_growth: i64,
    pub next_tier: Option<String>,
    /// Growth still needed for the next tier.
    pub to_next: Option<i64>,
}

/// The member's tier, re-decided first (an upgrade earned since takes effect now).
#[utoipa::path(get, path = "/api/v1/members/{id}/tier", tag = "loyalty", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = TierResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn of_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TierResponse>> {
    let (standing, program) = tiers::standing(&state.app, &caller, &id).await?;
    let growth = if program.downgrade == Default::default() {
        standing.lifetime_growth
    } else {
        standing.window_growth
    };
    let next = program
        .ladder
        .tiers()
        .iter()
        .find(|t| t.threshold > standing.tier.threshold);
    let b = &standing.tier.benefits;
    Ok(Json(TierResponse {
        member_id: standing.member_id.clone(),
        tier: standing.tier.code.clone(),
        name: standing.tier.name.clone(),
        benefits: BenefitsView {
            discount_bp: b.discount_bp,
            points_multiplier_percent: b.points_multiplier_percent,
            free_shipping: b.free_shipping,
            dedicated_service: b.dedicated_service,
            birthday_gift_points: b.birthday_gift_points,
        },
        lifetime_growth: standing.lifetime_growth,
        window_growth: standing.window_growth,
        next_tier: next.map(|t| t.code.clone()),
        to_next: next.map(|t| (t.threshold - growth).max(0)),
    }))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new().route("/api/v1/members/{id}/tier", get(of_member))
}
