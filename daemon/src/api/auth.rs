//! Bearer tokens and roles: tokens are random secrets stored only as SHA-256 hashes; every endpoint names the roles
//! it admits as the type parameter of its [`Caller`] extractor.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};

use super::error::ApiError;
use super::ApiState;
use crate::store::{ReadPool, TokenRecord};
use crate::vocab::{Actor, Role};

/// Roles that may read tickets.
pub const READ_TICKETS: &[Role] = &[Role::Staff, Role::Supervisor, Role::Manager, Role::Admin, Role::Analytics];
/// Roles that may raise and work tickets.
pub const WORK_TICKETS: &[Role] = &[Role::Staff, Role::Supervisor, Role::Manager, Role::Admin];

/// A set of roles an endpoint admits, as a type, so the caller extractor names it: `Caller<WorkTickets>`.
pub trait Roles: Send + Sync + 'static {
    /// The roles admitted.
    const ALLOWED: &'static [Role];
}

macro_rules! roles {
    ($($(#[$doc:meta])* $name:ident = $roles:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl Roles for $name {
            const ALLOWED: &'static [Role] = $roles;
        }
    )*};
}

roles! {
    /// Reading tickets, the roster and the routing explanation.
    ReadTickets = READ_TICKETS;
    /// Raising and working tickets, duty, guest tier and do-not-disturb.
    WorkTickets = WORK_TICKETS;
    /// Assigning tickets to others.
    Supervise = &[Role::Supervisor, Role::Manager, Role::Admin];
    /// Reloading the configuration.
    Administer = &[Role::Admin];
    /// Reading `/metrics`: every role.
    ReadMetrics = &Role::ALL;
    /// Reading the device inventory: every role.
    ReadDevices = &Role::ALL;
    /// Binding devices.
    BindDevices = &[Role::Installer, Role::Admin];
    /// Writing room controllers.
    WriteControllers = &[Role::Supervisor, Role::Manager, Role::Admin, Role::Installer];
    /// Reading and erasing guests' personal data.
    ManageGuestData = &[Role::Manager, Role::Admin];
}

/// Who is calling, admitted by `R`. As an extractor it answers 401 (no or unknown token) or 403 (a role `R` does
/// not admit) before the handler runs.
#[derive(Debug)]
pub struct Caller<R> {
    /// The token's public id.
    pub token: String,
    roles: PhantomData<R>,
}

impl<R> Caller<R> {
    /// The journal actor for this caller.
    pub fn actor(&self) -> Actor {
        Actor::Token(self.token.clone())
    }
}

impl<R: Roles> FromRequestParts<Arc<ApiState>> for Caller<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<ApiState>) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
        let token = authorize(header, &state.reads, R::ALLOWED).await?;
        Ok(Caller { token, roles: PhantomData })
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

/// The secret of an `Authorization: Bearer <token>` value; the scheme's name is case-insensitive.
fn bearer_secret(header: &str) -> Option<&str> {
    let (scheme, secret) = header.trim_start().split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| secret.trim())
}

/// Finds the caller's token id from the `Authorization` header value and checks their role against `allowed`.
async fn authorize(header: Option<&str>, reads: &ReadPool, allowed: &[Role]) -> Result<String, ApiError> {
    let Some(header) = header else {
        return Err(ApiError::unauthorized("send Authorization: Bearer <token>"));
    };
    let Some(secret) = bearer_secret(header) else {
        return Err(ApiError::unauthorized("the Authorization header must be `Bearer <token>`"));
    };
    if secret.is_empty() || secret.len() > 128 {
        return Err(ApiError::unauthorized("unknown token"));
    }
    let hash = hash_secret(secret);
    let record: Option<TokenRecord> = reads.with(move |r| r.tokens().by_hash(&hash)).await?;
    let Some(record) = record else {
        return Err(ApiError::unauthorized("unknown or revoked token"));
    };
    let Some(role) = record.role else {
        return Err(ApiError::forbidden("the token's role is not known"));
    };
    if !allowed.contains(&role) {
        return Err(ApiError::forbidden(format!("the {} role may not do this", role.as_str())));
    }
    Ok(record.id)
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

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_secret("Bearer bh_x"), Some("bh_x"));
        assert_eq!(bearer_secret("bearer bh_x"), Some("bh_x"));
        assert_eq!(bearer_secret("BEARER   bh_x "), Some("bh_x"));
        assert_eq!(bearer_secret("Basic dXNlcjpwdw=="), None);
        assert_eq!(bearer_secret("Bearer"), None);
        assert_eq!(bearer_secret("Bearerbh_x"), None);
    }
}
