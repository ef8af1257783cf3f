//! API bearer tokens, stored as SHA-256 hashes of the secret.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::vocab::Role;

/// A stored token (never the secret itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public id, shown in the journal as the actor `token:{id}`.
    pub id: String,
    /// The role it carries; `None` when the store holds a role this version does not know (the API refuses such a
    /// token).
    pub role: Option<Role>,
    /// What it is for.
    pub label: String,
}

/// Token writes inside the writer's transaction.
pub struct Writer<'c>(pub(super) &'c Connection);

impl Writer<'_> {
    /// Stores a token by the hash of its secret.
    pub fn insert(&self, record: &TokenRecord, secret_hash: &[u8], at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached("INSERT INTO tokens (id, hash, role, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![record.id, secret_hash, record.role.map(Role::as_str), record.label, at])?;
        Ok(())
    }
}

/// Token lookups.
pub struct Queries<'c>(pub(super) &'c Connection);

impl Queries<'_> {
    /// The live token whose secret hashes to `secret_hash`.
    pub fn by_hash(&self, secret_hash: &[u8]) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT id, role, label FROM tokens WHERE hash = ?1 AND revoked_at IS NULL")?
            .query_row(params![secret_hash], |r| {
                Ok(TokenRecord { id: r.get(0)?, role: Role::parse(&r.get::<_, String>(1)?), label: r.get(2)? })
            })
            .optional()?)
    }
}
