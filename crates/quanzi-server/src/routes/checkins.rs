//! Daily check-in (签到): check in today, make up a missed day, read the calendar.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::loyalty::checkin;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct BonusView {
    /// `consecutive` (streak ladder) or `cumulative` (check-ins this cycle).
    pub kind: &'static str,
    /// The rung reached, e.g. 7 for the day-7 bonus.
    pub rung: u32,
    pub points: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CheckinResponse {
    pub member_id: String,
    /// The local calendar day (`YYYY-MM-DD`, workspace time zone).
    pub date: String,
    /// Consecutive days including this one.
    pub streak: u32,
    /// Check-ins in the current cycle.
    pub cycle_count: u32,
    /// Points credited.
    pub points: i64,
    pub bonuses: Vec<BonusView>,
    /// What a make-up cost.
    pub cost: i64,
}

fn response(c: checkin::CheckedIn) -> CheckinResponse {
    CheckinResponse {
        member_id: c.member_id,
        date: c.date.to_string(),
        streak: c.streak,
        cycle_count: c.cycle_count,
        points: c.points,
        bonuses: c
            .bonuses
            .into_iter()
            .map(|(kind, rung, points)| BonusView { kind, rung, points })
            .collect(),
        cost: c.cost,
    }
}

/// Checks the member in for today; a second check-in the same local day is 409
/// `already_checked_in`.
#[utoipa::path(post, path = "/api/v1/members/{id}/checkins", tag = "loyalty", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = CheckinResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn check_in(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CheckinResponse>> {
    Ok(Json(response(
        checkin::check_in(&state.app, &caller, &id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MakeupRequest {
    /// The missed day, `YYYY-MM-DD`.
    pub date: String,
}

/// Makes up a missed day (补签) for the configured cost in points.
#[utoipa::path(post, path = "/api/v1/members/{id}/checkins/makeup", tag = "loyalty", request_body = MakeupRequest,
    params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = CheckinResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn make_up(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MakeupRequest>,
) -> ApiResult<Json<CheckinResponse>> {
    Ok(Json(response(
        checkin::make_up(&state.app, &caller, &id, &body.date).await?,
    )))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// First day to list (`YYYY-MM-DD`); default the first of this month.
    pub since: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckinDay {
    pub date: String,
    pub makeup: bool,
    pub points: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarResponse {
    pub member_id: String,
    pub today: String,
    /// The current streak (one that ended yesterday still counts until today is missed).
    pub streak: u32,
    pub days: Vec<CheckinDay>,
}

#[utoipa::path(get, path = "/api/v1/members/{id}/checkins", tag = "loyalty", params(("id" = String, Path, description = "mem_…"), CalendarQuery),
    responses((status = 200, body = CalendarResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn calendar(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(query): Query<CalendarQuery>,
) -> ApiResult<Json<CalendarResponse>> {
    let c = checkin::calendar(&state.app, &caller, &id, query.since.as_deref()).await?;
    Ok(Json(CalendarResponse {
        member_id: c.member_id,
        today: c.today.to_string(),
        streak: c.streak,
        days: c
            .days
            .into_iter()
            .map(|d| CheckinDay {
                date: d.day,
                makeup: d.makeup,
                points: d.points,
            })
            .collect(),
    }))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/members/{id}/checkins",
            get(calendar).post(check_in),
        )
        .route("/api/v1/members/{id}/checkins/makeup", post(make_up))
}
