//! The MQTT adapter: one broker session (persistent, manual acks) shared by ingest, acks and retained status.
//!
//! The event loop runs in its own task and never waits on anything but the network, so acks queued by other tasks
//! always drain. Each CONNACK starts a new *generation*; a PUBACK is sent only for a message received in the current
//! generation, so an ack can never land on an unrelated message after the broker lost the session.

mod ingest;
mod menu;
mod notify;
mod session;
mod status;

pub use session::{without_nagle, MqttLink, Received};

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tv_protocol::Topics;

use crate::clock::Clock;
use crate::config::Config;
use crate::core::CoreHandle;
use crate::metrics::Metrics;
use crate::store::ReadPool;

/// The running adapter.
pub struct Mqtt {
    /// The shared link (for health and publishing).
    pub link: Arc<MqttLink>,
    stop: watch::Sender<bool>,
    event_loop: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
}

impl Mqtt {
    /// Starts the broker session, the ingest path, and the status (timed by `clock`), staff-notification and menu
    /// publishers.
    pub fn start(
        configs: watch::Receiver<Arc<Config>>,
        topics: Topics,
        core: CoreHandle,
        reads: ReadPool,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
    ) -> Mqtt {
        let config = configs.borrow().clone();
        let (link, session, received) = session::connect(&config);
        let (stop, stopped) = watch::channel(false);
        let event_loop = tokio::spawn(session::drive(link.clone(), session, topics.clone()));
        let known: Vec<String> = config.locations.keys().cloned().collect();
        let workers = vec![
            tokio::spawn(ingest::run(link.clone(), topics.clone(), core.clone(), received, stopped.clone(), metrics)),
            tokio::spawn(notify::run(link.clone(), topics.clone(), core.clone(), reads.clone(), stopped.clone())),
            tokio::spawn(status::run(link.clone(), topics.clone(), core, reads, known, clock, stopped.clone())),
            tokio::spawn(menu::run(link.clone(), topics, configs, stopped)),
        ];
        Mqtt { link, stop, event_loop, workers }
    }

    /// Stops taking messages, lets every ack already owed go out, then disconnects. Messages not yet handed to the
    /// core stay un-acked at the broker, which delivers them again on the next connection.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for worker in self.workers {
            let _ = worker.await;
        }
        self.link.close().await;
        let _ = self.event_loop.await;
    }
}
