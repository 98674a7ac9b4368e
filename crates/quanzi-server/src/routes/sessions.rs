//! Console login. `POST /api/v1/sessions` sets an HttpOnly session cookie and returns the
//! CSRF token that state-changing requests made with that cookie must echo.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use quanzi_app::principal::Actor;
use quanzi_app::services::sessions;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::middleware::auth::{Caller, SESSION_COOKIE};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Which of the operator's workspaces to open (default: the first they joined).
    pub workspace_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MembershipSummary {
    pub workspace_id: String,
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    pub operator_id: String,
    pub email: String,
    pub name: String,
    pub workspace_id: String,
    pub role: String,
    pub workspaces: Vec<MembershipSummary>,
    /// Send as `X-CSRF-Token` on every non-GET request made with the session cookie.
    pub csrf_token: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CurrentCaller {
    pub workspace_id: String,
    /// `api_key` or `operator`.
    pub kind: String,
    pub id: String,
    pub role: String,
}

/// Logs an operator in. Repeated failures for one email or from one address are throttled
/// (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = LoginRequest,
    responses((status = 201, body = SessionResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let logged_in = sessions::login(
        &state.app,
        &body.email,
        &body.password,
        &address,
        body.workspace_id.as_deref(),
    )
    .await?;
    let cookie = session_set_cookie(&state, &logged_in);
    let body = SessionResponse {
        operator_id: logged_in.operator.id.to_string(),
        email: logged_in.operator.email,
        name: logged_in.operator.name,
        workspace_id: logged_in.session.workspace_id.to_string(),
        role: logged_in.role.as_str().to_owned(),
        workspaces: logged_in
            .workspaces
            .into_iter()
            .map(|(id, role)| MembershipSummary {
                workspace_id: id.to_string(),
                role: role.as_str().to_owned(),
            })
            .collect(),
        csrf_token: logged_in.session.csrf_token,
        expires_at: logged_in.session.expires_at.to_rfc3339(),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    let value = HeaderValue::from_str(&cookie)
        .map_err(|e| ApiError::App(quanzi_app::Error::Internal(e.into())))?;
    response.headers_mut().insert(SET_COOKIE, value);
    Ok(response)
}

/// The `Set-Cookie` value that carries a new session (shared with the console's login).
pub(crate) fn session_set_cookie(state: &AppState, logged_in: &sessions::LoggedIn) -> String {
    let max_age = logged_in
        .session
        .expires_at
        .since(logged_in.session.created_at)
        .as_secs();
    let secure = if state.app.config.auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        logged_in.token
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub(crate) const CLEAR_SESSION_COOKIE: &str =
    "quanzi_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0";

/// The peer's IP address (the login throttle counts failures per address). Absent when
/// the app is driven without a socket, as in unit tests.
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string())
                .unwrap_or_else(|| "unknown".to_owned()),
        ))
    }
}

/// Who the caller is: the API key or operator behind this request.
#[utoipa::path(get, path = "/api/v1/sessions/current", tag = "sessions",
    responses((status = 200, body = CurrentCaller), (status = 401, body = ErrorBody)), security(("bearer" = []), ("session" = [])))]
pub async fn current(Caller(caller): Caller) -> Json<CurrentCaller> {
    let (kind, id) = match &caller.actor {
        Actor::ApiKey { id, .. } => ("api_key", id.to_string()),
        Actor::Operator { id, .. } => ("operator", id.to_string()),
        Actor::Cli => ("cli", "cli".to_owned()),
    };
    Json(CurrentCaller {
        workspace_id: caller.workspace_id.to_string(),
        kind: kind.to_owned(),
        id,
        role: caller.role().as_str().to_owned(),
    })
}

/// Ends the operator's session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions",
    responses((status = 204)), security(("session" = [])))]
pub async fn logout(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Response> {
    sessions::logout(&state.app, &caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, HeaderValue::from_static(CLEAR_SESSION_COOKIE));
    Ok(response)
}

/// Login is the one API route without authentication.
pub fn public_router() -> Router<AppState> {
    Router::new().route("/api/v1/sessions", post(login))
}

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new().route("/api/v1/sessions/current", get(current).delete(logout))
}
