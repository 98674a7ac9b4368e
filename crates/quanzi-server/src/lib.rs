//! The HTTP server: the only crate that speaks HTTP and JSON.
//!
//! # Layout
//! - [`app`] builds the whole `Router` from a [`AppState`]; [`serve`] runs it on a listener
//!   together with the job workers and shuts both down on one signal. Tests bind port 0.
//! - [`routes`]: `/api/v1`, one module per area; wire types next to their handlers.
//! - [`middleware`]: request ids, body limit, authentication, idempotency.
//! - [`error`]: the one `ApiError` and its JSON shape; [`json`]: the body/query extractors.
//! - [`openapi`]: the OpenAPI document generated from the handlers.
//! - [`metrics`], [`health`], [`status_page`]: operations endpoints and `/status`.
//! - `console`: the operator console, server-rendered HTML under `/console`.
#![forbid(unsafe_code)]

mod console;
pub mod error;
pub mod health;
pub mod json;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod routes;
mod state;
pub mod status_page;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use quanzi_app::jobs::{builtin_registry, WorkerPool};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use state::AppState;

use crate::error::ApiError;
use crate::middleware::{auth, body_limit, request_id};

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    let authenticated = Router::new()
        .merge(routes::workspace::router(&state))
        .merge(routes::audit::router(&state))
        .merge(routes::operators::router(&state))
        .merge(routes::api_keys::router(&state))
        .merge(routes::sessions::router(&state))
        .merge(routes::jobs::router(&state))
        .merge(routes::members::router(&state))
        .merge(routes::events::router(&state))
        .merge(routes::orders::router(&state))
        .merge(routes::segments::router(&state))
        .merge(routes::privacy::router(&state))
        .merge(routes::tags::router(&state))
        .merge(routes::loyalty::router(&state))
        .merge(routes::checkins::router(&state))
        .merge(routes::mall::router(&state))
        .merge(routes::coupons::router(&state))
        .merge(routes::flash_sales::router(&state))
        .merge(routes::carts::router(&state))
        .merge(routes::promotions::router(&state))
        .merge(routes::group_buys::router(&state))
        .merge(routes::bargains::router(&state))
        .merge(routes::referrals::router(&state))
        .merge(routes::distribution::router(&state))
        .merge(routes::fraud::router(&state))
        .merge(routes::tiers::router(&state))
        .merge(routes::analytics::router(&state))
        .merge(routes::rfm::router(&state))
        .merge(routes::alerts::router(&state))
        .merge(routes::experiments::router(&state))
        .layer(from_fn_with_state(state.clone(), auth::authenticate));

    Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/console") }))
        .route("/status", get(status_page::page))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route("/api/v1/openapi.json", get(openapi::document))
        .merge(routes::sessions::public_router())
        .merge(console::router())
        .merge(authenticated)
        .route_layer(from_fn_with_state(state.clone(), metrics::track))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.app.config.server.body_limit_bytes))
        .layer(from_fn_with_state(state.clone(), body_limit::enforce))
        .layer(CatchPanicLayer::new())
        .layer(from_fn(request_id::stamp_server_errors))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id, workspace = tracing::field::Empty)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(request_id::MakeId))
        .with_state(state)
}

async fn route_not_found(method: Method, uri: Uri) -> impl IntoResponse {
    ApiError::RouteNotFound {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

async fn method_not_allowed() -> impl IntoResponse {
    ApiError::MethodNotAllowed
}

/// Serves HTTP on `listener` and, when enabled, runs the job workers, until `shutdown` is
/// cancelled. Then both stop taking new work and get the configured grace period to finish
/// what they started.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(state.app.config.server.shutdown_grace_seconds);
    let workers = state.app.config.jobs.enabled.then(|| {
        let pool = WorkerPool::new(
            state.app.clone(),
            builtin_registry(),
            state.job_stats.clone(),
        );
        tokio::spawn(pool.run(shutdown.clone()))
    });
    let server = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let server = tokio::spawn(async move { server.await });
    shutdown.cancelled().await;
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(result)) => result?,
        Ok(Err(join)) => tracing::error!(error = %join, "server task failed"),
        Err(_) => tracing::warn!("open connections did not finish within the grace period"),
    }
    if let Some(workers) = workers {
        let _ = workers.await;
    }
    Ok(())
}
