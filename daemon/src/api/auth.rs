//! Who is calling: bearer tokens (random secrets stored only as SHA-256 hashes) or a signed-in person's session
//! cookie, with the role and the departments they may act in; every endpoint names the roles it admits as the type
//! parameter of its [`Caller`] extractor, and checks a person's scope with [`Principal`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};

use super::error::ApiError;
use super::server::ConnectionInfo;
use super::session;
use super::throttle::{Hold, Key, ADDRESS_FACTOR};
use super::ApiState;
use crate::config::{Config, StaffMember};
use crate::store::{TokenRecord, Visibility};
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
    /// Anyone signed in or holding a token: their own sessions, signing out.
    Anyone = &Role::ALL;
    /// Binding devices.
    BindDevices = &[Role::Installer, Role::Admin];
    /// Writing room controllers.
    WriteControllers = &[Role::Supervisor, Role::Manager, Role::Admin, Role::Installer];
    /// Reading and erasing guests' personal data.
    ManageGuestData = &[Role::Manager, Role::Admin];
}

/// Who is calling, admitted by `R`. As an extractor it answers 401 (no, unknown, expired or revoked credentials),
/// 403 (a role `R` does not admit, or a cross-site request) or 429 (a locked client address) before the handler
/// runs.
#[derive(Debug)]
pub struct Caller<R> {
    /// The person or system, with their scope.
    pub who: Principal,
    roles: PhantomData<R>,
}

impl<R> Caller<R> {
    /// The journal actor for this caller: `staff:{id}`, `integration:{name}` or `token:{id}`.
    pub fn actor(&self) -> Actor {
        self.who.actor.clone()
    }
}

impl<R: Roles> FromRequestParts<Arc<ApiState>> for Caller<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<ApiState>) -> Result<Self, ApiError> {
        let who = identify(parts, state).await?;
        if !R::ALLOWED.contains(&who.role) {
            return Err(ApiError::forbidden(format!("the {} role may not do this", who.role.as_str())));
        }
        Ok(Caller { who, roles: PhantomData })
    }
}

/// Finds who is calling: a bearer token when the request has `Authorization`, a session cookie otherwise.
async fn identify(parts: &Parts, state: &Arc<ApiState>) -> Result<Principal, ApiError> {
    let peer = ConnectionInfo::of(parts);
    let address = Key::Address(peer.peer.ip());
    if let Some(hold @ Hold::Locked(_)) = state.access.throttle.check(&address, Instant::now()) {
        return Err(too_many(hold, "too many failed attempts from this address"));
    }
    if let Some(header) = parts.headers.get(AUTHORIZATION) {
        let header = header.to_str().unwrap_or("");
        return match bearer(header, state).await {
            Ok(who) => Ok(who),
            Err(error) => {
                if error.status == StatusCode::UNAUTHORIZED {
                    let config = state.config.borrow().clone();
                    let limit = config.signin.lock_after.saturating_mul(ADDRESS_FACTOR);
                    let lock_for = Duration::from_secs(config.signin.lock_s);
                    if let Some(lock) = state.access.throttle.fail(&address, limit, lock_for, Instant::now()) {
                        session::journal_lock(state, &lock).await;
                    }
                }
                Err(error)
            }
        };
    }
    let Some(secret) = session::cookie(&parts.headers) else {
        return Err(ApiError::unauthorized("send Authorization: Bearer <token>, or sign in"));
    };
    let who = session::principal(state, &secret).await?;
    if !SAFE_METHODS.contains(&parts.method) {
        check_origin(&parts.headers)?;
    }
    Ok(who)
}

/// Methods that change nothing, so need no `Origin` check.
const SAFE_METHODS: [Method; 3] = [Method::GET, Method::HEAD, Method::OPTIONS];

/// A request with a session cookie that changes something must come from the gateway's own pages: its `Origin`
/// must name the host it was sent to (besides `SameSite=Strict` on the cookie).
fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || ApiError::forbidden("cross-site request refused: Origin must be this gateway");
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok()).ok_or_else(refused)?;
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).ok_or_else(refused)?;
    let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")).ok_or_else(refused)?;
    if authority.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// 429 with `Retry-After`.
pub fn too_many(hold: Hold, message: &str) -> ApiError {
    let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message);
    error.retry_after = Some(hold.retry_after_s());
    error
}

pub use crate::credentials::codes::{hash as hash_secret, new_token};

/// The secret of an `Authorization: Bearer <token>` value; the scheme's name is case-insensitive.
fn bearer_secret(header: &str) -> Option<&str> {
    let (scheme, secret) = header.trim_start().split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| secret.trim())
}

/// The principal of an `Authorization` header value.
async fn bearer(header: &str, state: &Arc<ApiState>) -> Result<Principal, ApiError> {
    let Some(secret) = bearer_secret(header) else {
        return Err(ApiError::unauthorized("the Authorization header must be `Bearer <token>`"));
    };
    if secret.is_empty() || secret.len() > 128 {
        return Err(ApiError::unauthorized("unknown token"));
    }
    let hash = hash_secret(secret);
    let record: Option<TokenRecord> = state.reads.with(move |r| r.tokens().by_hash(&hash)).await?;
    let Some(record) = record else {
        return Err(ApiError::unauthorized("unknown or revoked token"));
    };
    let now = jiff::Timestamp::now();
    if record.expires_at.as_deref().and_then(|e| e.parse::<jiff::Timestamp>().ok()).is_some_and(|e| e <= now) {
        return Err(ApiError::unauthorized("the token has expired"));
    }
    let Some(role) = record.role else {
        return Err(ApiError::forbidden("the token's role is not known"));
    };
    let config = state.config.borrow().clone();
    Ok(Principal::of_token(&record, role, &config))
}

/// Who is calling, and where they may act.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The journal actor: `staff:{id}`, `integration:{name}` or `token:{id}`.
    pub actor: Actor,
    /// The role in force.
    pub role: Role,
    /// The person (staff id), when a person is calling.
    pub person: Option<String>,
    /// The departments they may act in; `None`: the whole property.
    pub departments: Option<Vec<String>>,
    /// The session, when signed in with a cookie.
    pub session: Option<String>,
    /// The token's id, when calling with a token.
    pub token: Option<String>,
}

impl Principal {
    /// A signed-in person with their roster role and departments.
    pub fn of_person(member: &StaffMember, session: Option<String>) -> Principal {
        let role = Role::parse(member.role.as_str()).unwrap_or(Role::Staff);
        let departments = match role {
            Role::Staff | Role::Supervisor => Some(member.departments.clone()),
            _ => None,
        };
        Principal {
            actor: Actor::Staff(member.id.clone()),
            role,
            person: Some(member.id.clone()),
            departments,
            session,
            token: None,
        }
    }

    /// A token's principal: a person's token acts as them (within the token's role), an integration's by its
    /// name; a department scope narrows either.
    pub fn of_token(record: &TokenRecord, role: Role, config: &Config) -> Principal {
        let owner = record.owner.as_deref();
        let person = owner.and_then(|o| o.strip_prefix("staff:")).map(str::to_owned);
        let mut departments = match (&person, role) {
            (Some(id), Role::Staff | Role::Supervisor) => {
                Some(config.people.staff.get(id).map(|m| m.departments.clone()).unwrap_or_default())
            }
            _ => None,
        };
        if let Some(scope) = &record.department {
            departments = Some(match departments {
                Some(mine) => mine.into_iter().filter(|d| d == scope).collect(),
                None => vec![scope.clone()],
            });
        }
        let actor = match owner.and_then(Actor::parse) {
            Some(owner @ (Actor::Staff(_) | Actor::Integration(_))) => owner,
            _ => Actor::Token(record.id.clone()),
        };
        Principal { actor, role, person, departments, session: None, token: Some(record.id.clone()) }
    }

    /// Whether they may see and act on a ticket of `department` assigned to `assignee`: the whole property, one of
    /// their departments, or (staff) a ticket assigned to them.
    pub fn may_act_on(&self, department: &str, assignee: Option<&str>) -> bool {
        match &self.departments {
            None => true,
            Some(mine) => {
                mine.iter().any(|d| d == department)
                    || (self.person.is_some() && self.person.as_deref() == assignee && self.role == Role::Staff)
            }
        }
    }

    /// The ticket listing's limit for them.
    pub fn visibility(&self) -> Option<Visibility> {
        self.departments.as_ref().map(|departments| Visibility {
            departments: departments.clone(),
            assignee: self.person.clone().filter(|_| self.role == Role::Staff),
        })
    }

    /// Whether they may change `staff`'s duty: their own; a supervisor anyone sharing a department; managers and
    /// admins anyone.
    pub fn may_set_duty_of(&self, member: &StaffMember) -> bool {
        if self.person.as_deref() == Some(member.id.as_str()) {
            return true;
        }
        match self.role {
            Role::Manager | Role::Admin => self.departments.is_none() || self.shares_department(member),
            Role::Supervisor => self.shares_department(member),
            _ => false,
        }
    }

    fn shares_department(&self, member: &StaffMember) -> bool {
        self.departments.as_ref().is_some_and(|mine| member.departments.iter().any(|d| mine.contains(d)))
    }
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
