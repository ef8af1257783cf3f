//! The core: one writer thread that turns commands into journal events, commits them in groups, and only then
//! answers. Adapters send [`Command`]s through a [`CoreHandle`]; committed batches are broadcast as [`Committed`].

pub mod accounts;
mod alerts;
mod apply;
mod command;
mod counters;
mod notices;
mod pms;
mod sla;
mod staffing;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{broadcast, mpsc, watch};

pub use command::{
    AlertResults, Command, CoreError, DeviceObservation, FeedbackOrigin, GrmsSignal, LocationChange, NewTicketRequest,
    Origin, PmsSignal, Reply,
};

pub use alerts::AlertResult;
pub use counters::{NoticeCounters, SlaCounters, CHANNEL_FAMILIES, TARGETS};
pub use notices::Outcome as NoticeOutcome;

use crate::clock::Clock;
use crate::config::Config;
use crate::engine::flood::Flood;
use crate::event::Event;
use crate::log_limit::LogLimit;
use crate::store::{Store, StoreError};

/// The most commands applied in one transaction.
pub const MAX_BATCH: usize = 4096;

/// A batch that is now durable.
#[derive(Debug)]
pub struct Committed {
    /// The events, in sequence order.
    pub events: Vec<Event>,
    /// The locations whose open tickets may have changed.
    pub locations: Vec<String>,
}

/// A batch at least this large means the writer is under load, so a short wait for more is worth it.
const COMMIT_SIBLINGS: usize = 4;
/// No wait once a batch is this large.
const GROUP_TARGET: usize = 256;
/// How long the writer waits for more commands under load.
const COMMIT_DELAY: std::time::Duration = std::time::Duration::from_micros(500);

/// Counters the writer keeps for status and metrics.
#[derive(Debug, Default)]
pub struct CoreStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Events committed.
    pub events: AtomicU64,
    /// Commits that failed (disk full, I/O error); their commands were answered `unavailable`.
    pub failed_commits: AtomicU64,
    /// Total time spent committing, in microseconds.
    pub commit_micros: AtomicU64,
    /// The last committed sequence number.
    pub last_seq: AtomicU64,
    /// When the last commit failed (steady-clock milliseconds, plus one), for readiness; 0 again once a commit
    /// that wrote events succeeds.
    pub commit_failed_at: AtomicU64,
    /// SLA breaches and escalations committed.
    pub sla: SlaCounters,
    /// Notice deliveries and failures committed, by channel.
    pub notices: NoticeCounters,
}

/// The adapters' way into the core.
#[derive(Clone)]
pub struct CoreHandle {
    commands: mpsc::Sender<Command>,
    committed: broadcast::Sender<Arc<Committed>>,
    stats: Arc<CoreStats>,
    sla_due: watch::Receiver<Option<i64>>,
}

impl CoreHandle {
    /// Sends a command; fails only when the core has stopped.
    pub async fn send(&self, command: Command) -> Result<(), CoreError> {
        self.commands.send(command).await.map_err(|_| CoreError::Unavailable("the core has stopped".into()))
    }

    /// Sends a command and waits for its reply.
    pub async fn call<T>(&self, make: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> Command) -> Result<T, CoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(make(tx)).await?;
        rx.await.map_err(|_| CoreError::Unavailable("the core stopped before answering".into()))
    }

    /// Subscribes to committed batches.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.committed.subscribe()
    }

    /// The writer's counters.
    pub fn stats(&self) -> &CoreStats {
        &self.stats
    }

    /// When the earliest SLA clock is due (ms since the epoch), as far as the writer knows; it changes whenever a
    /// commit brings an earlier one, and after every tick.
    pub fn sla_due(&self) -> watch::Receiver<Option<i64>> {
        self.sla_due.clone()
    }
}

/// Starts the writer thread on `store`. It stops when every [`CoreHandle`] is dropped, after answering what was
/// queued; join the returned handle to wait for its last commit.
pub fn start(
    mut store: Store,
    config: watch::Receiver<Arc<Config>>,
    clock: Arc<dyn Clock>,
) -> (CoreHandle, std::thread::JoinHandle<()>) {
    if let Err(error) = store.checkpoint_in_background() {
        tracing::warn!(%error, "Checkpoints stay on the writer's connection.");
    }
    let (commands, rx) = mpsc::channel(MAX_BATCH * 2);
    let (committed, _) = broadcast::channel(1024);
    let stats = Arc::new(CoreStats::default());
    stats.last_seq.store(store.last_seq().unwrap_or(0), Ordering::Relaxed);
    let (sla_due_tx, sla_due) = watch::channel(store.tickets().next_sla_due().unwrap_or(Some(0)));
    let handle = CoreHandle { commands, committed: committed.clone(), stats: stats.clone(), sla_due };
    let writer = Writer {
        store,
        config,
        clock,
        committed,
        stats,
        flood: Flood::default(),
        sla_due: sla_due_tx,
        last_reading: None,
        settings_checked: false,
        rejections: LogLimit::new(std::time::Duration::from_secs(60)),
    };
    let join = std::thread::Builder::new()
        .name("bellhop-writer".into())
        .spawn(move || writer.run(rx))
        .expect("spawning the writer thread");
    (handle, join)
}

struct Writer {
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    clock: Arc<dyn Clock>,
    committed: broadcast::Sender<Arc<Committed>>,
    stats: Arc<CoreStats>,
    flood: Flood,
    sla_due: watch::Sender<Option<i64>>,
    /// The wall and steady clocks at the last batch, to notice a step of the wall clock.
    last_reading: Option<(jiff::Timestamp, std::time::Duration)>,
    /// Whether open SLA clocks were checked against the configuration since the start.
    settings_checked: bool,
    /// Keeps the log of rejected device messages to one line a minute per device.
    rejections: LogLimit,
}

/// A wall clock that moved this much more (or less) than the steady clock has stepped.
const STEP_THRESHOLD_MS: i64 = 2_000;

/// Applies one command directly on a store and commits it, outside the running writer: for the command line
/// (binding a device while the daemon may run; `BEGIN IMMEDIATE` keeps the chain whole). Its reply is sent after
/// the commit, as in the daemon.
pub fn apply_once(store: &mut Store, config: &Config, clock: &dyn Clock, command: Command) -> Result<(), StoreError> {
    let now = to_millisecond(clock.now());
    let at = crate::clock::format_time(now);
    let mut txn = store.begin()?;
    let mut locations = Vec::new();
    let (mut flood, mut earliest_due) = (Flood::default(), None);
    let mut cx = apply::Cx {
        txn: &mut txn,
        config,
        at: &at,
        now,
        touched: &mut locations,
        flood: &mut flood,
        earliest_due: &mut earliest_due,
    };
    let reply = apply::apply(&mut cx, command);
    match txn.commit() {
        Ok(_) => {
            reply.send();
            Ok(())
        }
        Err(error) => {
            reply.fail(&error.to_string());
            Err(error)
        }
    }
}

/// The batch's time to the millisecond, as the journal records it: SLA clocks then fall due on whole milliseconds,
/// exactly where the store and the scheduler look for them.
fn to_millisecond(now: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}

/// One log line per committed ticket change, with the ticket, location and item as journal fields (`TICKET=`), and
/// one per rejected device message so an installer can see why a TV fails, at most one a minute per device (the
/// next line says how many were held back).
fn log_events(events: &[Event], rejections: &mut LogLimit) {
    use crate::event::EventBody;
    for event in events {
        match &event.body {
            EventBody::TicketRaised { ticket, location, item, department, source, .. } => {
                tracing::info!(ticket, location, item, department, source = source.as_str(), "Ticket raised.")
            }
            EventBody::TicketStatusChanged { ticket, to, .. } => {
                tracing::info!(ticket, status = to.as_str(), actor = event.actor, "Ticket status changed.")
            }
            EventBody::RequestRejected { location, device, request_id, code, message } => {
                if let Some(held_back) = rejections.allow(device, Instant::now()) {
                    let request = request_id.as_deref().unwrap_or("");
                    let code = code.as_str();
                    tracing::warn!(device, location, request, code, reason = message, held_back, "Request rejected.");
                }
            }
            EventBody::PresenceRejected { location, device, code, message } => {
                if let Some(held_back) = rejections.allow(device, Instant::now()) {
                    let code = code.as_str();
                    tracing::warn!(device, location, code, reason = message, held_back, "Presence rejected.");
                }
            }
            _ => {}
        }
    }
}

/// Takes whatever is queued, up to [`MAX_BATCH`].
fn drain(rx: &mut mpsc::Receiver<Command>, batch: &mut Vec<Command>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(command) => batch.push(command),
            Err(_) => break,
        }
    }
}

impl Writer {
    /// Tells the scheduler when the earliest SLA clock is due: after a tick, the store's earliest; otherwise only
    /// when this batch brought an earlier one.
    fn publish_due(&self, written: Option<i64>, ticked: bool) {
        if ticked {
            let next = self.store.tickets().next_sla_due().unwrap_or(None);
            self.sla_due.send_replace(next);
        } else if let Some(due) = written {
            self.sla_due.send_if_modified(|current| match current {
                Some(known) if *known <= due => false,
                _ => {
                    *current = Some(due);
                    true
                }
            });
        }
    }

    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = Vec::with_capacity(64);
            batch.push(first);
            drain(&mut rx, &mut batch);
            // Under load (several commands already waiting), wait a moment for more so one fsync carries more of
            // them, as PostgreSQL's commit_delay does with commit_siblings. A lone command is never delayed.
            if (COMMIT_SIBLINGS..GROUP_TARGET).contains(&batch.len()) {
                std::thread::sleep(COMMIT_DELAY);
                drain(&mut rx, &mut batch);
            }
            self.commit_batch(batch);
        }
        tracing::info!("Writer stopped: every command answered.");
    }

    /// How far the wall clock stepped since the last batch, beyond what the steady clock says passed.
    fn clock_step(&mut self, now: jiff::Timestamp, steady: std::time::Duration) -> Option<i64> {
        let step = self.last_reading.map(|(wall, then)| {
            (now.as_millisecond() - wall.as_millisecond()) - steady.saturating_sub(then).as_millis() as i64
        });
        self.last_reading = Some((now, steady));
        step.filter(|ms| ms.abs() > STEP_THRESHOLD_MS)
    }

    fn commit_batch(&mut self, batch: Vec<Command>) {
        // The first batch after a start checks too: the file may have been edited while the daemon was stopped.
        let config_changed = self.config.has_changed().unwrap_or(false) || !self.settings_checked;
        self.settings_checked = true;
        let config = self.config.borrow_and_update().clone();
        let (now, steady) = self.clock.reading();
        let now = to_millisecond(now);
        let at = crate::clock::format_time(now);
        let step = self.clock_step(now, steady);
        let started = Instant::now();
        let mut replies = Vec::with_capacity(batch.len());
        let mut locations = Vec::new();
        let mut txn = match self.store.begin() {
            Ok(txn) => txn,
            Err(error) => {
                self.stats.failed_commits.fetch_add(1, Ordering::Relaxed);
                self.stats.commit_failed_at.store(steady.as_millis() as u64 + 1, Ordering::Relaxed);
                tracing::error!(%error, commands = batch.len(), "Cannot start a transaction; answering the batch unavailable.");
                for command in batch {
                    command.into_reply().fail(&error.to_string());
                }
                return;
            }
        };
        let mut earliest_due = None;
        let mut cx = apply::Cx {
            txn: &mut txn,
            config: &config,
            at: &at,
            now,
            touched: &mut locations,
            flood: &mut self.flood,
            earliest_due: &mut earliest_due,
        };
        if let Some(delta_ms) = step {
            tracing::warn!(delta_ms, "The system clock stepped; SLA clocks are shifted so no time is gained or lost.");
            if let Err(error) = cx.guarded(|cx| cx.clock_stepped(delta_ms)) {
                tracing::error!(%error, "SLA clocks could not be shifted after a clock step.");
            }
        }
        if config_changed {
            if let Err(error) = cx.guarded(|cx| cx.retarget_if_changed()) {
                tracing::error!(%error, "SLA clocks could not be recomputed for the new configuration.");
            }
            if let Err(error) = cx.guarded(|cx| cx.hand_off_departed()) {
                tracing::error!(%error, "Tickets of staff no longer on the roster could not be handed on.");
            }
        }
        for command in batch {
            replies.push(apply::apply(&mut cx, command));
        }
        let mut tick_answered = false;
        for reply in &replies {
            tick_answered |= matches!(reply, Reply::Due(..));
        }
        if cfg!(feature = "fault-ack-before-commit") {
            // The deliberately broken build: answer first, then commit as slowly as an SD card might.
            for reply in replies.drain(..) {
                reply.send();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let outcome = txn.commit();
        match outcome {
            Ok(events) => {
                self.store.committed();
                let micros = started.elapsed().as_micros() as u64;
                self.stats.commits.fetch_add(1, Ordering::Relaxed);
                self.stats.commit_micros.fetch_add(micros, Ordering::Relaxed);
                self.stats.events.fetch_add(events.len() as u64, Ordering::Relaxed);
                if let Some(last) = events.last() {
                    self.stats.last_seq.store(last.seq, Ordering::Relaxed);
                    self.stats.commit_failed_at.store(0, Ordering::Relaxed);
                }
                self.stats.sla.count(&events);
                self.stats.notices.count(&events);
                for reply in replies {
                    reply.send();
                }
                self.publish_due(earliest_due, tick_answered);
                log_events(&events, &mut self.rejections);
                locations.sort();
                locations.dedup();
                if !events.is_empty() {
                    let _ = self.committed.send(Arc::new(Committed { events, locations }));
                }
            }
            Err(error) => {
                self.stats.failed_commits.fetch_add(1, Ordering::Relaxed);
                self.stats.commit_failed_at.store(steady.as_millis() as u64 + 1, Ordering::Relaxed);
                tracing::error!(%error, commands = replies.len(), "Commit failed; answering the batch unavailable.");
                for reply in replies {
                    reply.fail(&error.to_string());
                }
            }
        }
    }
}
