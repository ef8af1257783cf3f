//! The uploader task: sends the journal after the cursor in batches, retries with backoff, raises alarms, and keeps a
//! status for `/healthz` and the CLI. It only reads the journal, so nothing local ever waits on the WAN.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::batch::{Batch, BatchError, Journal};
use super::cursor::{CursorStore, Loaded};
use super::policy::{self, Verdict};
use super::sign;
use super::transport::{self, Client, Reply};
use crate::config::sync::{read_secret, Endpoint, SyncConfig};

/// While caught up and not woken by the core, the journal is still looked at this often (it catches events appended
/// by another process, such as the CLI issuing a token).
pub const IDLE_POLL: Duration = Duration::from_secs(60);

/// After this many replies in a row that do not move the cursor, the alarm is raised.
pub const STALLS_BEFORE_ALARM: u32 = 10;

/// What the uploader is doing, for `/healthz`, `/metrics` and `bellhop status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// Highest sequence head office has acknowledged (persisted in `sync-cursor`).
    pub cursor: u64,
    /// Highest sequence known to be in the journal.
    pub last_seq_seen: u64,
    /// Events not yet acknowledged: `last_seq_seen - cursor`.
    pub lag_events: u64,
    /// Age of the oldest unacknowledged event, in seconds (0 when caught up).
    pub lag_seconds: u64,
    /// When head office last answered a batch with `200`.
    pub last_success_at: Option<String>,
    /// The last failure, kept after recovery for diagnosis.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<String>,
    /// Set while something needs a person: a misconfiguration reply (401, 403, 404, 409, other 4xx), unreadable
    /// secret or certificate files, a journal that cannot be sent, or a receiver claiming events never sent.
    /// Cleared by the next clean success.
    pub alarm: Option<String>,
    /// Head office's clock minus this gateway's, in seconds, from the last reply's `Date` header.
    pub clock_offset_s: Option<i64>,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
}

#[derive(Default)]
struct Shared {
    status: SyncStatus,
    /// Time of the event after the cursor, while behind.
    oldest_unsynced: Option<jiff::Timestamp>,
}

/// A cloneable view of the uploader's status, for the HTTP API or metrics.
#[derive(Clone)]
pub struct StatusView(Arc<Mutex<Shared>>);

impl StatusView {
    /// The current status, with `lag_seconds` computed now.
    pub fn get(&self) -> SyncStatus {
        let shared = self.0.lock().expect("sync status lock");
        let mut status = shared.status.clone();
        status.lag_seconds = match shared.oldest_unsynced {
            Some(at) if status.lag_events > 0 => jiff::Timestamp::now().duration_since(at).as_secs().max(0) as u64,
            _ => 0,
        };
        status
    }

    fn update(&self, change: impl FnOnce(&mut Shared)) {
        let mut shared = self.0.lock().expect("sync status lock");
        change(&mut shared);
        let s = &mut shared.status;
        s.lag_events = s.last_seq_seen.saturating_sub(s.cursor);
    }
}

/// The running uploader.
pub struct SyncHandle {
    view: StatusView,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SyncHandle {
    /// The current status.
    pub fn status(&self) -> SyncStatus {
        self.view.get()
    }

    /// A view of the status that outlives borrowing the handle (hand it to the HTTP API).
    pub fn view(&self) -> StatusView {
        self.view.clone()
    }

    /// Stops the task, abandoning any request in flight (its batch is sent again next time: receivers ignore
    /// duplicates), and waits for it to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts uploads.
pub struct Uploader;

impl Uploader {
    /// Spawns the uploader on the current tokio runtime. `config` should have passed [`SyncConfig::validate`];
    /// `data_dir` holds `bellhop.db` (read only) and `sync-cursor` (written); `notify` carries the last committed
    /// sequence from the core, and each change wakes the uploader.
    pub fn start(config: SyncConfig, data_dir: PathBuf, notify: watch::Receiver<u64>) -> SyncHandle {
        let view = StatusView(Arc::new(Mutex::new(Shared::default())));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(config, data_dir, notify, stop_rx, view.clone()));
        SyncHandle { view, stop, task }
    }
}

/// The outcome of one step.
enum Step {
    /// Nothing to send.
    Idle,
    /// A batch was acknowledged and the cursor moved.
    Progress,
    /// Transient failure; an optional minimum wait (`Retry-After`).
    Retry(String, Option<Duration>),
    /// Needs a person; retry slowly.
    Alarm(String),
}

/// What the task keeps between steps.
struct Worker {
    config: SyncConfig,
    data_dir: PathBuf,
    cursors: CursorStore,
    cursor: u64,
    journal: Option<Arc<Mutex<Journal>>>,
    session: Option<(Vec<u8>, Client)>,
    /// Consecutive 200 replies that did not move the cursor.
    stalls: u32,
    view: StatusView,
}

async fn run(
    config: SyncConfig,
    data_dir: PathBuf,
    mut notify: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
    view: StatusView,
) {
    let cursors = CursorStore::new(&data_dir, &config.url, &config.gateway_id);
    let loaded = {
        let cursors = cursors.clone();
        tokio::task::spawn_blocking(move || cursors.load()).await.map_err(|e| std::io::Error::other(e.to_string()))
    };
    let cursor = match loaded.and_then(|r| r) {
        Ok(Loaded::Found(cursor)) => cursor,
        Ok(Loaded::Missing) => 0,
        Ok(Loaded::OtherTarget { url, gateway_id }) => {
            tracing::warn!(%url, %gateway_id, "the sync cursor belongs to another receiver; starting from 0");
            0
        }
        Ok(Loaded::Unreadable(why)) => {
            tracing::warn!(%why, "the sync cursor file is unreadable; starting from 0");
            0
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the sync cursor; starting from 0");
            0
        }
    };
    view.update(|s| s.status.cursor = cursor);
    let mut worker = Worker { config, data_dir, cursors, cursor, journal: None, session: None, stalls: 0, view };
    let mut notify_alive = true;
    let mut failures = 0u32;
    let cap = Duration::from_secs(worker.config.backoff_max_s);
    loop {
        if *stop.borrow() {
            break;
        }
        let seen = *notify.borrow_and_update();
        worker.view.update(|s| s.status.last_seq_seen = s.status.last_seq_seen.max(seen));
        let step = tokio::select! {
            step = worker.step() => step,
            _ = stop.changed() => break,
        };
        let wait = match step {
            Step::Progress => {
                failures = 0;
                continue;
            }
            Step::Idle => {
                failures = 0;
                tokio::select! {
                    changed = notify.changed(), if notify_alive => notify_alive = changed.is_ok(),
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => break,
                }
                continue;
            }
            Step::Retry(error, at_least) => {
                failures = failures.saturating_add(1);
                let wait = policy::backoff(failures, cap, rand::random::<f64>()).max(at_least.unwrap_or_default());
                tracing::warn!(%error, failures, retry_in_ms = wait.as_millis() as u64, "sync failed; will retry");
                worker.failed(error, None, failures);
                wait.min(cap)
            }
            Step::Alarm(alarm) => {
                failures = failures.saturating_add(1);
                let wait = policy::alarm_wait(cap, rand::random::<f64>());
                tracing::error!(%alarm, retry_in_s = wait.as_secs(), "sync alarm");
                worker.session = None;
                worker.failed(alarm.clone(), Some(alarm), failures);
                wait
            }
        };
        // While backing off, the core's notifications are not a reason to try again early.
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
    }
}

pub(super) fn now_text() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Worker {
    fn failed(&self, error: String, alarm: Option<String>, failures: u32) {
        self.view.update(|s| {
            s.status.last_error = Some(error);
            s.status.last_error_at = Some(now_text());
            s.status.consecutive_failures = failures;
            if alarm.is_some() {
                s.status.alarm = alarm;
            }
        });
    }

    async fn step(&mut self) -> Step {
        let batch = match self.read().await {
            Ok(Some(batch)) => batch,
            Ok(None) => return Step::Idle,
            Err(step) => return step,
        };
        if self.session.is_none() {
            match prepare(&self.config) {
                Ok(session) => self.session = Some(session),
                Err(alarm) => return Step::Alarm(alarm),
            }
        }
        let (secret, client) = self.session.as_mut().expect("prepared above");
        let timestamp = sign::timestamp(jiff::Timestamp::now());
        let signed = sign::sign(secret, "POST", &client.endpoint().path, &timestamp, &batch.body);
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("content-encoding", "gzip".to_owned()),
            ("accept", "application/json".to_owned()),
            ("user-agent", concat!("bellhop/", env!("CARGO_PKG_VERSION")).to_owned()),
            (sign::GATEWAY_HEADER, self.config.gateway_id.clone()),
            (sign::TIMESTAMP_HEADER, signed.timestamp),
            (sign::CONTENT_SHA256_HEADER, signed.content_sha256),
            (sign::SIGNATURE_HEADER, signed.signature),
        ];
        let sent_at = jiff::Timestamp::now();
        let limit = Duration::from_secs(self.config.timeout_s);
        let reply = match tokio::time::timeout(limit, client.post(&headers, batch.body.clone())).await {
            Err(_) => return Step::Retry(format!("no complete reply within {}s", self.config.timeout_s), None),
            Ok(Err(error)) => return Step::Retry(error, None),
            Ok(Ok(reply)) => reply,
        };
        self.record_clock(&reply, sent_at);
        match policy::classify(reply.status, &reply.body) {
            Verdict::Stored(stored_through) => self.stored(&batch, stored_through).await,
            Verdict::Retry(error) => {
                let at_least = match reply.status {
                    429 | 503 => reply.retry_after.map(Duration::from_secs),
                    _ => None,
                };
                Step::Retry(error, at_least)
            }
            Verdict::Alarm(alarm) => Step::Alarm(alarm),
        }
    }

    /// Reads the next batch and refreshes the lag figures.
    async fn read(&mut self) -> Result<Option<Batch>, Step> {
        let journal = match &self.journal {
            Some(journal) => journal.clone(),
            None => {
                let dir = self.data_dir.clone();
                let opened = tokio::task::spawn_blocking(move || Journal::open(&dir))
                    .await
                    .map_err(|e| Step::Retry(format!("journal reader: {e}"), None))?
                    .map_err(|e| Step::Retry(format!("opening the journal: {e}"), None))?;
                let journal = Arc::new(Mutex::new(opened));
                self.journal = Some(journal.clone());
                journal
            }
        };
        let (cursor, gateway, max_events, max_bytes) =
            (self.cursor, self.config.gateway_id.clone(), self.config.batch_max_events, self.config.batch_max_bytes);
        let result = tokio::task::spawn_blocking(move || {
            let journal = journal.lock().expect("journal lock");
            let tail = journal.tail()?;
            let oldest = if tail > cursor { journal.time_of(cursor + 1)? } else { None };
            let batch = journal.read_batch(&gateway, cursor, max_events, max_bytes)?;
            Ok::<_, BatchError>((tail, oldest, batch))
        })
        .await
        .map_err(|e| Step::Retry(format!("journal reader: {e}"), None))?;
        match result {
            Ok((tail, oldest, batch)) => {
                self.view.update(|s| {
                    s.status.last_seq_seen = s.status.last_seq_seen.max(tail);
                    s.oldest_unsynced = oldest.and_then(|at| at.parse().ok());
                });
                Ok(batch)
            }
            Err(BatchError::Corrupt(why)) => Err(Step::Alarm(format!("the journal cannot be sent: {why}"))),
            Err(e @ BatchError::Sqlite(_)) => {
                self.journal = None;
                Err(Step::Retry(e.to_string(), None))
            }
        }
    }

    fn record_clock(&self, reply: &Reply, sent_at: jiff::Timestamp) {
        let Some(server) = reply.date.as_deref().and_then(parse_http_date) else { return };
        let now = jiff::Timestamp::now();
        let offset = clock_offset(server, sent_at, now);
        self.view.update(|s| s.status.clock_offset_s = Some(offset));
    }

    async fn stored(&mut self, batch: &Batch, stored_through: u64) -> Step {
        let advance = policy::advance(self.cursor, batch.last, stored_through);
        let moved = advance.cursor > self.cursor;
        if moved {
            let (cursors, cursor) = (self.cursors.clone(), advance.cursor);
            let saved = tokio::task::spawn_blocking(move || cursors.save(cursor))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r);
            if let Err(e) = saved {
                // The cursor still moves in memory; after a crash the batch is sent again, which is harmless.
                tracing::error!(error = %e, "cannot save the sync cursor");
                self.view.update(|s| {
                    s.status.last_error = Some(format!("saving the sync cursor: {e}"));
                    s.status.last_error_at = Some(now_text());
                });
            }
            self.cursor = advance.cursor;
            tracing::debug!(cursor = self.cursor, first = batch.first, last = batch.last, "sync batch stored");
        }
        if let Some(warning) = &advance.warning {
            tracing::warn!(%warning, "sync reply");
        }
        if let Some(alarm) = &advance.alarm {
            tracing::error!(%alarm, "sync receiver misbehaves");
        }
        self.view.update(|s| {
            s.status.cursor = self.cursor;
            s.status.last_success_at = Some(now_text());
            s.status.alarm = advance.alarm.clone();
            if moved {
                s.status.consecutive_failures = 0;
            }
        });
        if moved {
            self.stalls = 0;
            return Step::Progress;
        }
        self.stalls += 1;
        let why = advance.warning.unwrap_or_else(|| "stored nothing new".into());
        let error = format!("the receiver did not advance: {why} (sent {}..={})", batch.first, batch.last);
        if self.stalls >= STALLS_BEFORE_ALARM {
            // The receiver is behind our cursor and stays there: it may have lost data. Deleting `sync-cursor`
            // makes the gateway send everything again.
            Step::Alarm(format!("{error}, {} times in a row; head office may have lost events", self.stalls))
        } else {
            Step::Retry(error, None)
        }
    }
}

/// Reads the secret and builds the HTTPS client.
pub(super) fn prepare(config: &SyncConfig) -> Result<(Vec<u8>, Client), String> {
    let secret = read_secret(&config.secret_file).map_err(|e| format!("sync.secret_file: {e}"))?;
    let endpoint = Endpoint::parse(&config.url, &config.gateway_id).map_err(|e| format!("sync.url: {e}"))?;
    let tls = if endpoint.tls { Some(transport::client_config(config)?) } else { None };
    Ok((secret, Client::new(endpoint, tls)?))
}

/// Parses an HTTP `Date` header (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(value: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value.trim()).ok()
}

/// Server time minus local time, taking the local time as the middle of the request, in whole seconds.
pub fn clock_offset(server: jiff::Timestamp, sent: jiff::Timestamp, received: jiff::Timestamp) -> i64 {
    let half = received.duration_since(sent) / 2;
    let local_mid = sent.checked_add(half).unwrap_or(received);
    let offset = server.duration_since(local_mid).as_secs_f64();
    offset.round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse_and_give_an_offset() {
        let server = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(server.to_string(), "1994-11-06T08:49:37Z");
        assert!(parse_http_date("yesterday").is_none());
        let sent: jiff::Timestamp = "1994-11-06T08:48:36Z".parse().unwrap();
        let received: jiff::Timestamp = "1994-11-06T08:48:38Z".parse().unwrap();
        assert_eq!(clock_offset(server, sent, received), 60);
        assert_eq!(clock_offset(sent, received, received), -2);
    }

    #[test]
    fn lag_seconds_come_from_the_oldest_unsynced_event() {
        let view = StatusView(Arc::new(Mutex::new(Shared::default())));
        view.update(|s| {
            s.status.cursor = 10;
            s.status.last_seq_seen = 15;
            s.oldest_unsynced = Some(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(90));
        });
        let status = view.get();
        assert_eq!(status.lag_events, 5);
        assert!((90..=95).contains(&status.lag_seconds), "{}", status.lag_seconds);
        view.update(|s| s.status.cursor = 15);
        assert_eq!((view.get().lag_events, view.get().lag_seconds), (0, 0));
    }
}
