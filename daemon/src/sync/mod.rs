//! Cloud sync, upload half: the journal reaches head office in order, exactly once, from a persisted cursor.
//!
//! [`Uploader::start`] spawns a task that reads `{data_dir}/bellhop.db` on its own read-only connection, sends
//! consecutive events after the cursor in signed, gzip'd batches over HTTPS, and moves the cursor (kept in
//! `{data_dir}/sync-cursor`) to exactly what the receiver says it has stored. Faults are retried with capped,
//! jittered backoff; misconfiguration raises an alarm in [`SyncStatus`]. The wire protocol is `docs/cloud-sync.md`.
//!
//! Wiring: parse a `[sync]` section into [`SyncConfig`], check it with [`SyncConfig::validate`] (and
//! [`SyncConfig::check_files`]), then `Uploader::start(config, data_dir, committed_seq_rx)` after the store is open,
//! where `committed_seq_rx` is a `watch::Receiver<u64>` the core sets to the last committed sequence after each
//! commit. Show [`SyncHandle::status`] (or a [`StatusView`]) in `/healthz` and `bellhop status`; call
//! [`SyncHandle::stop`] on shutdown.

pub mod batch;
pub mod cursor;
pub mod policy;
pub mod pull;
pub mod sign;
pub mod transport;
mod uploader;

pub use crate::config::sync::SyncConfig;
pub use cursor::{CursorStore, CURSOR_FILE};
pub use pull::{PullHandle, PullStatus, ReloadRequest};
pub use uploader::{clock_offset, parse_http_date, StatusView, SyncHandle, SyncStatus, Uploader, IDLE_POLL};
