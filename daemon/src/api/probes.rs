//! What monitoring reads: liveness (`/healthz`), readiness (`/readyz`) and the Prometheus metrics (`/metrics`).

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::{Caller, ReadMetrics};
use super::error::ApiError;
use super::reply::{text, Reply};
use super::views::{ErrorBody, HealthView, JournalHealth, MqttHealth, NotReadyView, ReadyView};
use super::ApiState;

#[utoipa::path(get, path = "/healthz", tag = "monitoring",
    responses((status = 200, description = "The process is alive; `status` says whether it is degraded", body = HealthView)))]
/// Liveness: answers 200 while the process runs, with counters and a `status` of `ok` or `degraded`.
pub async fn health(State(state): State<Arc<ApiState>>) -> Reply<HealthView> {
    let stats = state.core.stats();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let mqtt_connected = state.mqtt.as_ref().map(|m| m.is_connected());
    let sync = state.sync.as_ref().map(|s| s.get());
    let sync_alarm = sync.as_ref().is_some_and(|s| s.alarm.is_some());
    let last_event = state.reads.with(|r| r.last_event_at()).await.ok().flatten().and_then(|at| at.parse().ok());
    let clock_warning = crate::credentials::clock::warning(jiff::Timestamp::now(), last_event);
    let pms = state.pms.as_ref().map(|link| link.snapshot());
    let pms_down = pms.as_ref().is_some_and(|p| p.state != crate::pms::LinkState::Up);
    let status = if mqtt_connected == Some(false) || sync_alarm || pms_down { "degraded" } else { "ok" };
    Reply::ok(HealthView {
        status,
        version: env!("CARGO_PKG_VERSION"),
        site: state.site.clone(),
        mqtt: MqttHealth { connected: mqtt_connected },
        journal: JournalHealth {
            last_seq: load(&stats.last_seq),
            commits: load(&stats.commits),
            events: load(&stats.events),
            failed_commits: load(&stats.failed_commits),
        },
        sync: sync.map(Into::into),
        config_pull: state.pull.as_ref().map(|p| p.lock().map(|s| s.clone()).unwrap_or_default().into()),
        clock_warning,
        pms,
    })
}

#[utoipa::path(get, path = "/readyz", tag = "monitoring",
    responses(
        (status = 200, description = "The gateway can take requests", body = ReadyView),
        (status = 503, description = "It cannot: the last commit failed, or the broker connection is down", body = NotReadyView),
    ))]
/// Readiness: 200 while the gateway can take requests, 503 with the reasons while it cannot.
pub async fn ready(State(state): State<Arc<ApiState>>) -> Response {
    let reasons = state.readiness.check();
    if reasons.is_empty() {
        Reply::ok(ReadyView { status: "ready" }).into_response()
    } else {
        Reply(StatusCode::SERVICE_UNAVAILABLE, NotReadyView::new(&reasons)).into_response()
    }
}

#[utoipa::path(get, path = "/metrics", tag = "monitoring", security(("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody),
    ))]
/// Prometheus metrics, for every role.
pub async fn metrics(State(state): State<Arc<ApiState>>, _: Caller<ReadMetrics>) -> Result<Response, ApiError> {
    let figures = state.reads.with(crate::metrics::StoreFigures::read).await?;
    let connected = state.mqtt.as_ref().is_some_and(|m| m.is_connected());
    let mut body = state.metrics.render(state.core.stats(), &figures, &state.config.borrow(), connected);
    if let Some(sync) = state.sync.as_ref().map(|s| s.get()) {
        for (name, help, value) in [
            ("bellhop_sync_lag_events", "Journal events not yet stored by head office.", sync.lag_events),
            ("bellhop_sync_lag_seconds", "Age of the oldest event not yet stored by head office.", sync.lag_seconds),
            (
                "bellhop_sync_alarm",
                "1 while sync needs attention (misconfiguration, refused batches).",
                u64::from(sync.alarm.is_some()),
            ),
        ] {
            let _ = write!(body, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
        }
    }
    if let Some(pms) = state.pms.as_ref().map(|link| link.snapshot()) {
        crate::pms::render_metrics(&pms, &mut body);
    }
    Ok(text("text/plain; version=0.0.4; charset=utf-8", body))
}
