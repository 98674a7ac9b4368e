use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::state::AppState;

/// Liveness: the process answers. Never touches the database, so a slow database does not
/// get healthy nodes restarted.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Readiness: the database answers a query.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.store.ping().await {
        Ok(()) => Json(json!({
            "status": "ready",
            "backend": state.app.store.backend().as_str(),
            "node": &*state.app.node_id,
        }))
        .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": {"code": "unavailable", "message": "the database does not answer"}})),
            )
                .into_response()
        }
    }
}
