//! `Idempotency-Key` for state-changing routes. With the header, the first request claims the
//! key (scoped by workspace) and its response is stored; the same key and the same request
//! get that response again (with `Idempotent-Replayed: true`), the same key with a different
//! request gets 422, and a key whose first request is still running gets 409. Responses worth
//! retrying (5xx, 409, 429) are not stored: the key is released instead.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use quanzi_app::principal::Principal;
use quanzi_domain::idempotency::{should_store, IdempotencyKey, RequestFingerprint};
use quanzi_store::{ClaimOutcome, StoredResponse};

use crate::error::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
/// Responses larger than this are not stored; the key is released so a retry re-executes.
const MAX_STORED_RESPONSE: usize = 1024 * 1024;

pub async fn idempotent(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match run(state, req, next).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn run(state: AppState, req: Request, next: Next) -> Result<Response, ApiError> {
    let Some(raw_key) = req.headers().get(HEADER) else {
        return Ok(next.run(req).await);
    };
    let key = IdempotencyKey::parse(raw_key.to_str().unwrap_or(""))
        .map_err(|e| ApiError::App(e.into()))?;
    let principal = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or(ApiError::App(quanzi_app::Error::Unauthenticated(
            "authentication required",
        )))?;

    let limit = state.app.config.server.body_limit_bytes;
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit })?;
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let fingerprint = RequestFingerprint::of(parts.method.as_str(), path, &bytes);

    let config = &state.app.config.idempotency;
    let store = &state.app.store;
    let outcome = store
        .claim_idempotency_key(
            &principal.workspace_id,
            &key,
            &fingerprint,
            state.app.clock.now(),
            Duration::from_secs(config.lock_seconds),
            Duration::from_secs(config.ttl_hours * 3600),
        )
        .await
        .map_err(|e| ApiError::App(e.into()))?;
    match outcome {
        ClaimOutcome::Replay(stored) => return Ok(replay(stored)),
        ClaimOutcome::Mismatch => return Err(ApiError::IdempotencyMismatch),
        ClaimOutcome::InFlight => return Err(ApiError::IdempotencyInFlight),
        ClaimOutcome::Claimed => {}
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    if !should_store(status.as_u16()) {
        store
            .release_idempotency_key(&principal.workspace_id, &key)
            .await
            .map_err(|e| ApiError::App(e.into()))?;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_STORED_RESPONSE).await else {
        store
            .release_idempotency_key(&principal.workspace_id, &key)
            .await
            .map_err(|e| ApiError::App(e.into()))?;
        return Err(ApiError::App(quanzi_app::Error::Internal(anyhow::anyhow!(
            "response too large to store for idempotency"
        ))));
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        content_type: parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    store
        .complete_idempotency_key(&principal.workspace_id, &key, &stored)
        .await
        .map_err(|e| ApiError::App(e.into()))?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    if let Some(value) = stored
        .content_type
        .and_then(|ct| HeaderValue::from_str(ct.as_str()).ok())
    {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
