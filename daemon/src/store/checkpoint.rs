//! Checkpoints the write-ahead log on a thread of its own, so the writer never waits for the database file to be
//! updated and synced: it only wakes the checkpointer every so many commits.

use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};

use rusqlite::OpenFlags;

use super::{open_connection, StoreError};

/// Commits between checkpoints: a few hundred to a few thousand pages of log, as SQLite's own default of 1,000.
const COMMITS_PER_CHECKPOINT: u32 = 100;

/// The writer's side: counts commits and wakes the checkpointer.
pub struct Checkpointer {
    wake: SyncSender<()>,
    commits: u32,
}

impl Checkpointer {
    /// Starts the checkpointer's thread on its own connection. It stops once the writer's side is dropped, after one
    /// last checkpoint.
    pub(super) fn start(data_dir: &Path) -> Result<Checkpointer, StoreError> {
        let conn = open_connection(data_dir, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let (wake, woken) = sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("bellhop-checkpoint".into())
            .spawn(move || {
                let checkpoint = || {
                    // PASSIVE: copies what no reader still needs, never blocks the writer or readers.
                    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
                    if let Err(error) = done {
                        tracing::warn!(%error, "A checkpoint of the write-ahead log failed; the next one will retry.");
                    }
                };
                while woken.recv().is_ok() {
                    checkpoint();
                }
                checkpoint();
            })
            .map_err(|e| StoreError::Worker(e.to_string()))?;
        Ok(Checkpointer { wake, commits: 0 })
    }

    /// Counts a commit; every [`COMMITS_PER_CHECKPOINT`] wakes the checkpointer (never waiting for it).
    pub(super) fn committed(&mut self) {
        self.commits += 1;
        if self.commits >= COMMITS_PER_CHECKPOINT {
            self.commits = 0;
            let _ = self.wake.try_send(());
        }
    }
}
