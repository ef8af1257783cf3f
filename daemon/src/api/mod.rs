//! The HTTP API (axum over hyper, HTTP/1.1, JSON): health, readiness and metrics for monitoring, tickets, staff,
//! locations, devices and room controllers for staff apps and other systems. The routes are in `router`, the
//! wire types in `views`, the OpenAPI document is generated from both, and `server` runs hyper under timeouts and
//! a connection limit. The specification for people is `docs/api.md`.

mod admin;
mod alerts;
mod auth;
mod devices;
mod duplicates;
mod error;
mod extract;
mod grms;
mod guests;
mod locations;
mod openapi;
mod probes;
mod reply;
mod router;
mod server;
mod session;
mod signin;
mod staff;
mod throttle;
mod tickets;
mod tokens;
mod users;
pub mod views;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use auth::{hash_secret, new_token};
pub use error::ApiError;
pub use server::{ConnectionInfo, Limits};
pub use session::Access;

use crate::config::Config;
use crate::core::CoreHandle;
use crate::metrics::Metrics;
use crate::mqtt::MqttLink;
use crate::readiness::Readiness;
use crate::store::ReadPool;

/// What handlers need.
pub struct ApiState {
    /// Writes go through the core.
    pub core: CoreHandle,
    /// Reads come from the store.
    pub reads: ReadPool,
    /// For health.
    pub mqtt: Option<Arc<MqttLink>>,
    /// For `/readyz`.
    pub readiness: Readiness,
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
    /// Password hashing, the sign-in throttle and sessions' recent use.
    pub access: Access,
    /// The PMS link, when configured.
    pub pms: Option<Arc<crate::pms::PmsLink>>,
    /// The injected wall clock (who is on shift now, in the roster).
    pub clock: Arc<dyn crate::clock::Clock>,
}

/// Serves the API on `listener` under `limits` until `shutdown`. Connections already open finish their current
/// request.
pub async fn serve(listener: TcpListener, state: Arc<ApiState>, limits: Limits, shutdown: watch::Receiver<bool>) {
    let (router, _) = router::build(state);
    server::serve(listener, router, limits, shutdown).await;
}
