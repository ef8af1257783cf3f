//! The sync cursor: the highest sequence head office has acknowledged, kept in `{data_dir}/sync-cursor`.
//!
//! The file is JSON, `{"version":1,"url":"...","gateway_id":"...","cursor":N}`, replaced atomically (write a temporary
//! file, fsync it, rename it over the old one, fsync the directory), so a crash leaves the old or the new cursor, never
//! a torn one. It is keyed to the receiver's URL and the gateway id: pointing the gateway at another receiver or
//! identity starts again from 0, which is safe because receivers ignore events they already hold.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name of the cursor inside the data directory.
pub const CURSOR_FILE: &str = "sync-cursor";

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct CursorFile {
    version: u32,
    url: String,
    gateway_id: String,
    cursor: u64,
}

/// Where the cursor lives and whom it belongs to.
#[derive(Clone, Debug)]
pub struct CursorStore {
    path: PathBuf,
    url: String,
    gateway_id: String,
}

/// What was found when loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// A cursor for this receiver and gateway.
    Found(u64),
    /// No file yet: start from 0.
    Missing,
    /// A cursor for another receiver or gateway id: start from 0.
    OtherTarget {
        /// The URL the file was for.
        url: String,
        /// The gateway id it was for.
        gateway_id: String,
    },
    /// The file could not be parsed: start from 0 (re-sending is harmless) and say so.
    Unreadable(String),
}

impl Loaded {
    /// The cursor to start from.
    pub fn cursor(&self) -> u64 {
        match self {
            Loaded::Found(cursor) => *cursor,
            _ => 0,
        }
    }
}

impl CursorStore {
    /// The cursor of `gateway_id` at `url`, in `data_dir`.
    pub fn new(data_dir: &Path, url: &str, gateway_id: &str) -> CursorStore {
        CursorStore { path: data_dir.join(CURSOR_FILE), url: url.to_owned(), gateway_id: gateway_id.to_owned() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the cursor. I/O errors other than "not found" are returned.
    pub fn load(&self) -> std::io::Result<Loaded> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(e) => return Err(e),
        };
        Ok(match serde_json::from_str::<CursorFile>(&text) {
            Ok(file) if file.version != 1 => Loaded::Unreadable(format!("unknown version {}", file.version)),
            Ok(file) if file.url != self.url || file.gateway_id != self.gateway_id => {
                Loaded::OtherTarget { url: file.url, gateway_id: file.gateway_id }
            }
            Ok(file) => Loaded::Found(file.cursor),
            Err(e) => Loaded::Unreadable(e.to_string()),
        })
    }

    /// Replaces the cursor atomically and durably.
    pub fn save(&self, cursor: u64) -> std::io::Result<()> {
        let file = CursorFile { version: 1, url: self.url.clone(), gateway_id: self.gateway_id.clone(), cursor };
        let mut text = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let tmp = self.path.with_extension("tmp");
        {
            let mut out = crate::perms::create_file(&tmp)?;
            out.write_all(&text)?;
            out.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::new(dir.path(), "https://ho.example", "g1");
        assert_eq!(store.load().unwrap(), Loaded::Missing);
        store.save(41).unwrap();
        store.save(42).unwrap();
        assert_eq!(store.load().unwrap(), Loaded::Found(42));
        assert!(!dir.path().join("sync-cursor.tmp").exists(), "the temporary file is renamed away");
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert_eq!(text, "{\"version\":1,\"url\":\"https://ho.example\",\"gateway_id\":\"g1\",\"cursor\":42}\n");
    }

    #[test]
    fn a_leftover_temporary_file_does_not_matter() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::new(dir.path(), "https://ho.example", "g1");
        store.save(7).unwrap();
        // A crash after writing the temporary file but before the rename leaves the old cursor in force.
        std::fs::write(dir.path().join("sync-cursor.tmp"), "{\"version\":1,\"cur").unwrap();
        assert_eq!(store.load().unwrap(), Loaded::Found(7));
        store.save(8).unwrap();
        assert_eq!(store.load().unwrap(), Loaded::Found(8));
    }

    #[test]
    fn another_target_or_a_torn_file_starts_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        CursorStore::new(dir.path(), "https://old.example", "g1").save(99).unwrap();
        let store = CursorStore::new(dir.path(), "https://ho.example", "g1");
        let loaded = store.load().unwrap();
        assert_eq!(loaded, Loaded::OtherTarget { url: "https://old.example".into(), gateway_id: "g1".into() });
        assert_eq!(loaded.cursor(), 0);
        std::fs::write(store.path(), "garbage").unwrap();
        assert!(matches!(store.load().unwrap(), Loaded::Unreadable(_)));
        assert_eq!(store.load().unwrap().cursor(), 0);
    }
}
