//! The link's state, shared between the adapter and what reports it (`/healthz`, `/metrics`, `bellhop status`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::watch;

use crate::config::LinkMode;

/// Where the link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Not connected; waiting before the next attempt.
    Down,
    /// Connecting to the PMS, or waiting for it to connect.
    Connecting,
    /// Connected; the link start has not been answered yet.
    Starting,
    /// The link is up: records flow.
    Up,
}

/// What is known about the link now.
#[derive(Debug, Clone, Serialize)]
pub struct PmsSnapshot {
    /// `client` or `server`.
    pub mode: &'static str,
    /// Where Bellhop connects or listens.
    pub address: String,
    /// The state.
    pub state: LinkState,
    /// Since when (UTC).
    pub since: String,
    /// The PMS's address while connected.
    pub peer: Option<String>,
    /// Why the link last went down.
    pub last_error: Option<String>,
    /// Records read from the PMS.
    pub records_in: u64,
    /// Records sent to the PMS.
    pub records_out: u64,
    /// Frames and bytes skipped as garbage, and records that could not be read.
    pub garbage: u64,
    /// Records read but refused (a room the property does not know, for example).
    pub refused: u64,
    /// Times the link went down.
    pub reconnects: u64,
    /// Database resyncs completed.
    pub resyncs: u64,
}

struct Now {
    state: LinkState,
    since: String,
    peer: Option<String>,
    last_error: Option<String>,
    up_since_failure: bool,
}

/// The shared state.
pub struct PmsLink {
    mode: LinkMode,
    address: Mutex<String>,
    now: Mutex<Now>,
    up: watch::Sender<bool>,
    /// Records read.
    pub records_in: AtomicU64,
    /// Records sent.
    pub records_out: AtomicU64,
    /// Garbage skipped.
    pub garbage: AtomicU64,
    /// Records refused.
    pub refused: AtomicU64,
    reconnects: AtomicU64,
    /// Resyncs completed.
    pub resyncs: AtomicU64,
}

impl PmsLink {
    /// A link that has not connected yet.
    pub fn new(mode: LinkMode, address: &str) -> PmsLink {
        PmsLink {
            mode,
            address: Mutex::new(address.to_owned()),
            now: Mutex::new(Now {
                state: LinkState::Down,
                since: crate::clock::format_time(jiff::Timestamp::now()),
                peer: None,
                last_error: None,
                up_since_failure: false,
            }),
            up: watch::channel(false).0,
            records_in: AtomicU64::new(0),
            records_out: AtomicU64::new(0),
            garbage: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Now> {
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A server's bound address (the configured one may name port 0).
    pub(super) fn set_listening(&self, addr: std::net::SocketAddr) {
        *self.address.lock().unwrap_or_else(|e| e.into_inner()) = addr.to_string();
    }

    /// Moves to `state`; `error` says why when the link went down.
    pub(super) fn set_state(&self, state: LinkState, error: Option<String>) {
        let mut now = self.lock();
        if now.state != state {
            now.state = state;
            now.since = crate::clock::format_time(jiff::Timestamp::now());
        }
        if state == LinkState::Up {
            now.up_since_failure = true;
        }
        if error.is_some() {
            now.last_error = error;
        }
        drop(now);
        self.up.send_if_modified(|up| {
            let changed = *up != (state == LinkState::Up);
            *up = state == LinkState::Up;
            changed
        });
    }

    pub(super) fn set_peer(&self, peer: Option<String>) {
        self.lock().peer = peer;
    }

    /// Whether the link came up since the last failure (then the back-off starts again from the shortest wait).
    pub(super) fn was_up_since_last_failure(&self) -> bool {
        std::mem::take(&mut self.lock().up_since_failure)
    }

    pub(super) fn count_reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the link is up.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Follows the link going up and down.
    pub fn watch_up(&self) -> watch::Receiver<bool> {
        self.up.subscribe()
    }

    /// The state now.
    pub fn snapshot(&self) -> PmsSnapshot {
        let now = self.lock();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        PmsSnapshot {
            mode: match self.mode {
                LinkMode::Client => "client",
                LinkMode::Server => "server",
            },
            address: self.address.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            state: now.state,
            since: now.since.clone(),
            peer: now.peer.clone(),
            last_error: now.last_error.clone(),
            records_in: load(&self.records_in),
            records_out: load(&self.records_out),
            garbage: load(&self.garbage),
            refused: load(&self.refused),
            reconnects: load(&self.reconnects),
            resyncs: load(&self.resyncs),
        }
    }
}
