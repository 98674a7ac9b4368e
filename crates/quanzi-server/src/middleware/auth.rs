//! Resolves the caller of every `/api/v1` request (except login) to a [`Principal`] bound to
//! one workspace: `Authorization: Bearer qz_…` for API keys, else the console's session
//! cookie, which must be accompanied by `X-CSRF-Token` on state-changing requests.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use quanzi_app::principal::Principal;
use quanzi_app::services::{api_keys, sessions};
use quanzi_app::Error as AppError;

use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "quanzi_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Only the head is needed (and a body is not `Sync`, so it cannot be borrowed across
    // the awaits below).
    let (mut parts, body) = req.into_parts();
    match resolve(&state, &parts).await {
        Ok(principal) => {
            tracing::Span::current().record("workspace", principal.workspace_id.as_str());
            parts.extensions.insert(principal);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(err) => err.into_response(),
    }
}

async fn resolve(state: &AppState, req: &Parts) -> Result<Principal, ApiError> {
    if let Some(value) = req.headers.get(AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthenticated(
                "the Authorization header must be `Bearer <API key>`",
            ))?;
        return Ok(api_keys::authenticate(&state.app, token.trim()).await?);
    }
    let Some(cookie) = session_cookie(&req.headers) else {
        return Err(AppError::Unauthenticated(
            "send an API key as `Authorization: Bearer qz_…` or log in first",
        )
        .into());
    };
    let session = sessions::authenticate(&state.app, &cookie).await?;
    let safe = matches!(req.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let presented = req
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !sessions::csrf_matches(&session.csrf_token, presented) {
            return Err(ApiError::CsrfMissing);
        }
    }
    Ok(session.principal)
}

pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The authenticated caller, for handlers behind [`authenticate`].
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or(ApiError::App(AppError::Unauthenticated(
                "authentication required",
            )))
    }
}
