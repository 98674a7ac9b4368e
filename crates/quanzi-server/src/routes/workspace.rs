use axum::extract::State;
use axum::routing::get;

use crate::json::ApiJson;
use axum::{Json, Router};
use quanzi_app::services::workspaces;
use quanzi_store::WorkspaceRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct WorkspaceResponse {
    /// `ws_…`
    pub id: String,
    pub name: String,
    /// IANA zone used for calendar rules (check-in days, month ends).
    pub time_zone: String,
    pub created_at: String,
}

impl From<WorkspaceRow> for WorkspaceResponse {
    fn from(row: WorkspaceRow) -> Self {
        Self {
            id: row.id.to_string(),
            name: row.name,
            time_zone: row.time_zone,
            created_at: row.created_at.to_rfc3339(),
        }
    }
}

/// The workspace the caller belongs to.
#[utoipa::path(get, path = "/api/v1/workspace", tag = "workspace",
    responses((status = 200, body = WorkspaceResponse), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn current(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<WorkspaceResponse>> {
    Ok(Json(workspaces::get(&state.app, &caller).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkspaceRequest {
    /// A zone without daylight saving time (`Asia/Shanghai`, `Asia/Tokyo`, `UTC`, …) or a
    /// fixed offset such as `+08:00`.
    pub time_zone: String,
}

/// Changes the workspace's time zone (admin role).
#[utoipa::path(patch, path = "/api/v1/workspace", tag = "workspace", request_body = UpdateWorkspaceRequest,
    responses((status = 200, body = WorkspaceResponse), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<UpdateWorkspaceRequest>,
) -> ApiResult<Json<WorkspaceResponse>> {
    Ok(Json(
        workspaces::set_time_zone(&state.app, &caller, &body.time_zone)
            .await?
            .into(),
    ))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new().route("/api/v1/workspace", get(current).patch(update))
}
