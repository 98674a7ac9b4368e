use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::segments;
use quanzi_store::SegmentRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{with_idempotency, PageQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::middleware::auth::Caller;
use crate::state::AppState;

/// A condition tree. One key per node: `all`/`any` (lists), `not`, `event`
/// (`{type, within_days, op, count}`), `order` (`{within_days?, op, count}`), `profile`
/// (`{field, op, value}`), `rfm` (`{dimension: r|f|m, op, value}`), `lifecycle`
/// (`{in: [stages]}`), `trait` (`{name, eq|ne|in|exists}`); `op` is eq, ne, gt, gte, lt or lte.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[schema(value_type = Object)]
    pub condition: Value,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewResponse {
    pub count: i64,
    /// Up to 20 matching member ids.
    pub sample: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSegmentRequest {
    pub name: String,
    #[schema(value_type = Object)]
    pub condition: Value,
}

#[derive(Serialize, ToSchema)]
pub struct SegmentResponse {
    /// `seg_…`
    pub id: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub condition: Value,
    pub created_at: String,
    /// When the membership was last materialised (daily, on creation, or on refresh).
    pub refreshed_at: Option<String>,
    pub member_count: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct SegmentList {
    pub items: Vec<SegmentResponse>,
    pub next_cursor: Option<String>,
}

impl From<SegmentRow> for SegmentResponse {
    fn from(row: SegmentRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            condition: serde_json::from_str(&row.definition).unwrap_or(Value::Null),
            created_at: row.created_at.to_rfc3339(),
            refreshed_at: row.refreshed_at.map(|t| t.to_rfc3339()),
            member_count: row.member_count,
        }
    }
}

/// Counts the members a condition matches right now, without saving anything.
#[utoipa::path(post, path = "/api/v1/segments/preview", tag = "segments", request_body = PreviewRequest,
    responses((status = 200, body = PreviewResponse), (status = 400, body = ErrorBody, description = "`field` points at the bad node")),
    security(("bearer" = []), ("session" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<PreviewRequest>,
) -> ApiResult<Json<PreviewResponse>> {
    let preview = segments::preview(&state.app, &caller, &body.condition).await?;
    Ok(Json(PreviewResponse {
        count: preview.count,
        sample: preview.sample,
    }))
}

/// Saves a segment and materialises its members.
#[utoipa::path(post, path = "/api/v1/segments", tag = "segments", request_body = CreateSegmentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = SegmentResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateSegmentRequest>,
) -> ApiResult<(StatusCode, Json<SegmentResponse>)> {
    let row = segments::create(&state.app, &caller, &body.name, &body.condition).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(get, path = "/api/v1/segments", tag = "segments", params(PageQuery),
    responses((status = 200, body = SegmentList)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<SegmentList>> {
    let rows = segments::list(&state.app, &caller, page.after.as_deref(), page.limit()).await?;
    Ok(Json(SegmentList {
        items: rows.items.into_iter().map(Into::into).collect(),
        next_cursor: rows.next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = String, Path, description = "seg_…")),
    responses((status = 200, body = SegmentResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SegmentResponse>> {
    Ok(Json(segments::get(&state.app, &caller, &id).await?.into()))
}

/// Re-materialises the segment now (it is also refreshed daily).
#[utoipa::path(post, path = "/api/v1/segments/{id}/refresh", tag = "segments", params(("id" = String, Path, description = "seg_…")),
    responses((status = 200, body = SegmentResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn refresh(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SegmentResponse>> {
    Ok(Json(
        segments::refresh(&state.app, &caller, &id).await?.into(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The `X-Next-Cursor` of the previous page (10,000 rows per page).
    pub after: Option<String>,
}

/// The materialised members as CSV (`member_id,identities`; platform ids only: phones and
/// emails exist only as keyed hashes). More pages: follow `X-Next-Cursor`.
#[utoipa::path(get, path = "/api/v1/segments/{id}/export.csv", tag = "segments", params(("id" = String, Path, description = "seg_…"), ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn export(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let (csv, next) =
        segments::export_csv(&state.app, &caller, &id, query.after.as_deref()).await?;
    let mut response = ([(CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response();
    if let Some(next) = next.and_then(|n| http::HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert("x-next-cursor", next);
    }
    Ok(response)
}

/// The segments a member is in (as last materialised).
#[utoipa::path(get, path = "/api/v1/members/{id}/segments", tag = "segments", params(("id" = String, Path, description = "mem_…")),
    responses((status = 200, body = SegmentList), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn of_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SegmentList>> {
    let rows = segments::of_member(&state.app, &caller, &id).await?;
    Ok(Json(SegmentList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/segments",
            get(list).merge(with_idempotency(post(create), state)),
        )
        .route("/api/v1/segments/preview", post(preview))
        .route("/api/v1/segments/{id}", get(get_one))
        .route("/api/v1/segments/{id}/refresh", post(refresh))
        .route("/api/v1/segments/{id}/export.csv", get(export))
        .route("/api/v1/members/{id}/segments", get(of_member))
}
