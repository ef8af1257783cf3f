//! Configuration pull: head office's document for the managed sections is fetched with its ETag, validated whole
//! against the local file, kept in `{data_dir}/managed.toml`, applied through the daemon's reload (the SIGHUP path),
//! and the outcome is reported back. The last good document stays in force when a new one is refused.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use super::policy;
use super::sign;
use super::transport::Client;
use super::uploader::{now_text, prepare};
use crate::config::sync::SyncConfig;
use crate::config::MANAGED_FILE;

/// The ETag of the document in `managed.toml`, inside the data directory.
pub const MANAGED_ETAG_FILE: &str = "managed.etag";
/// Where a candidate document is written while it is validated.
pub const CANDIDATE_FILE: &str = "managed.toml.new";

/// A request to reload the configuration (the same as SIGHUP); the daemon answers with the outcome.
pub type ReloadRequest = oneshot::Sender<Result<(), String>>;

/// What the gateway tells head office after trying a document: `POST .../config-status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The document's ETag.
    pub etag: String,
    /// Whether it is now in force.
    pub applied: bool,
    /// Every problem, as `file:line: key: message`.
    pub errors: Vec<String>,
}

/// What the configuration pull is doing, for `/healthz` (`config_pull`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PullStatus {
    /// The ETag of head office's document in force (`managed.etag`), when there is one.
    pub etag: Option<String>,
    /// When head office last answered a configuration request.
    pub checked_at: Option<String>,
    /// Why the last pull failed, or why head office's latest document was refused; cleared by a later clean poll.
    pub error: Option<String>,
}

/// The running configuration pull.
pub struct PullHandle {
    status: Arc<Mutex<PullStatus>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl PullHandle {
    /// Spawns the pull task. `config_path` is the local configuration file, `data_dir` the data directory in force
    /// (with any `--data-dir`); `reload` reaches the daemon's reload (the SIGHUP path).
    pub fn start(
        config: SyncConfig,
        config_path: PathBuf,
        data_dir: PathBuf,
        reload: mpsc::Sender<ReloadRequest>,
    ) -> PullHandle {
        let status = Arc::new(Mutex::new(PullStatus::default()));
        let (stop, stop_rx) = watch::channel(false);
        let worker = Worker {
            config,
            config_path,
            data_dir,
            status: status.clone(),
            reload,
            session: None,
            etag: None,
            refused: None,
            pending: None,
        };
        let task = tokio::spawn(run(worker, stop_rx));
        PullHandle { status, stop, task }
    }

    /// The status, shared (for the HTTP API).
    pub fn status(&self) -> Arc<Mutex<PullStatus>> {
        self.status.clone()
    }

    /// Stops the task (a request in flight is abandoned; a document being applied is finished first only up to the
    /// next await) and waits for it to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The outcome of one poll.
enum Outcome {
    /// Head office answered; wait `config_poll_s`.
    Done,
    /// Transient failure: back off (at least the `Retry-After`, if any).
    Retry(String, Option<Duration>),
    /// Needs a person (401, 403, other 4xx, unreadable secret): retry at the cap.
    Alarm(String),
}

/// What an answer to the `GET` means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 304: the document in force is current.
    Unchanged,
    /// 404: head office publishes no document for this gateway; the local file alone applies.
    NothingPublished,
    /// 200 with an ETag: a document to consider.
    Document(String),
    /// Try again later.
    Retry(String),
    /// Misconfiguration.
    Alarm(String),
}

/// Classifies the reply to `GET .../config` by status and `ETag` (kept as sent, quotes included: it is opaque).
pub fn classify(status: u16, etag: Option<&str>) -> Answer {
    match status {
        200 => match etag.map(str::trim).filter(|e| !unquote(e).is_empty()) {
            Some(etag) => Answer::Document(etag.to_owned()),
            None => Answer::Retry("head office sent a configuration without an ETag".into()),
        },
        304 => Answer::Unchanged,
        404 => Answer::NothingPublished,
        401 | 403 => Answer::Alarm(format!(
            "head office refused the configuration request ({status}); check sync.gateway_id, the secret and the clock"
        )),
        408 | 429 | 500..=599 => {
            Answer::Retry(format!("head office could not answer the configuration request ({status})"))
        }
        _ => Answer::Alarm(format!("unexpected reply {status} to the configuration request")),
    }
}

/// The value inside an `ETag` header: without `W/` and the quotes.
fn unquote(etag: &str) -> String {
    let etag = etag.trim();
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.strip_prefix('"').and_then(|e| e.strip_suffix('"')).unwrap_or(etag).to_owned()
}

struct Worker {
    config: SyncConfig,
    config_path: PathBuf,
    data_dir: PathBuf,
    status: Arc<Mutex<PullStatus>>,
    reload: mpsc::Sender<ReloadRequest>,
    session: Option<(Vec<u8>, Client)>,
    /// The ETag of the document in force.
    etag: Option<String>,
    /// The last refused document's ETag and why, so it is not validated again at every poll.
    refused: Option<(String, String)>,
    /// A report not yet delivered.
    pending: Option<Report>,
}

async fn run(mut worker: Worker, mut stop: watch::Receiver<bool>) {
    let etag_file = worker.data_dir.join(MANAGED_ETAG_FILE);
    let in_force = worker.data_dir.join(MANAGED_FILE).exists();
    worker.etag = match std::fs::read_to_string(&etag_file) {
        Ok(text) if in_force && !text.trim().is_empty() => Some(text.trim().to_owned()),
        _ => None,
    };
    let etag = worker.etag.clone();
    worker.update(|s| s.etag = etag);
    let poll = Duration::from_secs(worker.config.config_poll_s);
    let cap = Duration::from_secs(worker.config.backoff_max_s);
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            break;
        }
        let outcome = tokio::select! {
            outcome = worker.poll() => outcome,
            _ = stop.changed() => break,
        };
        let wait = match outcome {
            Outcome::Done => {
                failures = 0;
                let error = worker.refused.as_ref().map(|(_, why)| why.clone());
                worker.update(|s| {
                    s.checked_at = Some(now_text());
                    s.error = error;
                });
                poll
            }
            Outcome::Retry(error, at_least) => {
                failures = failures.saturating_add(1);
                let wait = policy::backoff(failures, cap, rand::random::<f64>()).max(at_least.unwrap_or_default());
                tracing::warn!(%error, failures, retry_in_ms = wait.as_millis() as u64, "configuration pull failed");
                worker.update(|s| s.error = Some(error));
                wait.min(cap).min(poll)
            }
            Outcome::Alarm(error) => {
                failures = failures.saturating_add(1);
                let wait = policy::alarm_wait(cap, rand::random::<f64>());
                tracing::error!(%error, retry_in_s = wait.as_secs(), "configuration pull refused");
                worker.session = None;
                worker.update(|s| s.error = Some(error));
                wait
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
    }
}

impl Worker {
    fn update(&self, change: impl FnOnce(&mut PullStatus)) {
        change(&mut self.status.lock().expect("pull status lock"));
    }

    fn session(&mut self) -> Result<&mut (Vec<u8>, Client), String> {
        if self.session.is_none() {
            self.session = Some(prepare(&self.config)?);
        }
        Ok(self.session.as_mut().expect("prepared above"))
    }

    /// Sends one signed request and reads the whole reply within `timeout_s`.
    async fn send(
        &mut self,
        method: hyper::Method,
        leaf: &str,
        extra: Vec<(&'static str, String)>,
        body: Bytes,
    ) -> Result<super::transport::Reply, Outcome> {
        let (gateway, limit) = (self.config.gateway_id.clone(), self.config.timeout_s);
        let (secret, client) = self.session().map_err(Outcome::Alarm)?;
        let path = client.endpoint().sibling(leaf);
        let signed = sign::sign(secret, method.as_str(), &path, &sign::timestamp(jiff::Timestamp::now()), &body);
        let mut headers = vec![
            ("user-agent", concat!("bellhop/", env!("CARGO_PKG_VERSION")).to_owned()),
            (sign::GATEWAY_HEADER, gateway),
            (sign::TIMESTAMP_HEADER, signed.timestamp),
            (sign::CONTENT_SHA256_HEADER, signed.content_sha256),
            (sign::SIGNATURE_HEADER, signed.signature),
        ];
        headers.extend(extra);
        let request = client.request(method, &path, &headers, body);
        match tokio::time::timeout(Duration::from_secs(limit), request).await {
            Err(_) => Err(Outcome::Retry(format!("no complete reply within {limit}s"), None)),
            Ok(Err(error)) => Err(Outcome::Retry(error, None)),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    /// Delivers the pending report, then asks for a new document and applies it.
    async fn poll(&mut self) -> Outcome {
        if let Err(outcome) = self.deliver().await {
            return outcome;
        }
        let mut extra = vec![("accept", "application/toml".to_owned())];
        if let Some(etag) = &self.etag {
            extra.push(("if-none-match", etag.clone()));
        }
        let reply = match self.send(hyper::Method::GET, "config", extra, Bytes::new()).await {
            Ok(reply) => reply,
            Err(outcome) => return outcome,
        };
        match classify(reply.status, reply.etag.as_deref()) {
            Answer::Unchanged => {
                self.refused = None;
                Outcome::Done
            }
            Answer::NothingPublished => Outcome::Done,
            Answer::Retry(error) => Outcome::Retry(error, reply.retry_after.map(Duration::from_secs)),
            Answer::Alarm(error) => Outcome::Alarm(error),
            Answer::Document(etag) if Some(&etag) == self.etag.as_ref() => {
                self.refused = None;
                Outcome::Done
            }
            Answer::Document(etag) if self.refused.as_ref().is_some_and(|(refused, _)| *refused == etag) => {
                Outcome::Done
            }
            Answer::Document(etag) => {
                let report = self.apply(etag, reply.body).await;
                self.pending = Some(report);
                match self.deliver().await {
                    Ok(()) => Outcome::Done,
                    Err(outcome) => outcome,
                }
            }
        }
    }

    /// Sends the pending report, if any; it stays pending until head office accepts it.
    async fn deliver(&mut self) -> Result<(), Outcome> {
        let Some(report) = self.pending.clone() else { return Ok(()) };
        let body = Bytes::from(serde_json::to_vec(&report).expect("a report serializes"));
        let extra = vec![("content-type", "application/json".to_owned())];
        let reply = self.send(hyper::Method::POST, "config-status", extra, body).await?;
        match reply.status {
            200..=299 => {
                self.pending = None;
                Ok(())
            }
            401 | 403 => {
                Err(Outcome::Alarm(format!("head office refused the configuration report ({})", reply.status)))
            }
            408 | 429 | 500..=599 => Err(Outcome::Retry(
                format!("head office could not take the configuration report ({})", reply.status),
                reply.retry_after.map(Duration::from_secs),
            )),
            status => {
                // Head office does not want it: not worth retrying forever.
                tracing::warn!(status, etag = %report.etag, "head office refused the configuration report; dropped");
                self.pending = None;
                Ok(())
            }
        }
    }

    /// Validates a document whole against the local file and applies it, or keeps the configuration in force.
    async fn apply(&mut self, etag: String, body: Bytes) -> Report {
        let (config_path, data_dir) = (self.config_path.clone(), self.data_dir.clone());
        let candidate = data_dir.join(CANDIDATE_FILE);
        let checked = {
            let etag = etag.clone();
            tokio::task::spawn_blocking(move || check_and_install(&config_path, &data_dir, &candidate, &body, &etag))
                .await
                .unwrap_or_else(|e| Err(vec![format!("validation task: {e}")]))
        };
        if let Err(errors) = checked {
            tracing::error!(%etag, errors = %errors.join("; "), "head office's configuration is invalid; the last good one stays in force");
            let why = format!("head office's configuration {etag} was refused: {}", errors.join("; "));
            self.refused = Some((etag.clone(), why));
            return Report { etag, applied: false, errors };
        }
        self.etag = Some(etag.clone());
        self.refused = None;
        let in_force = etag.clone();
        self.update(|s| s.etag = Some(in_force));
        let (reply, answer) = oneshot::channel();
        let reloaded = match self.reload.send(reply).await {
            Ok(()) => answer.await.unwrap_or_else(|_| Err("the daemon did not answer the reload request".into())),
            Err(_) => Err("the daemon is not accepting reloads".into()),
        };
        match reloaded {
            Ok(()) => {
                tracing::info!(%etag, "head office's configuration is in force");
                Report { etag, applied: true, errors: Vec::new() }
            }
            Err(errors) => {
                // The document is valid and kept; the local file changed under it and now fails. The document
                // applies with the next successful reload.
                tracing::error!(%etag, %errors, "head office's configuration is kept but the reload failed");
                Report { etag, applied: false, errors: errors.lines().map(str::to_owned).collect() }
            }
        }
    }
}

/// Writes the candidate, validates the local file with it layered over, and only if that passes makes it
/// `managed.toml` and records its ETag. On failure the candidate is removed and the errors returned.
fn check_and_install(
    config_path: &Path,
    data_dir: &Path,
    candidate: &Path,
    body: &[u8],
    etag: &str,
) -> Result<(), Vec<String>> {
    let io = |what: &str, e: std::io::Error| vec![format!("{what}: {e}")];
    let Ok(document) = std::str::from_utf8(body) else {
        return Err(vec![format!("{}: the document is not UTF-8 text", candidate.display())]);
    };
    write_durably(candidate, body).map_err(|e| io(&format!("writing {}", candidate.display()), e))?;
    let managed = data_dir.join(MANAGED_FILE);
    // Errors name managed.toml (the document's own lines): what the candidate would have become.
    if let Err(errors) = crate::config::load_with_layer(config_path, Some(data_dir), Some((MANAGED_FILE, document))) {
        let _ = std::fs::remove_file(candidate);
        return Err(errors.0.iter().map(ToString::to_string).collect());
    }
    std::fs::rename(candidate, &managed).map_err(|e| io(&format!("installing {}", managed.display()), e))?;
    sync_dir(data_dir).map_err(|e| io(&format!("syncing {}", data_dir.display()), e))?;
    let etag_file = data_dir.join(MANAGED_ETAG_FILE);
    let tmp = data_dir.join(format!("{MANAGED_ETAG_FILE}.tmp"));
    write_durably(&tmp, format!("{etag}\n").as_bytes()).map_err(|e| io(&format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &etag_file).map_err(|e| io(&format!("installing {}", etag_file.display()), e))?;
    sync_dir(data_dir).map_err(|e| io(&format!("syncing {}", data_dir.display()), e))
}

fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut out = crate::perms::create_file(path)?;
    out.write_all(bytes)?;
    out.sync_all()
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = r#"
[site]
code = "HTL1"
name = "Hotel"

[mqtt]
url = "mqtt://127.0.0.1:1883"

[storage]
data_dir = "data"

[[departments]]
code = "housekeeping"
name = "Housekeeping"

[[catalog]]
code = "hk.towels"
category = "housekeeping"
department = "housekeeping"
priority = "low"
"#;

    #[test]
    fn replies_are_classified() {
        assert_eq!(classify(200, Some(" \"abc\"")), Answer::Document("\"abc\"".into()));
        assert!(matches!(classify(200, None), Answer::Retry(_)));
        assert!(matches!(classify(200, Some("\"\"")), Answer::Retry(_)));
        assert_eq!(classify(304, None), Answer::Unchanged);
        assert_eq!(classify(404, None), Answer::NothingPublished);
        for status in [408, 429, 500, 503] {
            assert!(matches!(classify(status, None), Answer::Retry(_)), "{status}");
        }
        for status in [400, 401, 403, 409, 301] {
            assert!(matches!(classify(status, None), Answer::Alarm(_)), "{status}");
        }
        assert_eq!(unquote(" plain "), "plain");
    }

    #[test]
    fn a_valid_candidate_replaces_the_managed_file_and_an_invalid_one_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bellhop.toml");
        std::fs::write(&config, LOCAL).unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let candidate = data.join(CANDIDATE_FILE);
        let good = "[[departments]]\ncode = \"fnb\"\nname = \"F&B\"\n\n[[catalog]]\ncode = \"fb.water\"\n\
                    category = \"fnb\"\ndepartment = \"fnb\"\npriority = \"low\"\n";
        check_and_install(&config, &data, &candidate, good.as_bytes(), "e1").unwrap();
        assert_eq!(std::fs::read_to_string(data.join(MANAGED_FILE)).unwrap(), good);
        assert_eq!(std::fs::read_to_string(data.join(MANAGED_ETAG_FILE)).unwrap(), "e1\n");
        assert!(!candidate.exists());
        let layered = crate::config::load_layered(&config, None).unwrap();
        assert_eq!(layered.catalog.keys().collect::<Vec<_>>(), ["fb.water"]);

        let bad = good.replace("department = \"fnb\"", "department = \"spa\"");
        let errors = check_and_install(&config, &data, &candidate, bad.as_bytes(), "e2").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let expected =
            format!("{}:8: catalog[0].department: no [[departments]] entry", data.join(MANAGED_FILE).display());
        assert!(errors[0].starts_with(&expected), "{errors:?}");
        assert!(!candidate.exists(), "the refused candidate is removed");
        assert_eq!(std::fs::read_to_string(data.join(MANAGED_FILE)).unwrap(), good, "the last good one stays");
        assert_eq!(std::fs::read_to_string(data.join(MANAGED_ETAG_FILE)).unwrap(), "e1\n");

        let unknown = "[site]\ncode = \"X\"\n";
        let errors = check_and_install(&config, &data, &candidate, unknown.as_bytes(), "e3").unwrap_err();
        assert!(errors[0].contains(":1: site: unknown section; the keys here are \"departments\""), "{errors:?}");
        assert!(check_and_install(&config, &data, &candidate, b"\xff", "e4").unwrap_err()[0].contains("UTF-8"));
    }
}
