//! Running the daemon: open the store, bind the listeners, start the core and the adapters, and shut down in order.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tv_protocol::Topics;

use crate::api::{self, ApiState};
use crate::clock::SystemClock;
use crate::config::{self, Config};
use crate::core;
use crate::devices::DevicesAdapter;
use crate::grms::GrmsAdapter;
use crate::metrics::Metrics;
use crate::mqtt::{Mqtt, MqttLink};
use crate::readiness::Readiness;
use crate::store::{ReadPool, Store};
use crate::sync::{PullHandle, ReloadRequest, SyncHandle, Uploader};
use crate::systemd;

/// How long shutdown waits for the writer's last commit.
const WRITER_GRACE: Duration = Duration::from_secs(10);

/// A running daemon, for callers that embed it (the demo).
pub struct Running {
    /// Where the HTTP API listens.
    pub http: std::net::SocketAddr,
    reloader: Arc<Reloader>,
    shutdown: watch::Sender<bool>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Asks the daemon to stop and waits until it has.
    pub async fn stop(self) -> anyhow::Result<()> {
        systemd::stopping();
        self.shutdown.send_replace(true);
        self.done.await.context("daemon task")?
    }

    /// Re-reads the configuration file and applies it whole, or keeps the current one and says why not.
    pub fn reload(&self) -> Result<(), String> {
        self.reloader.reload()
    }
}

/// The one place that swaps the configuration in force: for SIGHUP, `POST /api/v1/admin/reload` and head office.
struct Reloader {
    config: watch::Sender<Arc<Config>>,
    metrics: Arc<Metrics>,
    /// One reload at a time (SIGHUP may come while the API's reload runs).
    busy: std::sync::Mutex<()>,
}

impl Reloader {
    fn reload(&self) -> Result<(), String> {
        let _one_at_a_time = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        systemd::reloading(false, "Reloading the configuration.");
        let current = self.config.borrow().clone();
        let outcome = match config::load_layered(&current.path, Some(&current.storage.data_dir)) {
            Ok(new) => {
                let new = keep_runtime_settings(&current, new);
                tracing::info!(
                    items = new.catalog.len(),
                    locations = new.locations.len(),
                    "Configuration reloaded; changes to site, mqtt, storage, http, log, grms, devices.mdns, devices.requery_s and sync apply after a restart."
                );
                self.config.send_replace(Arc::new(new));
                self.metrics.reloads.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(errors) => {
                tracing::error!(%errors, "The new configuration is invalid; the last good one stays in force.");
                self.metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
                Err(errors.to_string())
            }
        };
        systemd::reloading(true, "Running.");
        outcome
    }

    /// Answers the reload requests of the API and of head office's pull, one at a time, for as long as the daemon
    /// runs. It belongs to the daemon itself, not to whoever embeds it: otherwise a caller that does not read the
    /// requests (the demo) leaves every reload waiting for an answer that never comes.
    fn serve(self: Arc<Self>, mut requests: tokio::sync::mpsc::Receiver<ReloadRequest>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Some(answer) = requests.recv().await {
                let _ = answer.send(self.reload());
            }
        })
    }
}

/// A reload changes the catalog, locations, departments, limits and device policy in place. The site, the broker
/// session, the store, the listener, logging and the room controllers stay as started (with any command-line
/// overrides) until the next restart.
fn keep_runtime_settings(current: &Config, mut new: Config) -> Config {
    new.site = current.site.clone();
    new.mqtt = current.mqtt.clone();
    new.storage = current.storage.clone();
    new.http = current.http.clone();
    new.log = current.log.clone();
    new.grms = current.grms.clone();
    new.devices.mdns = current.devices.mdns.clone();
    new.devices.requery = current.devices.requery;
    new.sync = current.sync.clone();
    new
}

/// Starts the daemon and returns once the store is open and the HTTP listener is bound.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// Starts the daemon on the given clock (a virtual one in tests of SLA time).
pub async fn start_with_clock(config: Config, clock: Arc<dyn crate::clock::Clock>) -> anyhow::Result<Running> {
    raise_open_files_limit();
    let topics = Topics::new(&config.mqtt.topic_root).context("topic root")?;
    let data_dir = config.storage.data_dir.clone();
    let lock = crate::store::lock(&data_dir)?;
    let store = Store::open(&data_dir).with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let last_event = crate::store::Reader::open(&data_dir).and_then(|r| r.last_event_at()).ok().flatten();
    if let Some(warning) =
        crate::credentials::clock::warning(jiff::Timestamp::now(), last_event.and_then(|at| at.parse().ok()))
    {
        tracing::warn!(warning, "The gateway's clock looks wrong; /healthz reports it until it is right.");
    }
    let listener = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding the HTTP API to {}", config.http.listen))?;
    let http = listener.local_addr()?;
    let site = config.site.code.clone();
    let (config_tx, config_rx) = watch::channel(Arc::new(config.clone()));
    let (core, writer) = core::start(store, config_rx.clone(), clock.clone());
    let reads = ReadPool::new(&data_dir);
    let metrics = Arc::new(Metrics::default());
    let topics_for_notices = topics.clone();
    let mqtt = Mqtt::start(config_rx.clone(), topics, core.clone(), reads.clone(), metrics.clone(), clock.clone());
    let grms = match &config.grms {
        Some(grms) if !grms.config.controllers.is_empty() => {
            Some(GrmsAdapter::start(grms, core.clone(), metrics.clone())?)
        }
        _ => None,
    };
    let sync = config.sync.clone().map(|sync| start_sync(sync, &data_dir, &core));
    let retention = match (&config.sync, &sync) {
        (Some(settings), Some(handle)) => {
            settings.retain_synced_days.map(|days| prune_synced(days, handle.view(), core.clone(), clock.clone()))
        }
        _ => None,
    };
    let (reload_tx, reload_requests) = tokio::sync::mpsc::channel(1);
    let pull = config
        .sync
        .clone()
        .filter(|s| s.config_poll_s > 0)
        .map(|sync| PullHandle::start(sync, config.path.clone(), data_dir.clone(), reload_tx.clone()));
    let notifier = crate::notice::Notifier::start(
        config_rx.clone(),
        core.clone(),
        reads.clone(),
        Some((mqtt.link.clone(), topics_for_notices)),
        clock.clone(),
    );
    let pms = match &config.pms {
        Some(settings) => Some(crate::pms::PmsAdapter::start(settings, core.clone()).await?),
        None => None,
    };
    let devices =
        DevicesAdapter::start(&config, config_rx.clone(), core.clone(), reads.clone(), clock.clone(), http.port())?;
    let (shutdown, stopped) = watch::channel(false);
    let link = mqtt.link.clone();
    let readiness = Readiness::new(core.clone(), Some(link.clone()), clock.clone());
    let state = Arc::new(ApiState {
        core: core.clone(),
        reads,
        mqtt: Some(link.clone()),
        readiness,
        site,
        metrics: metrics.clone(),
        config: config_rx,
        sync: sync.as_ref().map(SyncHandle::view),
        pull: pull.as_ref().map(PullHandle::status),
        reload: Some(reload_tx),
        access: Default::default(),
        pms: pms.as_ref().map(crate::pms::PmsAdapter::link),
        clock: clock.clone(),
    });
    let reloader = Arc::new(Reloader { config: config_tx, metrics, busy: Default::default() });
    let reloads = reloader.clone().serve(reload_requests);
    let scheduler = crate::scheduler::start(core.clone(), clock, stopped.clone());
    let server = tokio::spawn(api::serve(listener, state, api::Limits::from(&config.http), stopped.clone()));
    tracing::info!(http = %http, broker = %config.mqtt.broker, data_dir = %data_dir.display(), "Bellhop is running.");
    systemd::ready("Running.");
    let stats_core = core.clone();
    let watchdog = systemd::watchdog(core, move || status_line(&stats_core, &link));
    let mut stopped = stopped;
    let done = tokio::spawn(async move {
        let _ = stopped.wait_for(|stop| *stop).await;
        tracing::info!("Shutting down: finishing in-flight work.");
        if let Some(watchdog) = watchdog {
            watchdog.abort();
        }
        if let Some(grms) = grms {
            grms.stop().await;
        }
        devices.stop().await;
        if let Some(pms) = pms {
            pms.stop().await;
        }
        if let Some(sync) = sync {
            sync.stop().await;
        }
        if let Some(pull) = pull {
            pull.stop().await;
        }
        if let Some(retention) = retention {
            retention.abort();
        }
        let _ = scheduler.await;
        notifier.stop().await;
        mqtt.stop().await;
        let _ = server.await;
        reloads.abort();
        let joined = tokio::time::timeout(WRITER_GRACE, tokio::task::spawn_blocking(move || writer.join())).await;
        match joined {
            Ok(Ok(Ok(()))) => {
                drop(lock);
                tracing::info!("Stopped cleanly.")
            }
            Ok(_) => anyhow::bail!("the writer thread failed"),
            Err(_) => anyhow::bail!("the writer did not finish within {WRITER_GRACE:?}"),
        }
        Ok(())
    });
    Ok(Running { http, reloader, shutdown, done })
}

/// Raises the soft limit on open files to the hard limit: every HTTP connection, the broker session and the store
/// each hold descriptors, and the soft limit a service starts with (often 1,024) is the first to run out.
fn raise_open_files_limit() {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(0);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(now) if now > before => tracing::info!(from = before, to = now, "Raised the open-files limit."),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, limit = before, "Could not raise the open-files limit."),
    }
}

/// Starts the upload to head office, woken by every commit; it only reads the journal, so it never holds up local work.
fn start_sync(
    config: crate::sync::SyncConfig,
    data_dir: &std::path::Path,
    core: &crate::core::CoreHandle,
) -> SyncHandle {
    let (last_seq, notify) = watch::channel(core.stats().last_seq.load(Ordering::Relaxed));
    let mut committed = core.subscribe();
    tokio::spawn(async move {
        loop {
            match committed.recv().await {
                Ok(batch) => {
                    if let Some(last) = batch.events.last() {
                        last_seq.send_replace(last.seq);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Uploader::start(config, data_dir.to_owned(), notify)
}

/// Prunes synced history older than `days`, a few seconds after start (once the uploader has read its cursor) and
/// then every hour.
fn prune_synced(
    days: u32,
    sync: crate::sync::StatusView,
    core: crate::core::CoreHandle,
    clock: Arc<dyn crate::clock::Clock>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut tick = tokio::time::interval_at(first, Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let synced_through = sync.get().cursor;
            let cutoff = clock.now() - jiff::SignedDuration::from_hours(24 * i64::from(days));
            let before = crate::clock::format_time(cutoff);
            match core.call(|reply| core::Command::Prune { synced_through, before, reply }).await {
                Ok(Ok(0)) => {}
                Ok(Ok(pruned)) => tracing::info!(pruned, synced_through, "Pruned synced history."),
                Ok(Err(error)) | Err(error) => tracing::warn!(%error, "Could not prune synced history."),
            }
        }
    })
}

/// The one-line summary systemd shows in `systemctl status`.
fn status_line(core: &crate::core::CoreHandle, link: &MqttLink) -> String {
    let stats = core.stats();
    let broker = if link.is_connected() { "connected" } else { "disconnected" };
    format!(
        "Running: journal at {}, {} commits; broker {broker}.",
        stats.last_seq.load(Ordering::Relaxed),
        stats.commits.load(Ordering::Relaxed)
    )
}

/// Runs until SIGINT or SIGTERM, then shuts down in order; SIGHUP, and a new configuration from head office,
/// reload the configuration.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    let (mut term, mut hup) = (signal(SignalKind::terminate())?, signal(SignalKind::hangup())?);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = hup.recv() => {
                let _ = running.reload();
            }
        }
    }
    running.stop().await
}
