use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::services::operators::{self, NewMember};
use quanzi_store::MembershipRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{with_idempotency, PageQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOperatorRequest {
    pub email: String,
    pub name: String,
    /// At least 10 characters.
    pub password: String,
    /// `owner`, `admin`, `operator`, `analyst` or `partner`.
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct OperatorResponse {
    /// `op_…`
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub joined_at: String,
    pub disabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct OperatorList {
    pub items: Vec<OperatorResponse>,
    pub next_cursor: Option<String>,
}

impl From<MembershipRow> for OperatorResponse {
    fn from(row: MembershipRow) -> Self {
        Self {
            id: row.operator.id.to_string(),
            email: row.operator.email,
            name: row.operator.name,
            role: row.role.as_str().to_owned(),
            joined_at: row.joined_at.to_rfc3339(),
            disabled: row.operator.disabled_at.is_some(),
        }
    }
}

/// Creates an operator account in this workspace.
#[utoipa::path(post, path = "/api/v1/operators", tag = "operators", request_body = CreateOperatorRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = OperatorResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateOperatorRequest>,
) -> ApiResult<(StatusCode, Json<OperatorResponse>)> {
    let member = operators::add(
        &state.app,
        &caller,
        NewMember {
            email: &body.email,
            name: &body.name,
            password: &body.password,
            role: &body.role,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(member.into())))
}

#[utoipa::path(get, path = "/api/v1/operators", tag = "operators", params(PageQuery),
    responses((status = 200, body = OperatorList)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<OperatorList>> {
    let rows = operators::list(&state.app, &caller, page.after.as_deref(), page.limit()).await?;
    Ok(Json(OperatorList {
        items: rows.items.into_iter().map(Into::into).collect(),
        next_cursor: rows.next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/operators/{id}", tag = "operators", params(("id" = String, Path, description = "op_…")),
    responses((status = 200, body = OperatorResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<OperatorResponse>> {
    Ok(Json(operators::get(&state.app, &caller, &id).await?.into()))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/operators",
            get(list).merge(with_idempotency(post(create), state)),
        )
        .route("/api/v1/operators/{id}", get(get_one))
}
