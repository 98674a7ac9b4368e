//! Refuses bodies over the configured size with a 413 in our error shape. A declared
//! `Content-Length` is refused before any byte is read; an undeclared (chunked) body is cut
//! off by axum's `DefaultBodyLimit` while it is read, which [`crate::json::ApiJson`] maps to
//! the same 413.

use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Clone, Copy)]
struct BodyLimit(usize);

pub async fn enforce(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let limit = state.app.config.server.body_limit_bytes;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return ApiError::PayloadTooLarge { limit }.into_response();
    }
    req.extensions_mut().insert(BodyLimit(limit));
    next.run(req).await
}

/// The limit in force for this request (for error messages).
pub fn limit_of(req: &Request) -> usize {
    req.extensions()
        .get::<BodyLimit>()
        .map(|l| l.0)
        .unwrap_or(0)
}
