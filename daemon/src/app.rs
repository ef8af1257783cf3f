//! Running the daemon: open the store, bind the listeners, start the core and the adapters, and shut down in order.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tv_protocol::Topics;

use crate::api::{self, ApiState};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::core;
use crate::grms::GrmsAdapter;
use crate::mqtt::Mqtt;
use crate::store::{ReadPool, Store};

/// How long shutdown waits for the writer's last commit.
const WRITER_GRACE: Duration = Duration::from_secs(10);

/// A running daemon, for callers that embed it (the demo).
pub struct Running {
    /// Where the HTTP API listens.
    pub http: std::net::SocketAddr,
    shutdown: watch::Sender<bool>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Asks the daemon to stop and waits until it has.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.send_replace(true);
        self.done.await.context("daemon task")?
    }
}

/// Starts the daemon and returns once the store is open and the HTTP listener is bound.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let topics = Topics::new(&config.mqtt.topic_root).context("topic root")?;
    let data_dir = config.storage.data_dir.clone();
    let store = Store::open(&data_dir).with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let listener = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding the HTTP API to {}", config.http.listen))?;
    let http = listener.local_addr()?;
    let site = config.site.code.clone();
    let (_config_tx, config_rx) = watch::channel(Arc::new(config.clone()));
    let (core, writer) = core::start(store, config_rx, Arc::new(SystemClock));
    let reads = ReadPool::new(&data_dir);
    let mqtt = Mqtt::start(&config, topics, core.clone(), reads.clone());
    let grms = match &config.grms {
        Some(grms) if !grms.config.controllers.is_empty() => Some(GrmsAdapter::start(grms, core.clone())?),
        _ => None,
    };
    let (shutdown, stopped) = watch::channel(false);
    let state = Arc::new(ApiState { core, reads, mqtt: Some(mqtt.link.clone()), site });
    let server = tokio::spawn(api::serve(listener, state, stopped.clone()));
    tracing::info!(http = %http, broker = %config.mqtt.broker, data_dir = %data_dir.display(), "Bellhop is running.");
    let mut stopped = stopped;
    let done = tokio::spawn(async move {
        let _ = stopped.wait_for(|stop| *stop).await;
        tracing::info!("Shutting down: finishing in-flight work.");
        if let Some(grms) = grms {
            grms.stop().await;
        }
        mqtt.stop().await;
        let _ = server.await;
        let joined = tokio::time::timeout(WRITER_GRACE, tokio::task::spawn_blocking(move || writer.join())).await;
        match joined {
            Ok(Ok(Ok(()))) => tracing::info!("Stopped cleanly."),
            Ok(_) => anyhow::bail!("the writer thread failed"),
            Err(_) => anyhow::bail!("the writer did not finish within {WRITER_GRACE:?}"),
        }
        Ok(())
    });
    let _ = _config_tx;
    Ok(Running { http, shutdown, done })
}

/// Runs until SIGINT or SIGTERM, then shuts down in order.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    wait_for_signal().await;
    running.stop().await
}

async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::warn!(%error, "Cannot listen for SIGTERM; only Ctrl-C will stop Bellhop.");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
