//! Online backups (a consistent snapshot taken while the daemon writes) and restores; both check the hash chain of
//! the copy before it counts, and a restore refuses to run while a daemon holds the data directory.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{db_path, journal, StoreError, VerifyReport, DB_FILE};

/// The lock file a running daemon holds in its data directory.
const LOCK_FILE: &str = "bellhop.lock";

/// Held by the daemon while it runs; restore and a second daemon on the same directory are refused.
#[derive(Debug)]
pub struct DataDirLock(#[allow(dead_code)] File);

/// Takes the data directory's lock without waiting.
pub fn lock(data_dir: &Path) -> Result<DataDirLock, StoreError> {
    let path = data_dir.join(LOCK_FILE);
    crate::perms::create_dir(data_dir).map_err(|source| StoreError::DataDir { path: data_dir.to_owned(), source })?;
    let file = crate::perms::open_file(&path).map_err(|source| StoreError::DataDir { path: path.clone(), source })?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock(file)),
        Err(fs::TryLockError::WouldBlock) => Err(StoreError::InUse(data_dir.to_owned())),
        Err(fs::TryLockError::Error(source)) => Err(StoreError::DataDir { path, source }),
    }
}

/// Writes a consistent snapshot of the journal to `to` while the daemon may keep writing, then verifies the copy's
/// chain. `progress` gets the share done, from 0 to 1. Nothing is left at `to` unless the copy verified.
pub fn backup(data_dir: &Path, to: &Path, progress: &mut dyn FnMut(f64)) -> Result<VerifyReport, StoreError> {
    let source = db_path(data_dir);
    if !source.exists() {
        return Err(StoreError::DataDir { path: source, source: std::io::ErrorKind::NotFound.into() });
    }
    if to.exists() {
        return Err(StoreError::DataDir { path: to.to_owned(), source: std::io::ErrorKind::AlreadyExists.into() });
    }
    let partial = sibling(to, ".partial");
    let _ = fs::remove_file(&partial);
    // VACUUM INTO fills an empty file and keeps its mode; a file it created itself would be 0644.
    crate::perms::create_empty(&partial).map_err(|source| StoreError::DataDir { path: partial.clone(), source })?;
    let total = size(&source) + size(&source.with_extension("db-wal"));
    let conn = Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let done = AtomicBool::new(false);
    let copied = std::thread::scope(|scope| {
        let (done, partial) = (&done, &partial);
        let copier = scope.spawn(move || {
            let result = conn.execute("VACUUM INTO ?1", [partial.to_string_lossy()]);
            done.store(true, Ordering::Release);
            result
        });
        while !done.load(Ordering::Acquire) {
            progress((size(partial) as f64 / total.max(1) as f64).min(0.99));
            std::thread::sleep(Duration::from_millis(100));
        }
        copier.join().unwrap_or(Err(rusqlite::Error::InvalidQuery))
    });
    if let Err(error) = copied {
        let _ = fs::remove_file(&partial);
        return Err(error.into());
    }
    let report = check(&partial)?;
    File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|source| StoreError::DataDir { path: partial.clone(), source })?;
    fs::rename(&partial, to).map_err(|source| StoreError::DataDir { path: to.to_owned(), source })?;
    progress(1.0);
    Ok(report)
}

/// Replaces the data directory's journal with a verified backup. The daemon must be stopped; the journal it
/// replaces is kept beside it as `bellhop.db.before-restore`.
pub fn restore(data_dir: &Path, from: &Path) -> Result<VerifyReport, StoreError> {
    let _lock = lock(data_dir)?;
    let staged = data_dir.join(format!("{DB_FILE}.restoring"));
    fs::copy(from, &staged).map_err(|source| StoreError::DataDir { path: from.to_owned(), source })?;
    // A copy has the backup's mode; the journal gets its own.
    crate::perms::set_file_mode(&staged).map_err(|source| StoreError::DataDir { path: staged.clone(), source })?;
    let report = match check(&staged) {
        Ok(report) => report,
        Err(error) => {
            let _ = fs::remove_file(&staged);
            return Err(error);
        }
    };
    File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(|source| StoreError::DataDir { path: staged.clone(), source })?;
    let current = db_path(data_dir);
    if current.exists() {
        // Fold the write-ahead log into the old file so the kept copy is whole, then set it aside.
        Connection::open(&current)?.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
        let kept = data_dir.join(format!("{DB_FILE}.before-restore"));
        fs::rename(&current, &kept).map_err(|source| StoreError::DataDir { path: kept.clone(), source })?;
        crate::perms::tighten_file(&kept);
    }
    for leftover in ["db-wal", "db-shm"] {
        let _ = fs::remove_file(current.with_extension(leftover));
    }
    fs::rename(&staged, &current).map_err(|source| StoreError::DataDir { path: current.clone(), source })?;
    File::open(data_dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| StoreError::DataDir { path: data_dir.to_owned(), source })?;
    Ok(report)
}

/// Verifies a copy's chain; a broken one is an error.
fn check(copy: &Path) -> Result<VerifyReport, StoreError> {
    let conn = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let report = journal::verify(&conn)?;
    match &report.broken {
        None => Ok(report),
        Some(b) => Err(StoreError::BrokenCopy { seq: b.seq, reason: b.reason.clone() }),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
