//! Prometheus metrics in the text exposition format, without a metrics framework: request
//! counts and latency histograms per route, this node's job outcomes, and the job queue's
//! depth by state (read from the database at scrape time, so every node reports the same).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let histogram = latency.entry(route.to_owned()).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    histogram.buckets[i] += 1;
                }
            }
            histogram.count += 1;
            histogram.sum += seconds;
        }
    }

    fn render_http(&self, out: &mut String) {
        out.push_str(
            "# HELP quanzi_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE quanzi_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "quanzi_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP quanzi_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE quanzi_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for (route, h) in latency.iter() {
                let route = escape(route);
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "quanzi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                        h.buckets[i]
                    );
                }
                let _ = writeln!(out, "quanzi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(
                    out,
                    "quanzi_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "quanzi_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Times every request; the route label is the matched pattern (`/api/v1/keys/{id}`), never
/// the raw path, so ids do not explode the label set.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Whether the request may read the metrics: always without a configured token, else only
/// with `Authorization: Bearer <token>` (compared in constant time).
fn allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = &state.app.config.server.metrics_token else {
        return true;
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    presented.as_bytes().ct_eq(token.as_bytes()).into()
}

pub async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !allowed(&state, &headers) {
        return ApiError::from(quanzi_app::Error::Unauthenticated(
            "the metrics need `Authorization: Bearer <server.metrics_token>`",
        ))
        .into_response();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP quanzi_build_info The running version and storage backend."
    );
    let _ = writeln!(out, "# TYPE quanzi_build_info gauge");
    let _ = writeln!(
        out,
        "quanzi_build_info{{version=\"{}\",backend=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        state.app.store.backend().as_str()
    );
    state.metrics.render_http(&mut out);
    let stats = &state.job_stats;
    out.push_str(
        "# HELP quanzi_job_attempts_total Job attempts finished by this node, by outcome.\n",
    );
    out.push_str("# TYPE quanzi_job_attempts_total counter\n");
    for (outcome, n) in [
        ("succeeded", &stats.succeeded),
        ("failed", &stats.failed),
        ("lease_lost", &stats.lease_lost),
    ] {
        let _ = writeln!(
            out,
            "quanzi_job_attempts_total{{outcome=\"{outcome}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    out.push_str("# HELP quanzi_jobs Jobs in the shared queue, by state.\n");
    out.push_str("# TYPE quanzi_jobs gauge\n");
    match state.app.store.job_state_counts().await {
        Ok(counts) => {
            for count in counts {
                let _ = writeln!(
                    out,
                    "quanzi_jobs{{state=\"{}\"}} {}",
                    count.state.as_str(),
                    count.count
                );
            }
        }
        Err(err) => tracing::warn!(error = %err, "job counts unavailable for metrics"),
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let metrics = Metrics::default();
        metrics.observe("GET", "/x", 200, 0.003);
        metrics.observe("GET", "/x", 500, 0.3);
        let mut out = String::new();
        metrics.render_http(&mut out);
        assert!(out
            .contains("quanzi_http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 1"));
        assert!(out.contains("le=\"0.005\"} 1"));
        assert!(out.contains("le=\"0.5\"} 2"));
        assert!(out.contains("quanzi_http_request_duration_seconds_count{route=\"/x\"} 2"));
    }
}
