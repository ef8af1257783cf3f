//! The modes of what Bellhop writes: its directories 0750 and its files 0640, whatever the umask it was started with.
//!
//! The journal and its neighbours hold guests' requests and staff names; nobody outside the daemon's user and group
//! may read them. A umask cannot be relied on (run by hand it is often 022 or 000, and SQLite sets the modes of the
//! database files it creates itself), so every directory and file Bellhop creates gets its mode set explicitly,
//! and one left by an earlier version with more permissive bits has them taken off.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Directories: the owner reads and writes, the group reads, others nothing.
pub const DIR_MODE: u32 = 0o750;
/// Files: the owner reads and writes, the group reads, others nothing.
pub const FILE_MODE: u32 = 0o640;

/// Creates `dir`, and any missing parent, with mode 0750; an existing `dir` loses any bit beyond 0750 (group
/// write, anything for others). Existing parents are left as they are.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            tighten(dir, meta.permissions().mode(), DIR_MODE);
            Ok(())
        }
        Ok(_) => Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} is not a directory", dir.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_missing(dir),
        Err(e) => Err(e),
    }
}

fn create_missing(dir: &Path) -> io::Result<()> {
    match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        // The umask may have taken bits off the mode asked for: set it as meant.
        Ok(()) => fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => {
                create_missing(parent)?;
                create_missing(dir)
            }
            _ => Err(e),
        },
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens `path` for writing, created (or truncated) with mode 0640.
pub fn create_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new().write(true).create(true).truncate(true).mode(FILE_MODE).open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Opens `path` for writing without truncating it, creating it 0640 when missing; an existing file loses any bit
/// beyond 0640. For the data directory's lock.
pub fn open_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new().write(true).create(true).truncate(false).mode(FILE_MODE).open(path)?;
    tighten(path, file.metadata()?.permissions().mode(), FILE_MODE);
    Ok(file)
}

/// Writes `bytes` to a new (or truncated) file with mode 0640 and syncs it to disk.
pub fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut out = create_file(path)?;
    out.write_all(bytes)?;
    out.sync_all()
}

/// Creates `path` empty with mode 0640 if it does not exist, so that a program that then opens it (SQLite, which
/// gives a database it creates 0644 and its `-wal` and `-shm` files the database's mode) keeps that mode.
pub fn create_empty(path: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path) {
        Ok(file) => file.set_permissions(Permissions::from_mode(FILE_MODE)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sets a file that was just made (a copy, a database another program wrote) to mode 0640.
pub fn set_file_mode(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, Permissions::from_mode(FILE_MODE))
}

/// Takes any bit beyond 0640 off `path` if it exists (files left by earlier versions).
pub fn tighten_file(path: &Path) {
    if let Ok(meta) = fs::metadata(path) {
        tighten(path, meta.permissions().mode(), FILE_MODE);
    }
}

/// Takes the bits beyond `allowed` off; a mode already within it (0700, 0600) is kept. Failing to (a file owned by
/// another user) is logged, not fatal: the daemon can still run, and the warning says what to fix.
fn tighten(path: &Path, mode: u32, allowed: u32) {
    let extra = mode & 0o7777 & !allowed;
    if extra == 0 {
        return;
    }
    let wanted = mode & 0o7777 & allowed;
    if let Err(error) = fs::set_permissions(path, Permissions::from_mode(wanted)) {
        tracing::warn!(
            path = %path.display(),
            %error,
            "Could not take away other users' access (mode {:o}); set it to {allowed:o} by hand.",
            mode & 0o7777
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn created_directories_and_files_get_their_modes_and_old_ones_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_dir(&nested).unwrap();
        assert_eq!((mode(&dir.path().join("a")), mode(&nested)), (0o750, 0o750));
        let file = nested.join("f");
        write_durably(&file, b"x").unwrap();
        assert_eq!(mode(&file), 0o640);

        fs::set_permissions(&nested, Permissions::from_mode(0o777)).unwrap();
        create_dir(&nested).unwrap();
        assert_eq!(mode(&nested), 0o750, "group write and others taken off");
        fs::set_permissions(&nested, Permissions::from_mode(0o700)).unwrap();
        create_dir(&nested).unwrap();
        assert_eq!(mode(&nested), 0o700, "a stricter mode is kept");

        fs::set_permissions(&file, Permissions::from_mode(0o666)).unwrap();
        tighten_file(&file);
        assert_eq!(mode(&file), 0o640);
        fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        drop(open_file(&file).unwrap());
        assert_eq!(mode(&file), 0o640);
        assert_eq!(fs::read(&file).unwrap(), b"x", "open_file does not truncate");

        let empty = nested.join("db");
        create_empty(&empty).unwrap();
        assert_eq!((mode(&empty), fs::metadata(&empty).unwrap().len()), (0o640, 0));
        assert!(create_dir(&file).is_err(), "a file is not a directory");
    }
}
