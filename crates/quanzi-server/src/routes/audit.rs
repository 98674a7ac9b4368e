use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use quanzi_app::services::workspaces;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiQuery;
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct AuditEntryResponse {
    pub id: String,
    /// `op_…`, `key_…` or `cli`.
    pub actor: String,
    /// e.g. `api_key.revoke`.
    pub action: String,
    pub target: String,
    /// Facts about the change (never secrets).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEntryResponse>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The `next_cursor` of the previous page (entries come newest first).
    pub before: Option<String>,
    pub limit: Option<u32>,
}

/// Who did what in this workspace, newest first.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "workspace", params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 403, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditList>> {
    let page = workspaces::audit_log(
        &state.app,
        &caller,
        query.before.as_deref(),
        query.limit.unwrap_or(50),
    )
    .await?;
    Ok(Json(AuditList {
        items: page
            .items
            .into_iter()
            .map(|e| AuditEntryResponse {
                id: e.id,
                actor: e.actor,
                action: e.action,
                target: e.target,
                details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
                at: e.at.to_rfc3339(),
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new().route("/api/v1/audit-log", get(list))
}
