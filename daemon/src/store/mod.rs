//! The SQLite store: the journal and its projections. The only module that touches SQLite.
//!
//! One [`Store`] (the writer's connection) appends events and updates projections in the same transaction;
//! [`Reader`]s answer queries from their own connections. WAL mode lets readers work while the writer commits.

mod accounts;
mod backup;
pub mod chain;
mod checkpoint;
mod devices;
mod grms;
pub mod guests;
mod journal;
mod notices;
mod pool;
mod schema;
mod staff;
mod tickets;
mod tokens;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use accounts::{AccountRecord, SessionRecord};
pub use backup::{backup, lock, restore, DataDirLock};
pub use chain::{hash as chain_hash, Link, GENESIS};
pub use devices::Device;
pub use journal::{verify, ChainBreak, VerifyReport};
pub use notices::{NewNotice, Notice};
pub use pool::ReadPool;
pub use schema::CURRENT_VERSION;
pub use staff::{DutyRecord, Load};
pub use tickets::{HistoryEntry, NewTicket, Page, SlaRow, Ticket, TicketFilter, TicketSla, Visibility};
pub use tokens::TokenRecord;

use crate::event::{Event, EventBody};
use crate::vocab::Actor;

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "bellhop.db";

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no (disk full, I/O error, corrupt file, ...).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be created or opened.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database was written by a newer Bellhop.
    #[error("database schema version {found} is newer than this build supports ({supported}); upgrade Bellhop")]
    TooNew {
        /// Version on disk.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// Another Bellhop daemon holds the data directory.
    #[error("{0} is in use by a running Bellhop daemon; stop it first (systemctl stop bellhop)")]
    InUse(PathBuf),
    /// A backup's hash chain does not verify.
    #[error("the copy's journal is broken at sequence {seq}: {reason}")]
    BrokenCopy {
        /// Where it breaks.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// A rollback inside the transaction failed, so the whole transaction was abandoned.
    #[error("a rollback failed; the batch was abandoned")]
    Poisoned,
    /// A blocking worker thread failed.
    #[error("store worker: {0}")]
    Worker(String),
    /// A stored payload could not be read back.
    #[error("stored event {seq} is unreadable: {message}")]
    BadPayload {
        /// The event.
        seq: u64,
        /// Why.
        message: String,
    },
}

/// The path of the database file in `data_dir`.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

/// How long a connection waits for a lock held by another before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn open_connection(data_dir: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(db_path(data_dir), flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The writer's path uses a few dozen statements; the default cache of 16 would re-prepare them per command.
    conn.set_prepared_statement_cache_capacity(128);
    // Plans must not depend on bound values: otherwise (with STAT4, which the bundled SQLite enables) a statement
    // whose parameters change is recompiled on every use.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// The writer's handle: appends events and updates projections, in transactions.
pub struct Store {
    conn: Connection,
    data_dir: PathBuf,
    checkpointer: Option<checkpoint::Checkpointer>,
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, in WAL mode with `synchronous=FULL`, and migrates it.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        crate::perms::create_dir(data_dir)
            .map_err(|source| StoreError::DataDir { path: data_dir.to_path_buf(), source })?;
        // Created here 0640, the database keeps that mode, and SQLite gives its -wal and -shm files the same.
        let db = db_path(data_dir);
        crate::perms::create_empty(&db).map_err(|source| StoreError::DataDir { path: db.clone(), source })?;
        for file in [db.clone(), db.with_extension("db-wal"), db.with_extension("db-shm")] {
            crate::perms::tighten_file(&file);
        }
        let mut conn = open_connection(
            data_dir,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn, data_dir: data_dir.to_path_buf(), checkpointer: None })
    }

    /// Moves checkpoints of the write-ahead log off this connection to a thread of their own (the daemon's writer
    /// does this, so a checkpoint never delays a commit). Call [`Store::committed`] after each commit.
    pub fn checkpoint_in_background(&mut self) -> Result<(), StoreError> {
        self.checkpointer = Some(checkpoint::Checkpointer::start(&self.data_dir)?);
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        self.conn.pragma_update(None, "journal_size_limit", checkpoint::SIZE_LIMIT as i64)?;
        Ok(())
    }

    /// Tells the background checkpointer, if there is one, that a transaction was committed.
    pub fn committed(&mut self) {
        if let Some(checkpointer) = &mut self.checkpointer {
            checkpointer.committed(&self.conn);
        }
    }

    /// Starts a write transaction. `BEGIN IMMEDIATE` takes the write lock at once, and the chain's tail is read
    /// inside it, so another process that appended meanwhile (the CLI issuing a token) is chained onto correctly.
    pub fn begin(&mut self) -> Result<Txn<'_>, StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (seq, hash) = journal::tail(&tx)?;
        Ok(Txn { tx, seq, hash, appended: Vec::new(), poisoned: false })
    }

    /// The last committed sequence number (0 when the journal is empty).
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(journal::tail(&self.conn)?.0)
    }

    /// Read access on the writer's own connection (for decisions made inside the writer).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// An open write transaction that tracks the tail of the chain.
pub struct Txn<'c> {
    tx: rusqlite::Transaction<'c>,
    seq: u64,
    hash: [u8; 32],
    appended: Vec<Event>,
    /// Set when a rollback to a savepoint failed: the transaction's content is then unknown and must not commit.
    poisoned: bool,
}

/// A point inside a transaction to roll back to if one command fails, leaving the others in the batch intact.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    seq: u64,
    hash: [u8; 32],
    appended: usize,
}

impl<'c> Txn<'c> {
    /// Appends one event, chained to the previous one, and returns it as committed (once the transaction is).
    pub fn append(&mut self, at: &str, actor: &Actor, body: EventBody) -> Result<&Event, StoreError> {
        let actor = actor.to_string();
        let seq = self.seq + 1;
        let hash = journal::append(&self.tx, &self.hash, seq, at, &actor, &body)?;
        self.seq = seq;
        self.hash = hash;
        self.appended.push(Event { seq, at: at.to_owned(), actor, body });
        Ok(self.appended.last().expect("just pushed"))
    }

    /// Opens a savepoint.
    pub fn mark(&mut self) -> Result<Mark, StoreError> {
        self.tx.execute_batch("SAVEPOINT command")?;
        Ok(Mark { seq: self.seq, hash: self.hash, appended: self.appended.len() })
    }

    /// Keeps everything since `mark`.
    pub fn keep(&mut self, _mark: Mark) -> Result<(), StoreError> {
        self.tx.execute_batch("RELEASE command")?;
        Ok(())
    }

    /// Undoes everything since `mark`, in the database and in the chain tail.
    pub fn undo(&mut self, mark: Mark) -> Result<(), StoreError> {
        if let Err(error) = self.tx.execute_batch("ROLLBACK TO command; RELEASE command") {
            self.poisoned = true;
            return Err(error.into());
        }
        self.seq = mark.seq;
        self.hash = mark.hash;
        self.appended.truncate(mark.appended);
        Ok(())
    }

    /// The connection inside the transaction, for projection reads and writes.
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    /// Commits, and returns the events that are now durable.
    pub fn commit(self) -> Result<Vec<Event>, StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        self.tx.commit()?;
        Ok(self.appended)
    }

    /// Projection writes.
    pub fn tickets(&self) -> tickets::Writer<'_> {
        tickets::Writer(&self.tx)
    }

    /// Token writes.
    pub fn tokens(&self) -> tokens::Writer<'_> {
        tokens::Writer(&self.tx)
    }

    /// Credential and session writes.
    pub fn accounts(&self) -> accounts::Writer<'_> {
        accounts::Writer(&self.tx)
    }

    /// Room-controller episodes and location flags.
    pub fn grms(&self) -> grms::Writer<'_> {
        grms::Writer(&self.tx)
    }

    /// Staff duty writes.
    pub fn staff(&self) -> staff::Writer<'_> {
        staff::Writer(&self.tx)
    }

    /// Staff duty and load queries inside the transaction.
    pub fn staff_query(&self) -> staff::Queries<'_> {
        staff::Queries(&self.tx)
    }

    /// Device writes.
    pub fn devices(&self) -> devices::Writer<'_> {
        devices::Writer(&self.tx)
    }

    /// Deletes synced history: every event up to the newest one that is at or below `synced_through`, older than
    /// `before` and older than every open ticket. The pruned range is journaled (`journal_pruned`) and its last
    /// hash kept as the checkpoint `verify` starts from. Returns how many events were deleted.
    pub fn prune(&mut self, synced_through: u64, before: &str, at: &str, actor: &Actor) -> Result<u64, StoreError> {
        let Some(through) = journal::prunable(&self.tx, synced_through, before)? else { return Ok(0) };
        let deleted = journal::prune(&self.tx, through)?;
        self.append(at, actor, EventBody::JournalPruned { through_seq: through, events: deleted })?;
        Ok(deleted)
    }

    /// Device queries inside the transaction.
    pub fn device_query(&self) -> devices::Queries<'_> {
        devices::Queries(&self.tx)
    }

    /// The notice outbox and alert episodes.
    pub fn notices(&self) -> notices::Writer<'_> {
        notices::Writer(&self.tx)
    }

    /// Outbox reads inside the transaction.
    pub fn notice_query(&self) -> notices::Queries<'_> {
        notices::Queries(&self.tx)
    }

    /// Room and guest writes (the PMS link).
    pub fn guests(&self) -> guests::Writer<'_> {
        guests::Writer(&self.tx)
    }

    /// Room and guest queries inside the transaction.
    pub fn guest_query(&self) -> guests::Queries<'_> {
        guests::Queries(&self.tx)
    }
}

/// A read-only connection for queries (the HTTP API, the CLI, `verify`).
pub struct Reader {
    conn: Connection,
}

impl Reader {
    /// Opens a reader on an existing store.
    pub fn open(data_dir: &Path) -> Result<Reader, StoreError> {
        let path = db_path(data_dir);
        if !path.exists() {
            return Err(StoreError::DataDir {
                path,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no Bellhop database here"),
            });
        }
        let conn = open_connection(data_dir, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        Ok(Reader { conn })
    }

    /// Ticket queries.
    pub fn tickets(&self) -> tickets::Queries<'_> {
        tickets::Queries(&self.conn)
    }

    /// Token queries.
    pub fn tokens(&self) -> tokens::Queries<'_> {
        tokens::Queries(&self.conn)
    }

    /// Credential and session queries.
    pub fn accounts(&self) -> accounts::Queries<'_> {
        accounts::Queries(&self.conn)
    }

    /// Device queries.
    pub fn devices(&self) -> devices::Queries<'_> {
        devices::Queries(&self.conn)
    }

    /// Staff duty and load queries.
    pub fn staff(&self) -> staff::Queries<'_> {
        staff::Queries(&self.conn)
    }

    /// Outbox reads.
    pub fn notices(&self) -> notices::Queries<'_> {
        notices::Queries(&self.conn)
    }

    /// Room and guest queries.
    pub fn guests(&self) -> guests::Queries<'_> {
        guests::Queries(&self.conn)
    }

    /// The last sequence number in the journal (0 when empty).
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(journal::tail(&self.conn)?.0)
    }

    /// When the last journaled event happened (RFC 3339 UTC), if there is one.
    pub fn last_event_at(&self) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self.conn.query_row("SELECT at FROM events ORDER BY seq DESC LIMIT 1", [], |r| r.get(0)).optional()?)
    }

    /// Checks the whole chain.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        journal::verify(&self.conn)
    }
}

impl Store {
    /// Ticket queries on the writer's connection.
    pub fn tickets(&self) -> tickets::Queries<'_> {
        tickets::Queries(&self.conn)
    }
}

impl<'c> Txn<'c> {
    /// Ticket queries inside the transaction (they see its uncommitted writes).
    pub fn query(&self) -> tickets::Queries<'_> {
        tickets::Queries(&self.tx)
    }
}
