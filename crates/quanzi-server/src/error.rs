//! The one error type of the HTTP layer and its one JSON shape:
//! `{"error":{"code":"…","message":"…","field":"…"}}`.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quanzi_app::Error as AppError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    /// The body is not JSON at all, or not JSON of the expected shape.
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    PayloadTooLarge {
        limit: usize,
    },
    UnsupportedMediaType,
    RouteNotFound {
        method: String,
        path: String,
    },
    MethodNotAllowed,
    IdempotencyMismatch,
    IdempotencyInFlight,
    CsrfMissing,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable, e.g. `invalid_field`, `not_found`, `forbidden`.
    pub code: String,
    /// What went wrong and what to do about it.
    pub message: String,
    /// The input field at fault, when there is one (`scopes[1]`, `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Set on server errors: quote it when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError::App(err)
    }
}

/// Input checked at the edge (into domain types) fails like input checked in a use case.
impl From<quanzi_domain::input::InvalidInput> for ApiError {
    fn from(err: quanzi_domain::input::InvalidInput) -> Self {
        ApiError::App(AppError::Invalid(err))
    }
}

pub fn error_response(
    status: StatusCode,
    code: &str,
    message: String,
    field: Option<String>,
) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message,
            field,
            request_id: None,
        },
    };
    (status, axum::Json(body)).into_response()
}

/// What an error tells the caller: status, stable code, message, the field at fault and
/// when to retry. The API sends it as JSON; the console shows it on a page.
pub(crate) struct ErrorParts {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub(crate) fn parts(self) -> ErrorParts {
        let (status, code, message, field, retry_after): (
            StatusCode,
            &'static str,
            String,
            Option<String>,
            Option<Duration>,
        ) = match self {
            ApiError::App(err) => match err {
                AppError::Invalid(invalid) => (
                    StatusCode::BAD_REQUEST,
                    "invalid_field",
                    invalid.message().to_owned(),
                    Some(invalid.field().to_owned()),
                    None,
                ),
                AppError::NotFound { what } => (
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("no such {what} in this workspace"),
                    None,
                    None,
                ),
                AppError::Conflict { code, message } => {
                    (StatusCode::CONFLICT, code, message, None, None)
                }
                AppError::Unauthenticated(message) => (
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    message.to_owned(),
                    None,
                    None,
                ),
                AppError::Forbidden(message) => {
                    (StatusCode::FORBIDDEN, "forbidden", message, None, None)
                }
                AppError::RateLimited { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    AppError::RateLimited { retry_after }.to_string(),
                    None,
                    Some(retry_after),
                ),
                AppError::Internal(err) => {
                    // Logged inside the request's span, which carries the request id; the
                    // client learns nothing internal.
                    tracing::error!(error = %format!("{err:#}"), "internal error");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "something went wrong on our side".to_owned(),
                        None,
                        None,
                    )
                }
            },
            ApiError::BadRequest {
                code,
                message,
                field,
            } => (StatusCode::BAD_REQUEST, code, message, field, None),
            ApiError::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than {limit} bytes; send less per request"),
                None,
                None,
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`".to_owned(),
                None,
                None,
            ),
            ApiError::RouteNotFound { method, path } => (
                StatusCode::NOT_FOUND,
                "route_not_found",
                format!("there is no {method} {path}; see /api/v1/openapi.json"),
                None,
                None,
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not accept that method; see /api/v1/openapi.json".to_owned(),
                None,
                None,
            ),
            ApiError::IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request; use a new key"
                    .to_owned(),
                Some("Idempotency-Key".to_owned()),
                None,
            ),
            ApiError::IdempotencyInFlight => (
                StatusCode::CONFLICT,
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still being processed; retry shortly"
                    .to_owned(),
                Some("Idempotency-Key".to_owned()),
                None,
            ),
            ApiError::CsrfMissing => (
                StatusCode::FORBIDDEN,
                "csrf_token_invalid",
                "requests made with a session cookie must send the session's X-CSRF-Token header"
                    .to_owned(),
                None,
                None,
            ),
        };
        ErrorParts {
            status,
            code,
            message,
            field,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ErrorParts {
            status,
            code,
            message,
            field,
            retry_after,
        } = self.parts();
        let mut response = error_response(status, code, message, field);
        if let Some(retry_after) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
