//! The PMS adapter: the FIAS link with the hotel's property management system, as a TCP client or server. It
//! moves bytes, keeps the link alive, asks for a full resync at every link start, and turns each record into a
//! core command; it makes no decisions and never touches the store. Room statuses housekeeping reports (committed
//! `room_status_changed` events) go back to the PMS as RE records. The link's state is shared with `/healthz`,
//! `/metrics` and `bellhop status` through [`PmsLink`]; an outage longer than configured raises one ticket.

mod outage;
mod retention;
mod session;
mod state;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use state::{LinkState, PmsLink, PmsSnapshot};

use crate::config::{LinkMode, Pms};
use crate::core::CoreHandle;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first wait before a new attempt; it doubles up to the configured maximum.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The running link.
pub struct PmsAdapter {
    link: Arc<PmsLink>,
    task: JoinHandle<()>,
    outage: JoinHandle<()>,
    retention: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl PmsAdapter {
    /// Starts the link (a server binds its address first, so a mistake shows at start-up).
    pub async fn start(pms: &Pms, core: CoreHandle) -> anyhow::Result<PmsAdapter> {
        let link = Arc::new(PmsLink::new(pms.mode, &pms.address));
        let (stop, stopped) = watch::channel(false);
        let listener = match pms.mode {
            LinkMode::Server => {
                let listener = TcpListener::bind(&pms.address)
                    .await
                    .map_err(|e| anyhow::anyhow!("binding the PMS link to {}: {e}", pms.address))?;
                link.set_listening(listener.local_addr()?);
                Some(listener)
            }
            LinkMode::Client => None,
        };
        let outage = tokio::spawn(outage::run(pms.outage_after, link.clone(), core.clone(), stopped.clone()));
        let retention = tokio::spawn(retention::run(pms.prune_every, core.clone(), stopped.clone()));
        let task = tokio::spawn(supervise(pms.clone(), listener, core, link.clone(), stopped));
        tracing::info!(mode = ?pms.mode, address = %pms.address, "Starting the PMS link.");
        Ok(PmsAdapter { link, task, outage, retention, stop })
    }

    /// The link's shared state.
    pub fn link(&self) -> Arc<PmsLink> {
        self.link.clone()
    }

    /// Ends the link (LE) and stops.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
        let _ = self.outage.await;
        let _ = self.retention.await;
    }
}

/// Connects (or accepts), runs a session, and starts again after a back-off, until stopped.
async fn supervise(
    pms: Pms,
    listener: Option<TcpListener>,
    core: CoreHandle,
    link: Arc<PmsLink>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut backoff = FIRST_BACKOFF;
    let mut pending_status = session::Outbox::default();
    let mut committed = core.subscribe();
    loop {
        link.set_state(LinkState::Connecting, None);
        let stream = tokio::select! {
            _ = pms_stopped(&mut stopped) => break,
            stream = open(&pms, listener.as_ref()) => stream,
        };
        let outcome = match stream {
            Ok((stream, peer)) => {
                link.set_peer(Some(peer));
                let mut session = session::Session::new(&pms, &core, &link, &mut committed, &mut pending_status);
                session.run(stream, &mut stopped).await
            }
            Err(error) => session::Outcome::Failed(error),
        };
        link.set_peer(None);
        match outcome {
            session::Outcome::Stopped => break,
            session::Outcome::Failed(reason) => {
                if link.was_up_since_last_failure() {
                    backoff = FIRST_BACKOFF;
                }
                tracing::warn!(reason = %reason, retry_in_ms = backoff.as_millis() as u64, "The PMS link is down.");
                link.set_state(LinkState::Down, Some(reason));
                link.count_reconnect();
            }
        }
        tokio::select! {
            _ = pms_stopped(&mut stopped) => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(pms.reconnect_max);
    }
    link.set_state(LinkState::Down, Some("stopped".into()));
}

/// A connection: to the PMS (client), or from it (server).
async fn open(pms: &Pms, listener: Option<&TcpListener>) -> Result<(TcpStream, String), String> {
    match listener {
        Some(listener) => {
            let (stream, peer) = listener.accept().await.map_err(|e| format!("accepting: {e}"))?;
            tracing::info!(peer = %peer, "The PMS connected.");
            Ok((stream, peer.to_string()))
        }
        None => match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&pms.address)).await {
            Ok(Ok(stream)) => {
                tracing::info!(address = %pms.address, "Connected to the PMS.");
                Ok((stream, pms.address.clone()))
            }
            Ok(Err(e)) => Err(format!("connecting to {}: {e}", pms.address)),
            Err(_) => Err(format!("connecting to {}: no answer in {CONNECT_TIMEOUT:?}", pms.address)),
        },
    }
}

/// The link's figures in Prometheus text (`docs/metrics.md`).
pub fn render_metrics(pms: &PmsSnapshot, out: &mut String) {
    use std::fmt::Write;
    let gauges = [("bellhop_pms_link_up", "1 while the PMS link is up.", u64::from(pms.state == LinkState::Up))];
    for (name, help, value) in gauges {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
    }
    let counters = [
        ("bellhop_pms_records_received_total", "Records read from the PMS.", pms.records_in),
        ("bellhop_pms_records_sent_total", "Records sent to the PMS.", pms.records_out),
        ("bellhop_pms_garbage_total", "Runs of bytes and records from the PMS that could not be read.", pms.garbage),
        ("bellhop_pms_records_refused_total", "PMS records refused (a room the property does not know).", pms.refused),
        ("bellhop_pms_link_drops_total", "Times the PMS link went down.", pms.reconnects),
        ("bellhop_pms_resyncs_total", "Database resyncs completed.", pms.resyncs),
    ];
    for (name, help, value) in counters {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");
    }
}

/// Resolves once shutdown is asked for (without holding the watch's lock across an await).
async fn pms_stopped(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}
