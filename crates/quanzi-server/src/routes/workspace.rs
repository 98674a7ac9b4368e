use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use quanzi_app::services::workspaces;
use quanzi_store::WorkspaceRow;
use serde::Serialize;
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

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new().route("/api/v1/workspace", get(current))
}
