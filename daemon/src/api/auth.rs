//! Bearer tokens and roles: tokens are random secrets stored only as SHA-256 hashes; every endpoint names the roles
//! it admits.

use base64::Engine;
use hyper::StatusCode;
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use super::response::ApiError;
use crate::store::{ReadPool, TokenRecord};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works tickets.
    Staff,
    /// Works tickets and gets escalations.
    Supervisor,
    /// Gets escalations and reports.
    Manager,
    /// Everything.
    Admin,
    /// Reads tickets and reports.
    Analytics,
    /// Devices, controllers and health.
    Installer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] =
        [Role::Staff, Role::Supervisor, Role::Manager, Role::Admin, Role::Analytics, Role::Installer];

    /// The spelling used in the CLI and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Supervisor => "supervisor",
            Role::Manager => "manager",
            Role::Admin => "admin",
            Role::Analytics => "analytics",
            Role::Installer => "installer",
        }
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Roles that may read tickets.
pub const READ_TICKETS: &[Role] = &[Role::Staff, Role::Supervisor, Role::Manager, Role::Admin, Role::Analytics];
/// Roles that may raise and work tickets.
pub const WORK_TICKETS: &[Role] = &[Role::Staff, Role::Supervisor, Role::Manager, Role::Admin];

/// Who may assign tickets to others.
pub const SUPERVISE: &[Role] = &[Role::Supervisor, Role::Manager, Role::Admin];

/// Who may reload the configuration.
pub const ADMINISTER: &[Role] = &[Role::Admin];

/// Who is calling.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token's public id.
    pub token: String,
}

impl Caller {
    /// The journal actor for this caller.
    pub fn actor(&self) -> String {
        format!("token:{}", self.token)
    }
}

/// The SHA-256 of a token secret, as stored.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    digest(&SHA256, secret.as_bytes()).as_ref().to_vec()
}

/// A fresh token: its public id, and the secret to hand out once.
pub fn new_token() -> Result<(String, String), ring::error::Unspecified> {
    let rng = SystemRandom::new();
    let mut secret = [0u8; 32];
    rng.fill(&mut secret)?;
    let secret = format!("bh_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
    let id = hex::encode(&hash_secret(&secret)[..6]);
    Ok((id, secret))
}

/// Finds the caller from an `Authorization: Bearer ...` header value and checks their role against `allowed`.
pub async fn authorize(header: Option<&str>, reads: &ReadPool, allowed: &[Role]) -> Result<Caller, ApiError> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
    let Some(header) = header else {
        return Err(unauthorized("send Authorization: Bearer <token>"));
    };
    let Some(secret) = header.strip_prefix("Bearer ").map(str::trim) else {
        return Err(unauthorized("the Authorization header must be `Bearer <token>`"));
    };
    if secret.is_empty() || secret.len() > 128 {
        return Err(unauthorized("unknown token"));
    }
    let hash = hash_secret(secret);
    let record: Option<TokenRecord> = reads.with(move |r| r.tokens().by_hash(&hash)).await?;
    let Some(record) = record else {
        return Err(unauthorized("unknown or revoked token"));
    };
    let Some(role) = Role::parse(&record.role) else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the token's role is not known"));
    };
    if !allowed.contains(&role) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the {} role may not do this", role.as_str()),
        ));
    }
    Ok(Caller { token: record.id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_ids_derive_from_secrets() {
        let (id1, s1) = new_token().unwrap();
        let (id2, s2) = new_token().unwrap();
        assert_ne!(s1, s2);
        assert_ne!(id1, id2);
        assert_eq!(id1, hex::encode(&hash_secret(&s1)[..6]));
        assert!(s1.starts_with("bh_") && s1.len() == 46);
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
