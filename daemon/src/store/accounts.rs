//! People's credentials and sessions: password hashes, TOTP secrets and the last step used, enrolment codes and
//! recovery codes (hashed), and server-side sessions (by the hash of their token). Never a password or a code in
//! clear.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// A person's stored credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountRecord {
    /// The staff id on the roster.
    pub staff: String,
    /// `pbkdf2-sha256$…`, once enrolled.
    pub password: Option<String>,
    /// The TOTP secret, once enrolled with a second factor.
    pub totp_secret: Option<Vec<u8>>,
    /// The last TOTP step accepted (a code is accepted once).
    pub totp_last_step: Option<i64>,
    /// The SHA-256 of the open enrolment code, if one is open.
    pub enrolment_hash: Option<Vec<u8>>,
    /// The TOTP secret offered with the open enrolment.
    pub enrolment_totp: Option<Vec<u8>>,
    /// When the open enrolment code expires (UTC, RFC 3339).
    pub enrolment_expires: Option<String>,
    /// Disabled: no sign-in, no enrolment.
    pub disabled: bool,
    /// When it last changed.
    pub updated_at: String,
}

/// A signed-in session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Public id (from the token's hash), shown in lists and the journal.
    pub id: String,
    /// The staff id.
    pub staff: String,
    /// The role it was opened with.
    pub role: String,
    /// The client address it was opened from.
    pub address: String,
    /// Opened at (ms since the epoch).
    pub created_ms: i64,
    /// Last used at (ms since the epoch; kept to the minute).
    pub last_seen_ms: i64,
    /// Idle time-out (ms).
    pub idle_ms: i64,
    /// Absolute end (ms since the epoch).
    pub expires_ms: i64,
}

const ACCOUNT_COLUMNS: &str = "staff, password, totp_secret, totp_last_step, enrolment_hash, enrolment_totp, \
                               enrolment_expires, disabled, updated_at";
const SESSION_COLUMNS: &str = "id, staff, role, address, created_ms, last_seen_ms, idle_ms, expires_ms";

fn account_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        staff: r.get(0)?,
        password: r.get(1)?,
        totp_secret: r.get(2)?,
        totp_last_step: r.get(3)?,
        enrolment_hash: r.get(4)?,
        enrolment_totp: r.get(5)?,
        enrolment_expires: r.get(6)?,
        disabled: r.get::<_, i64>(7)? != 0,
        updated_at: r.get(8)?,
    })
}

fn session_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.get(0)?,
        staff: r.get(1)?,
        role: r.get(2)?,
        address: r.get(3)?,
        created_ms: r.get(4)?,
        last_seen_ms: r.get(5)?,
        idle_ms: r.get(6)?,
        expires_ms: r.get(7)?,
    })
}

/// Credential and session writes inside the writer's transaction.
pub struct Writer<'c>(pub(super) &'c Connection);

impl Writer<'_> {
    /// Stores `record` whole (insert or replace).
    pub fn put(&self, record: &AccountRecord) -> Result<(), StoreError> {
        self.0
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO accounts ({ACCOUNT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                record.staff,
                record.password,
                record.totp_secret,
                record.totp_last_step,
                record.enrolment_hash,
                record.enrolment_totp,
                record.enrolment_expires,
                record.disabled as i64,
                record.updated_at
            ])?;
        Ok(())
    }

    /// Replaces a person's recovery codes with `hashes`.
    pub fn set_recovery(&self, staff: &str, hashes: &[Vec<u8>]) -> Result<(), StoreError> {
        self.0.prepare_cached("DELETE FROM recovery_codes WHERE staff = ?1")?.execute(params![staff])?;
        let mut insert = self.0.prepare_cached("INSERT OR IGNORE INTO recovery_codes (staff, hash) VALUES (?1, ?2)")?;
        for hash in hashes {
            insert.execute(params![staff, hash])?;
        }
        Ok(())
    }

    /// Uses up a recovery code: true when it existed.
    pub fn take_recovery(&self, staff: &str, hash: &[u8]) -> Result<bool, StoreError> {
        let n = self
            .0
            .prepare_cached("DELETE FROM recovery_codes WHERE staff = ?1 AND hash = ?2")?
            .execute(params![staff, hash])?;
        Ok(n == 1)
    }

    /// Stores a new session by the hash of its token.
    pub fn open_session(&self, session: &SessionRecord, token_hash: &[u8]) -> Result<(), StoreError> {
        self.0
            .prepare_cached(&format!(
                "INSERT INTO sessions ({SESSION_COLUMNS}, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                session.id,
                session.staff,
                session.role,
                session.address,
                session.created_ms,
                session.last_seen_ms,
                session.idle_ms,
                session.expires_ms,
                token_hash
            ])?;
        Ok(())
    }

    /// Records a session's last use.
    pub fn touch_session(&self, id: &str, at_ms: i64) -> Result<(), StoreError> {
        self.0
            .prepare_cached("UPDATE sessions SET last_seen_ms = MAX(last_seen_ms, ?2) WHERE id = ?1")?
            .execute(params![id, at_ms])?;
        Ok(())
    }

    /// Ends the sessions with these ids.
    pub fn end_session(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.0.prepare_cached("DELETE FROM sessions WHERE id = ?1")?.execute(params![id])? == 1)
    }

    /// Deletes sessions past their idle time-out or lifetime at `now_ms`; they could not be used anyway.
    pub fn sweep_sessions(&self, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .0
            .prepare_cached("DELETE FROM sessions WHERE expires_ms <= ?1 OR last_seen_ms + idle_ms <= ?1")?
            .execute(params![now_ms])?)
    }

    /// The account, read inside the transaction.
    pub fn account(&self, staff: &str) -> Result<Option<AccountRecord>, StoreError> {
        Queries(self.0).account(staff)
    }

    /// The sessions of `staff`, read inside the transaction.
    pub fn sessions_of(&self, staff: &str) -> Result<Vec<SessionRecord>, StoreError> {
        Queries(self.0).sessions(Some(staff))
    }

    /// One session, read inside the transaction.
    pub fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        Queries(self.0).session(id)
    }
}

/// Credential and session lookups.
pub struct Queries<'c>(pub(super) &'c Connection);

impl Queries<'_> {
    /// A person's credentials.
    pub fn account(&self, staff: &str) -> Result<Option<AccountRecord>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE staff = ?1"))?
            .query_row(params![staff], account_from_row)
            .optional()?)
    }

    /// Every stored account.
    pub fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let mut stmt = self.0.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY staff"))?;
        let rows = stmt.query_map([], account_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many recovery codes a person has left.
    pub fn recovery_left(&self, staff: &str) -> Result<u32, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT COUNT(*) FROM recovery_codes WHERE staff = ?1")?
            .query_row(params![staff], |r| r.get(0))?)
    }

    /// Whether `staff` has the unused recovery code hashing to `hash`.
    pub fn has_recovery(&self, staff: &str, hash: &[u8]) -> Result<bool, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM recovery_codes WHERE staff = ?1 AND hash = ?2")?
            .query_row(params![staff, hash], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The session whose token hashes to `token_hash`.
    pub fn session_by_hash(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE hash = ?1"))?
            .query_row(params![token_hash], session_from_row)
            .optional()?)
    }

    /// One session by id.
    pub fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"))?
            .query_row(params![id], session_from_row)
            .optional()?)
    }

    /// Sessions, of one person or everyone's, oldest first.
    pub fn sessions(&self, staff: Option<&str>) -> Result<Vec<SessionRecord>, StoreError> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE ?1 IS NULL OR staff = ?1 ORDER BY created_ms, id"
        ))?;
        let rows = stmt.query_map(params![staff], session_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
