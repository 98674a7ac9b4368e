use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::jobs;
use quanzi_store::JobRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::with_idempotency;
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeRequest {
    /// How many probe jobs, 1–1000.
    pub count: u32,
    /// Milliseconds each pretends to work, 0–60000 (default 0).
    #[serde(default)]
    pub work_ms: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ProbeResponse {
    pub job_ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct JobResponse {
    /// `job_…`
    pub id: String,
    pub kind: String,
    /// `queued`, `running`, `done` or `dead`.
    pub state: String,
    pub run_at: String,
    pub attempts: i64,
    pub max_attempts: i64,
    /// The node holding the job while it runs.
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub items: Vec<JobResponse>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only jobs in this state.
    pub state: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl From<JobRow> for JobResponse {
    fn from(row: JobRow) -> Self {
        Self {
            id: row.id.to_string(),
            kind: row.kind,
            state: row.state.as_str().to_owned(),
            run_at: row.run_at.to_rfc3339(),
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            locked_by: row.locked_by,
            last_error: row.last_error,
            created_at: row.created_at.to_rfc3339(),
            finished_at: row.finished_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// Enqueues diagnostic probe jobs: each waits `work_ms`, then records one execution. Use
/// it to see that workers are running and share the work.
#[utoipa::path(post, path = "/api/v1/jobs/probes", tag = "jobs", request_body = ProbeRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 202, body = ProbeResponse), (status = 400, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn enqueue_probes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ProbeRequest>,
) -> ApiResult<(StatusCode, Json<ProbeResponse>)> {
    let ids = jobs::enqueue_probes(&state.app, &caller, body.count, body.work_ms).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ProbeResponse {
            job_ids: ids.into_iter().map(|id| id.to_string()).collect(),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(JobQuery),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> ApiResult<Json<JobList>> {
    let rows = jobs::list(
        &state.app,
        &caller,
        query.state.as_deref(),
        query.after.as_deref(),
        query.limit.unwrap_or(50),
    )
    .await?;
    Ok(Json(JobList {
        items: rows.items.into_iter().map(Into::into).collect(),
        next_cursor: rows.next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "job_…")),
    responses((status = 200, body = JobResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<JobResponse>> {
    Ok(Json(jobs::get(&state.app, &caller, &id).await?.into()))
}

/// Puts a dead job back in the queue with fresh attempts.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", params(("id" = String, Path, description = "job_…")),
    responses((status = 200, body = JobResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<JobResponse>> {
    Ok(Json(jobs::retry(&state.app, &caller, &id).await?.into()))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs", get(list))
        .route(
            "/api/v1/jobs/probes",
            with_idempotency(post(enqueue_probes), state),
        )
        .route("/api/v1/jobs/{id}", get(get_one))
        .route(
            "/api/v1/jobs/{id}/retry",
            with_idempotency(post(retry), state),
        )
}
