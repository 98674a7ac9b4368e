//! The `/api/v1` routes, one module per area, each exporting `router(&AppState)`.
//! Wire types (requests and responses) live here, next to their handlers, and convert
//! from app/store types by hand: the JSON shape is a contract, not a side effect of a struct.

pub mod alerts;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod bargains;
pub mod carts;
pub mod checkins;
pub mod coupons;
pub mod distribution;
pub mod events;
pub mod experiments;
pub mod flash_sales;
pub mod fraud;
pub mod group_buys;
pub mod jobs;
pub mod loyalty;
pub mod mall;
pub mod members;
pub mod operators;
pub mod orders;
pub mod privacy;
pub mod promotions;
pub mod referrals;
pub mod rfm;
pub mod segments;
pub mod sessions;
pub mod tags;
pub mod tiers;
pub mod workspace;

use axum::middleware::from_fn_with_state;
use axum::routing::MethodRouter;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::middleware::idempotency::idempotent;
use crate::state::AppState;

/// Cursor pagination shared by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(50)
    }
}

/// An optional RFC 3339 time from a request field.
pub(crate) fn optional_time(
    field: &str,
    raw: Option<&str>,
) -> Result<Option<quanzi_domain::time::Timestamp>, quanzi_domain::input::InvalidInput> {
    raw.map(|raw| required_time(field, raw)).transpose()
}

/// An RFC 3339 time from a request field.
pub(crate) fn required_time(
    field: &str,
    raw: &str,
) -> Result<quanzi_domain::time::Timestamp, quanzi_domain::input::InvalidInput> {
    quanzi_domain::time::Timestamp::parse_rfc3339(raw).ok_or_else(|| {
        quanzi_domain::input::InvalidInput::new(
            field,
            format!("`{raw}` is not an RFC 3339 time such as 2026-11-11T00:00:00+08:00"),
        )
    })
}

/// Makes a state-changing route honour `Idempotency-Key`.
pub fn with_idempotency(route: MethodRouter<AppState>, state: &AppState) -> MethodRouter<AppState> {
    route.layer(from_fn_with_state(state.clone(), idempotent))
}
