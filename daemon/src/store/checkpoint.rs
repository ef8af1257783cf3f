//! Checkpoints the write-ahead log on a thread of its own, so the writer rarely waits for the database file to be
//! updated and synced: it only wakes the checkpointer every so many commits.
//!
//! The log must also stay small. A passive checkpoint never blocks anyone, but under constant load it never reaches
//! the log's end, and SQLite starts the log over only when a checkpoint has; so the log would only grow. After each
//! commit the writer looks at the log file's size; past [`TRUNCATE_AT`] it copies what is left into the database
//! (little: the passive checkpoints did most) and truncates the log to nothing, waiting at most [`TRUNCATE_WAIT`]
//! for readers of older snapshots. The writer is the one to do it because a truncating checkpoint needs the write
//! lock, which a busy writer would never leave free long enough for another connection.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{db_path, open_connection, StoreError, BUSY_TIMEOUT};

/// Commits between checkpoints: a few hundred to a few thousand pages of log, as SQLite's own default of 1,000.
const COMMITS_PER_CHECKPOINT: u32 = 100;

/// A log file at least this large is truncated.
pub const TRUNCATE_AT: u64 = 16 * 1024 * 1024;

/// The size SQLite trims the log file to whenever it starts the log over (`journal_size_limit`).
pub const SIZE_LIMIT: u64 = 16 * 1024 * 1024;

/// How long a truncating checkpoint waits for readers of older snapshots (and a passive checkpoint under way). The
/// writer commits nothing meanwhile, so it gives up early; the next commit tries again.
const TRUNCATE_WAIT: Duration = Duration::from_millis(100);

/// The writer's side: counts commits, wakes the checkpointer, and keeps the log under [`TRUNCATE_AT`].
pub struct Checkpointer {
    wake: Option<SyncSender<()>>,
    commits: u32,
    /// The log file.
    wal: PathBuf,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the checkpointer's thread on its own connection. It checkpoints once at the start (a log left large by
    /// an earlier run is truncated), then whenever woken, and once more when the writer's side is dropped.
    pub(super) fn start(data_dir: &Path) -> Result<Checkpointer, StoreError> {
        let conn = open_connection(data_dir, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "journal_size_limit", SIZE_LIMIT as i64)?;
        let (wake, woken) = sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("bellhop-checkpoint".into())
            .spawn(move || {
                report(truncate(&conn));
                while woken.recv().is_ok() {
                    // Passive: copies what no reader still needs, never blocks the writer or readers.
                    if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0)) {
                        report(Err(error));
                    }
                }
                report(truncate(&conn));
            })
            .map_err(|e| StoreError::Worker(e.to_string()))?;
        let mut wal = db_path(data_dir).into_os_string();
        wal.push("-wal");
        Ok(Checkpointer { wake: Some(wake), commits: 0, wal: wal.into(), thread: Some(thread) })
    }

    /// Counts a commit made on the writer's connection `conn`: every [`COMMITS_PER_CHECKPOINT`] wakes the
    /// checkpointer (never waiting for it), and a log file past [`TRUNCATE_AT`] is truncated at once.
    pub(super) fn committed(&mut self, conn: &Connection) {
        if std::fs::metadata(&self.wal).is_ok_and(|m| m.len() >= TRUNCATE_AT) {
            report(truncate(conn));
        }
        self.commits += 1;
        if self.commits >= COMMITS_PER_CHECKPOINT {
            self.commits = 0;
            if let Some(wake) = &self.wake {
                let _ = wake.try_send(());
            }
        }
    }
}

impl Drop for Checkpointer {
    /// Waits for the last checkpoint, so a stopped daemon leaves a truncated log behind.
    fn drop(&mut self) {
        self.wake.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Copies the whole log into the database and truncates it, waiting at most [`TRUNCATE_WAIT`] for readers. `false`
/// when a reader held on (the log stays as it is; the next try carries on).
fn truncate(conn: &Connection) -> rusqlite::Result<bool> {
    conn.busy_timeout(TRUNCATE_WAIT)?;
    let busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(busy? == 0)
}

/// Logs a failed checkpoint; the next one retries.
fn report(outcome: rusqlite::Result<bool>) {
    match outcome {
        Ok(true) => {}
        Ok(false) => tracing::debug!("A reader held the write-ahead log; truncating it again later."),
        Err(error) => tracing::warn!(%error, "A checkpoint of the write-ahead log failed; the next one will retry."),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use crate::event::EventBody;

    fn wal_size(dir: &std::path::Path) -> u64 {
        std::fs::metadata(dir.join("bellhop.db-wal")).map(|m| m.len()).unwrap_or(0)
    }

    #[test]
    fn the_log_stays_bounded_under_constant_writes_and_is_truncated_when_the_store_closes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.checkpoint_in_background().unwrap();
        // A reader querying without pause, as the status publisher and the API do under load.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (dir, stop) = (dir.path().to_path_buf(), stop.clone());
            std::thread::spawn(move || {
                let conn = rusqlite::Connection::open(dir.join("bellhop.db")).unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _: i64 = conn.query_row("SELECT count(*) FROM events WHERE seq > 0", [], |r| r.get(0)).unwrap();
                }
            })
        };
        let text = "x".repeat(4000);
        let mut largest = 0;
        // About 50 MB of journal, three times the size at which the log is truncated, as fast as the store takes it.
        for commit in 0..600 {
            let mut txn = store.begin().unwrap();
            for n in 0..20 {
                let body = EventBody::TicketCommented { ticket: format!("T-{commit}-{n}"), text: text.clone() };
                txn.append("2026-11-27T10:00:00.000Z", &crate::vocab::Actor::System, body).unwrap();
            }
            txn.commit().unwrap();
            store.committed();
            largest = largest.max(wal_size(dir.path()));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        reader.join().unwrap();
        assert!(largest <= 2 * super::TRUNCATE_AT, "the write-ahead log grew to {largest} bytes");
        drop(store);
        assert!(
            wal_size(dir.path()) <= super::SIZE_LIMIT,
            "a closed store left a log of {} bytes",
            wal_size(dir.path())
        );
    }
}
