//! API bearer tokens, stored as SHA-256 hashes of the secret, with their owner, department scope and expiry.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::vocab::Role;

/// A stored token (never the secret itself).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public id.
    pub id: String,
    /// The role it carries; `None` when the store holds a role this version does not know (the API refuses such a
    /// token).
    pub role: Option<Role>,
    /// What it is for (its name).
    pub label: String,
    /// Who it belongs to: `staff:{id}` for a person, `integration:{name}` for another system; absent on tokens
    /// issued before owners existed.
    pub owner: Option<String>,
    /// The one department it may act in, if limited.
    pub department: Option<String>,
    /// When it stops working (UTC, RFC 3339), if ever.
    pub expires_at: Option<String>,
    /// When it was issued.
    pub created_at: String,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

const COLUMNS: &str = "id, role, label, owner, department, expires_at, created_at, revoked_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        role: Role::parse(&r.get::<_, String>(1)?),
        label: r.get(2)?,
        owner: r.get(3)?,
        department: r.get(4)?,
        expires_at: r.get(5)?,
        created_at: r.get(6)?,
        revoked_at: r.get(7)?,
    })
}

/// Token writes inside the writer's transaction.
pub struct Writer<'c>(pub(super) &'c Connection);

impl Writer<'_> {
    /// Stores a token by the hash of its secret.
    pub fn insert(&self, record: &TokenRecord, secret_hash: &[u8], at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO tokens (id, hash, role, label, owner, department, expires_at, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                record.id,
                secret_hash,
                record.role.map(Role::as_str),
                record.label,
                record.owner,
                record.department,
                record.expires_at,
                at
            ])?;
        Ok(())
    }

    /// Revokes a live token: true when there was one to revoke.
    pub fn revoke(&self, id: &str, at: &str) -> Result<bool, StoreError> {
        Ok(self
            .0
            .prepare_cached("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
            .execute(params![id, at])?
            == 1)
    }

    /// The live tokens owned by `owner`.
    pub fn owned_by(&self, owner: &str) -> Result<Vec<TokenRecord>, StoreError> {
        Ok(Queries(self.0)
            .list()?
            .into_iter()
            .filter(|t| t.revoked_at.is_none() && t.owner.as_deref() == Some(owner))
            .collect())
    }
}

/// Token lookups.
pub struct Queries<'c>(pub(super) &'c Connection);

impl Queries<'_> {
    /// The unrevoked token whose secret hashes to `secret_hash` (the caller checks its expiry).
    pub fn by_hash(&self, secret_hash: &[u8]) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1 AND revoked_at IS NULL"))?
            .query_row(params![secret_hash], from_row)
            .optional()?)
    }

    /// Every token ever issued, oldest first.
    pub fn list(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut stmt = self.0.prepare_cached(&format!("SELECT {COLUMNS} FROM tokens ORDER BY created_at, id"))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
