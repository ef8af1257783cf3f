//! Bellhop: the service-request daemon for a property's gateway.
//!
//! Adapters (MQTT ingest, HTTP API) send commands to the [`core`], whose single writer applies them with the pure
//! [`engine`]s, commits them to the [`store`]'s journal in groups, and only then answers. See `docs/ARCHITECTURE.md`.

pub mod account_cli;
pub mod api;
pub mod app;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod credentials;
pub mod demo;
pub mod devices;
pub mod engine;
pub mod event;
pub mod grms;
pub mod import;
pub mod log_limit;
pub mod logging;
pub mod metrics;
pub mod mqtt;
pub mod notice;
pub mod perms;
pub mod pms;
pub mod readiness;
pub mod scheduler;
pub mod sim;
pub mod store;
pub mod sync;
pub mod systemd;
pub mod vocab;
