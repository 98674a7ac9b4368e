//! Every request gets an id (`x-request-id`, kept if the client sent a sane one), echoed
//! in the response, recorded in the trace span, and written into server-error bodies so a
//! user's report can be matched to the log line.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use quanzi_domain::ids::random_base32;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::error::{ErrorBody, ErrorDetail};

#[derive(Clone, Copy, Default)]
pub struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&format!("req_{}", random_base32(20)))
            .ok()
            .map(RequestId::new)
    }
}

/// Replaces the body of any 5xx (ours, or a caught panic's plain text) with the standard
/// error shape carrying the request id.
pub async fn stamp_server_errors(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(req).await;
    if !response.status().is_server_error() {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let message = if parts.status == StatusCode::SERVICE_UNAVAILABLE {
        "the service is not ready; retry shortly"
    } else {
        "something went wrong on our side"
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code: if parts.status == StatusCode::SERVICE_UNAVAILABLE {
                "unavailable"
            } else {
                "internal"
            }
            .to_owned(),
            message: message.to_owned(),
            field: None,
            request_id: id,
        },
    };
    parts.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    Response::from_parts(parts, Body::from(bytes))
}
