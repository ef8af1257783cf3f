//! A small pool of read connections for async callers; each query runs on a blocking thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Reader, StoreError};

/// Read connections shared by the HTTP API and the status publisher.
#[derive(Clone)]
pub struct ReadPool {
    data_dir: Arc<PathBuf>,
    idle: Arc<Mutex<Vec<Reader>>>,
}

impl ReadPool {
    /// A pool over the store in `data_dir` (which must exist).
    pub fn new(data_dir: &Path) -> ReadPool {
        ReadPool { data_dir: Arc::new(data_dir.to_path_buf()), idle: Arc::default() }
    }

    /// Runs `query` on an idle connection (opening one when none is idle) on a blocking thread.
    pub async fn with<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Reader) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let reader = match idle {
                Some(reader) => reader,
                None => Reader::open(&pool.data_dir)?,
            };
            let result = query(&reader);
            pool.idle.lock().unwrap_or_else(|p| p.into_inner()).push(reader);
            result
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }
}
