//! The HTTP API (hyper, HTTP/1.1, JSON): health for probes, tickets for staff terminals and other systems.
//! The route table is in [`route`]; the specification is `docs/api.md`.

mod auth;
mod devices;
mod grms;
mod locations;
mod request;
mod response;
mod staff;
mod tickets;

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use auth::{hash_secret, new_token, Role};
pub use response::{ApiError, Body};

use crate::config::Config;
use crate::core::CoreHandle;
use crate::metrics::Metrics;
use crate::mqtt::MqttLink;
use crate::store::ReadPool;

/// What handlers need.
pub struct ApiState {
    /// Writes go through the core.
    pub core: CoreHandle,
    /// Reads come from the store.
    pub reads: ReadPool,
    /// For health.
    pub mqtt: Option<Arc<MqttLink>>,
    /// The site code, for health.
    pub site: String,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The configuration in force.
    pub config: watch::Receiver<Arc<Config>>,
    /// The upload to head office, when configured.
    pub sync: Option<crate::sync::StatusView>,
    /// Configuration pull from head office, when configured.
    pub pull: Option<Arc<std::sync::Mutex<crate::sync::PullStatus>>>,
    /// Asks the daemon to reload its configuration (as SIGHUP does).
    pub reload: Option<tokio::sync::mpsc::Sender<crate::sync::ReloadRequest>>,
}

/// `POST /api/v1/admin/reload`: re-reads the configuration and applies it whole, or answers 422 with the errors and
/// keeps the configuration in force.
async fn reload(state: &ApiState, req: &Request<Incoming>) -> Result<Response<Body>, ApiError> {
    auth::authorize(request::bearer(req).as_deref(), &state.reads, auth::ADMINISTER).await?;
    let unavailable = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the daemon cannot reload now");
    let Some(reloads) = &state.reload else { return Err(unavailable()) };
    let (tx, rx) = tokio::sync::oneshot::channel();
    reloads.send(tx).await.map_err(|_| unavailable())?;
    match rx.await.map_err(|_| unavailable())? {
        Ok(()) => Ok(response::json(StatusCode::OK, &json!({ "reloaded": true }))),
        Err(errors) => Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_config", errors)),
    }
}

/// Serves until shutdown. Connections already open finish their current request.
pub async fn serve(listener: TcpListener, state: Arc<ApiState>, mut shutdown: watch::Receiver<bool>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, _) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "Could not accept an HTTP connection.");
                continue;
            }
        };
        let state = state.clone();
        let service = service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(route(&state, req).await) }
        });
        let connection = graceful.watch(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "HTTP connection ended with an error.");
            }
        });
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("Some HTTP connections did not finish within {SHUTDOWN_GRACE:?}.");
    }
}

/// How long open connections get to finish at shutdown.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Dispatches one request. Never fails: errors become JSON responses.
pub async fn route(state: &ApiState, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().clone();
    let result = match (&method, segments.as_slice()) {
        (&Method::GET, ["healthz"]) => Ok(health(state)),
        (&Method::GET, ["metrics"]) => metrics(state, &req).await,
        (_, ["api", "v1", "devices", ..]) => devices::route(state, &method, &segments[3..], req).await,
        (_, ["api", "v1", "grms", ..]) => grms::route(state, &method, &segments[3..], req).await,
        (_, ["api", "v1", "staff", ..]) => staff::route(state, &method, &segments[3..], req).await,
        (_, ["api", "v1", "locations", ..]) => locations::route(state, &method, &segments[3..], req).await,
        (&Method::POST, ["api", "v1", "admin", "reload"]) => reload(state, &req).await,
        (_, ["api", "v1", "tickets"]) | (_, ["api", "v1", "tickets", ..]) => {
            tickets::route(state, &method, &segments[3..], req).await
        }
        _ => Err(ApiError::not_found(format!("no endpoint {method} {path}"))),
    };
    result.unwrap_or_else(ApiError::into_response)
}

/// Prometheus metrics, for any role that may read tickets and for installers.
async fn metrics(state: &ApiState, req: &Request<Incoming>) -> Result<Response<Body>, ApiError> {
    let allowed = [auth::READ_TICKETS, &[auth::Role::Installer]].concat();
    auth::authorize(request::bearer(req).as_deref(), &state.reads, &allowed).await?;
    let figures = state.reads.with(crate::metrics::StoreFigures::read).await?;
    let connected = state.mqtt.as_ref().is_some_and(|m| m.is_connected());
    let mut text = state.metrics.render(state.core.stats(), &figures, &state.config.borrow(), connected);
    if let Some(sync) = state.sync.as_ref().map(|s| s.get()) {
        use std::fmt::Write;
        for (name, help, value) in [
            ("bellhop_sync_lag_events", "Journal events not yet stored by head office.", sync.lag_events),
            ("bellhop_sync_lag_seconds", "Age of the oldest event not yet stored by head office.", sync.lag_seconds),
            (
                "bellhop_sync_alarm",
                "1 while sync needs attention (misconfiguration, refused batches).",
                u64::from(sync.alarm.is_some()),
            ),
        ] {
            let _ = write!(text, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
        }
    }
    Ok(response::text("text/plain; version=0.0.4; charset=utf-8", text))
}

fn health(state: &ApiState) -> Response<Body> {
    let stats = state.core.stats();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let mqtt_connected = state.mqtt.as_ref().map(|m| m.is_connected());
    let sync = state.sync.as_ref().map(|s| s.get());
    let sync_alarm = sync.as_ref().is_some_and(|s| s.alarm.is_some());
    let status = if mqtt_connected == Some(false) || sync_alarm { "degraded" } else { "ok" };
    response::json(
        StatusCode::OK,
        &json!({
            "status": status,
            "version": env!("CARGO_PKG_VERSION"),
            "site": state.site,
            "mqtt": { "connected": mqtt_connected },
            "journal": {
                "last_seq": load(&stats.last_seq),
                "commits": load(&stats.commits),
                "events": load(&stats.events),
                "failed_commits": load(&stats.failed_commits),
            },
            "sync": sync,
            "config_pull": state.pull.as_ref().map(|p| p.lock().map(|s| s.clone()).unwrap_or_default()),
        }),
    )
}
