//! `/healthz`, `/readyz`, `/metrics`, and the middleware that counts and times requests.

use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;
use crate::routes::{Access, Doc, Method, Routes};

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder once; later calls reuse it (tests start
/// many servers in one process).
pub fn install_recorder() -> &'static PrometheusHandle {
    RECORDER.get_or_init(|| {
        let buckets = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let recorder = PrometheusBuilder::new()
            .set_buckets(&buckets)
            .expect("static, non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed by an embedding program; then
        // shinrai's metrics go there and `/metrics` shows only what this handle sees.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be incomplete");
        }
        metrics::gauge!("shinrai_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Get,
        "/healthz",
        Access::Public,
        Doc::new("operations", "The process is up"),
        healthz,
    )
    .add(
        Method::Get,
        "/readyz",
        Access::Public,
        Doc::new("operations", "The store is reachable and migrated"),
        readyz,
    )
    .add(
        Method::Get,
        "/metrics",
        Access::Public,
        Doc::new(
            "operations",
            "Prometheus metrics in the text exposition format",
        ),
        metrics_text,
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response(),
    }
}

async fn metrics_text() -> Response {
    let body = install_recorder().render();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The `method` label of a request: one of HTTP's standard methods, or `other`. A client
/// may send any token as a method, and every distinct label value is a new series kept
/// for the life of the process, so the value comes from this closed set.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        M::CONNECT => "CONNECT",
        M::TRACE => "TRACE",
        _ => "other",
    }
}

/// Counts and times every request by method, route template and status. Every label is
/// bounded: methods by [`method_label`], routes by the registered templates (anything
/// that matches none is `unmatched`), statuses by what shinrai answers.
pub async fn track_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let start = state.clock.monotonic();
    let resp = next.run(req).await;
    let seconds = state.clock.monotonic().saturating_sub(start).as_secs_f64();
    let status = resp.status().as_u16().to_string();
    metrics::counter!("shinrai_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("shinrai_http_request_duration_seconds", "method" => method, "route" => route)
        .record(seconds);
    resp
}
