use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use quanzi_app::services::api_keys;
use quanzi_store::ApiKeyRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{with_idempotency, PageQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::middleware::auth::Caller;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// What the key is for, e.g. `mini-program backend`.
    pub name: String,
    /// Any of `ingest`, `storefront`, `admin`.
    pub scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyResponse {
    /// `key_…`
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKeyResponse {
    #[serde(flatten)]
    pub key: ApiKeyResponse,
    /// The key itself (`qz_…`). Shown this once; only a hash is kept.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyResponse>,
    pub next_cursor: Option<String>,
}

impl From<ApiKeyRow> for ApiKeyResponse {
    fn from(row: ApiKeyRow) -> Self {
        Self {
            id: row.id.to_string(),
            name: row.name,
            scopes: row.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_by: row.created_by.map(|id| id.to_string()),
            created_at: row.created_at.to_rfc3339(),
            last_used_at: row.last_used_at.map(|t| t.to_rfc3339()),
            revoked_at: row.revoked_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// Creates an API key and shows its secret once. Not idempotent by design: a stored
/// response would keep the secret, so a retried create makes a second key (revoke one).
#[utoipa::path(post, path = "/api/v1/keys", tag = "keys", request_body = CreateKeyRequest,
    responses((status = 201, body = CreatedKeyResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedKeyResponse>)> {
    let created = api_keys::create(&state.app, &caller, &body.name, &body.scopes).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyResponse {
            key: created.key.into(),
            secret: created.token,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/keys", tag = "keys", params(PageQuery),
    responses((status = 200, body = ApiKeyList)), security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<ApiKeyList>> {
    let page_rows =
        api_keys::list(&state.app, &caller, page.after.as_deref(), page.limit()).await?;
    Ok(Json(ApiKeyList {
        items: page_rows.items.into_iter().map(Into::into).collect(),
        next_cursor: page_rows.next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/keys/{id}", tag = "keys", params(("id" = String, Path, description = "key_…")),
    responses((status = 200, body = ApiKeyResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKeyResponse>> {
    Ok(Json(api_keys::get(&state.app, &caller, &id).await?.into()))
}

/// Revokes a key at once; revoking again changes nothing.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys", params(("id" = String, Path, description = "key_…")),
    responses((status = 200, body = ApiKeyResponse), (status = 404, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKeyResponse>> {
    Ok(Json(
        api_keys::revoke(&state.app, &caller, &id).await?.into(),
    ))
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/keys", get(list).post(create))
        .route(
            "/api/v1/keys/{id}",
            get(get_one).merge(with_idempotency(axum::routing::delete(revoke), state)),
        )
}
