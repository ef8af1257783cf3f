//! Checkpoints the write-ahead log on a thread of its own, so the writer rarely waits for the database file to be
//! updated and synced: it only wakes the checkpointer every so many commits.
//!
//! The log must also stay small. A passive checkpoint never blocks anyone, but under constant load it never reaches
//! the log's end, and SQLite starts the log over only when a checkpoint has; so the log would only grow. When a
//! passive checkpoint finds the log past [`TRUNCATE_AT`], the checkpointer asks the writer to truncate it: between
//! two of its transactions the writer copies what is left (little, the passive checkpoint did most) and truncates
//! the log to nothing, waiting at most [`TRUNCATE_WAIT`] for readers of older snapshots. The writer is the one to do
//! it because a truncating checkpoint needs the write lock, which a busy writer would never leave free long enough.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{open_connection, StoreError, BUSY_TIMEOUT};

/// Commits between checkpoints: a few hundred to a few thousand pages of log, as SQLite's own default of 1,000.
const COMMITS_PER_CHECKPOINT: u32 = 100;

/// A log at least this large is truncated.
pub const TRUNCATE_AT: u64 = 16 * 1024 * 1024;

/// The size SQLite trims the log file to whenever it starts the log over (`journal_size_limit`).
pub const SIZE_LIMIT: u64 = 16 * 1024 * 1024;

/// How long a truncating checkpoint waits for readers of older snapshots. The writer commits nothing meanwhile, so
/// it gives up early; the next round tries again.
const TRUNCATE_WAIT: Duration = Duration::from_millis(100);

/// The writer's side: counts commits, wakes the checkpointer, and learns when the log is to be truncated.
pub struct Checkpointer {
    wake: Option<SyncSender<()>>,
    commits: u32,
    /// Set by the checkpointer when the log has passed [`TRUNCATE_AT`].
    oversize: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the checkpointer's thread on its own connection. It checkpoints once at the start (a log left large by
    /// an earlier run is truncated), then whenever woken, and once more when the writer's side is dropped.
    pub(super) fn start(data_dir: &Path) -> Result<Checkpointer, StoreError> {
        let conn = open_connection(data_dir, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "journal_size_limit", SIZE_LIMIT as i64)?;
        let oversize = Arc::new(AtomicBool::new(false));
        let flag = oversize.clone();
        let (wake, woken) = sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("bellhop-checkpoint".into())
            .spawn(move || {
                report(truncate(&conn));
                while woken.recv().is_ok() {
                    // While the writer has yet to truncate, a passive checkpoint would only hold the checkpoint lock
                    // the truncation needs.
                    if flag.load(Ordering::Acquire) {
                        continue;
                    }
                    match passive(&conn) {
                        Ok(log_bytes) => flag.store(log_bytes >= TRUNCATE_AT, Ordering::Release),
                        Err(error) => report(Err(error)),
                    }
                }
                report(truncate(&conn));
            })
            .map_err(|e| StoreError::Worker(e.to_string()))?;
        Ok(Checkpointer { wake: Some(wake), commits: 0, oversize, thread: Some(thread) })
    }

    /// Counts a commit; every [`COMMITS_PER_CHECKPOINT`] wakes the checkpointer (never waiting for it). When the
    /// checkpointer found the log too large, truncates it on the writer's connection `conn` first.
    pub(super) fn committed(&mut self, conn: &Connection) {
        if self.oversize.load(Ordering::Acquire) {
            report(truncate(conn));
            self.oversize.store(false, Ordering::Release);
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

/// A passive checkpoint, which never blocks the writer or readers; returns the log's size in bytes.
fn passive(conn: &Connection) -> rusqlite::Result<u64> {
    let log_frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(log_frames.max(0) as u64 * page_size.max(0) as u64)
}

/// Copies the whole log into the database and truncates it, waiting at most [`TRUNCATE_WAIT`] for readers. `false`
/// when a reader held on (the log stays as it is; the next round tries again).
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
                txn.append("2026-11-27T10:00:00.000Z", "system", body).unwrap();
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
