//! Sessions of signed-in people: the cookie (`HttpOnly; SameSite=Strict; Path=/`, and `Secure` with the `__Host-`
//! prefix over HTTPS), the lookup with the idle time-out and the absolute lifetime, and the memory of recent use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};

use super::auth::Principal;
use super::error::ApiError;
use super::throttle::{NewLock, Throttle};
use super::ApiState;
use crate::core::accounts::AccountChange;
use crate::core::Command;
use crate::credentials::password::Hasher;
use crate::event::EventBody;
use crate::store::SessionRecord;
use crate::vocab::Actor;

/// The cookie's name over plain HTTP (loopback).
pub const COOKIE_NAME: &str = "bellhop_session";
/// The cookie's name over HTTPS: the browser then insists on `Secure`, `Path=/` and no `Domain`.
pub const SECURE_COOKIE_NAME: &str = "__Host-bellhop_session";
/// A session's last use is written to the store at most this often; in between it is kept in memory.
const TOUCH_EVERY_MS: i64 = 60_000;

/// What signing in needs besides the store: the hashing cap, the throttle, and sessions' recent use.
#[derive(Debug, Default)]
pub struct Access {
    /// Runs password hashing under the cap.
    pub hasher: Hasher,
    /// Failed attempts per account and address.
    pub throttle: Throttle,
    /// When each session was last used (ms since the epoch), newer than the store's record.
    activity: Mutex<HashMap<String, i64>>,
}

/// The session secret from the request's cookies.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SECURE_COOKIE_NAME || name == COOKIE_NAME).then(|| value.trim().to_owned())
    })
}

/// The `Set-Cookie` value for a new session.
pub fn set_cookie(secret: &str, secure: bool, lifetime_s: u64) -> HeaderValue {
    let text = if secure {
        format!("{SECURE_COOKIE_NAME}={secret}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age={lifetime_s}")
    } else {
        format!("{COOKIE_NAME}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={lifetime_s}")
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static("__Host-bellhop_session=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0")
    } else {
        HeaderValue::from_static("bellhop_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The person behind a session secret: 401 when it is unknown, idle too long, past its lifetime, or its person is
/// no longer on the roster.
pub async fn principal(state: &Arc<ApiState>, secret: &str) -> Result<Principal, ApiError> {
    if secret.is_empty() || secret.len() > 128 {
        return Err(ApiError::unauthorized("signed out; sign in again"));
    }
    let hash = crate::credentials::codes::hash(secret);
    let Some(session) = state.reads.with(move |r| r.accounts().session_by_hash(&hash)).await? else {
        return Err(ApiError::unauthorized("signed out; sign in again"));
    };
    let now = now_ms();
    if now >= session.expires_ms {
        return Err(ApiError::unauthorized("the session has reached its time limit; sign in again"));
    }
    if now >= last_seen(state, &session) + session.idle_ms {
        return Err(ApiError::unauthorized("the session timed out while idle; sign in again"));
    }
    let config = state.config.borrow().clone();
    let Some(member) = config.people.staff.get(&session.staff) else {
        return Err(ApiError::unauthorized("no longer on the roster"));
    };
    state.access.activity.lock().unwrap_or_else(|p| p.into_inner()).insert(session.id.clone(), now);
    if now - session.last_seen_ms >= TOUCH_EVERY_MS {
        let core = state.core.clone();
        let id = session.id.clone();
        tokio::spawn(async move {
            let change = AccountChange::Touch { session: id, at_ms: now };
            let _ = core.call(|reply| Command::Account { actor: Actor::System, change, reply }).await;
        });
    }
    Ok(Principal::of_person(member, Some(session.id)))
}

/// When `session` was last used: the later of the store's record and the memory of recent use.
pub fn last_seen(state: &ApiState, session: &SessionRecord) -> i64 {
    let remembered = state.access.activity.lock().unwrap_or_else(|p| p.into_inner()).get(&session.id).copied();
    remembered.unwrap_or(0).max(session.last_seen_ms)
}

/// Whether `session` is still usable at `now_ms`.
pub fn alive(state: &ApiState, session: &SessionRecord, now_ms: i64) -> bool {
    now_ms < session.expires_ms && now_ms < last_seen(state, session) + session.idle_ms
}

/// Forgets a session's recent use (it ended).
pub fn forget(state: &ApiState, session: &str) {
    state.access.activity.lock().unwrap_or_else(|p| p.into_inner()).remove(session);
}

/// Journals a new lock and tells admins in the log.
pub async fn journal_lock(state: &Arc<ApiState>, lock: &NewLock) {
    let (scope, key) = lock.key.describe();
    tracing::warn!(
        scope,
        key,
        failures = lock.failures,
        seconds = lock.duration.as_secs(),
        "Sign-in locked after repeated failures."
    );
    let until =
        jiff::Timestamp::now() + jiff::SignedDuration::try_from(lock.duration).unwrap_or(jiff::SignedDuration::ZERO);
    let body = EventBody::SignInLocked {
        scope: scope.into(),
        key,
        failures: lock.failures,
        until: until.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    };
    record(state, Actor::System, body).await;
}

/// Journals something that happened at the door (an attempt, a lock); a failure to store it is logged.
pub async fn record(state: &Arc<ApiState>, actor: Actor, body: EventBody) {
    if let Err(error) =
        state.core.call(|reply| Command::Record { actor, body, reply }).await.and_then(|r| r.map(|_| ()))
    {
        tracing::error!(%error, "A sign-in event could not be journaled.");
    }
}

/// How long a lock lasts under the configuration in force.
pub fn lock_duration(state: &ApiState) -> Duration {
    Duration::from_secs(state.config.borrow().signin.lock_s)
}
