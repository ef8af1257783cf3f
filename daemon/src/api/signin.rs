//! `/api/v1/auth`: enrolment with a one-time code (password, TOTP with the gateway's QR code, recovery codes),
//! signing in (throttled, every attempt journaled), signing out here or everywhere, and who is calling. Sessions:
//! `/api/v1/sessions`, one's own, or anyone's for an admin.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::{too_many, Anyone, Caller};
use super::error::ApiError;
use super::extract::{JsonBody, Query};
use super::reply::Reply;
use super::server::ConnectionInfo;
use super::session::{self, clear_cookie, set_cookie};
use super::throttle::{Hold, Key, ADDRESS_FACTOR};
use super::views::{
    EndedView, EnrolBody, EnrolledView, EnrolmentBody, EnrolmentView, ErrorBody, MeView, SessionList, SessionView,
    SignInBody,
};
use super::ApiState;
use crate::config::{Config, StaffMember};
use crate::core::accounts::AccountChange;
use crate::core::{Command, CoreError};
use crate::credentials::{codes, password, qr, totp};
use crate::event::EventBody;
use crate::store::{AccountRecord, SessionRecord};
use crate::vocab::{Actor, Role};

impl FromRequestParts<Arc<ApiState>> for ConnectionInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<ApiState>) -> Result<Self, ApiError> {
        Ok(ConnectionInfo::of(parts))
    }
}

/// The same answer for an unknown user and a wrong password, so the API does not tell which names exist.
fn wrong() -> ApiError {
    ApiError::unauthorized("wrong user name or password")
}

fn rfc3339_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()).unwrap_or_default()
}

/// Refuses an attempt the throttle holds back (account or address).
fn held(state: &ApiState, user: &str, info: &ConnectionInfo) -> Result<(), ApiError> {
    let now = Instant::now();
    for key in [Key::Account(user.to_owned()), Key::Address(info.peer.ip())] {
        if let Some(hold) = state.access.throttle.check(&key, now) {
            let message = match hold {
                Hold::Locked(_) => "locked after repeated failures; try again later or ask an admin",
                Hold::Slowed(_) => "too soon after a failed attempt; wait and try again",
            };
            return Err(too_many(hold, message));
        }
    }
    Ok(())
}

/// Counts and journals a failed attempt, and any lock it causes.
async fn failed(state: &Arc<ApiState>, user: &str, info: &ConnectionInfo, reason: &str) {
    let address = info.peer.ip().to_string();
    let body = EventBody::SignInAttempted {
        user: user.to_owned(),
        address,
        outcome: "failure".into(),
        reason: Some(reason.to_owned()),
        session: None,
        factor: None,
    };
    session::record(state, Actor::System, body).await;
    let limit = state.config.borrow().signin.lock_after;
    let lock_for = session::lock_duration(state);
    let now = Instant::now();
    let locks = [
        state.access.throttle.fail(&Key::Account(user.to_owned()), limit, lock_for, now),
        state.access.throttle.fail(&Key::Address(info.peer.ip()), limit.saturating_mul(ADDRESS_FACTOR), lock_for, now),
    ];
    for lock in locks.into_iter().flatten() {
        session::journal_lock(state, &lock).await;
    }
}

/// A user name as typed: trimmed, bounded.
fn user_name(user: &str) -> Result<String, ApiError> {
    let user = user.trim();
    if user.is_empty() || user.len() > 64 {
        return Err(ApiError::bad_request("user must be a staff id"));
    }
    Ok(user.to_owned())
}

/// The roster member and account an enrolment code opens, or why not (counted as a failure).
async fn open_enrolment(
    state: &Arc<ApiState>,
    info: &ConnectionInfo,
    user: &str,
    code: &str,
) -> Result<(StaffMember, AccountRecord), ApiError> {
    held(state, user, info)?;
    let config = state.config.borrow().clone();
    let id = user.to_owned();
    let account = state.reads.with(move |r| r.accounts().account(&id)).await?;
    let hash = codes::hash(&codes::normalise(code));
    let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let opened = match (config.people.staff.get(user), account) {
        (Some(member), Some(account))
            if !account.disabled
                && account.enrolment_hash.as_deref() == Some(hash.as_slice())
                && account.enrolment_expires.as_deref().is_some_and(|e| e > now.as_str()) =>
        {
            Some((member.clone(), account))
        }
        _ => None,
    };
    match opened {
        Some(opened) => Ok(opened),
        None => {
            failed(state, user, info, "wrong or expired enrolment code").await;
            Err(ApiError::unauthorized("the enrolment code is wrong or has expired; ask an admin for a new one"))
        }
    }
}

fn totp_required(config: &Config, member: &StaffMember) -> bool {
    config.signin.for_role(member.role).totp
}

#[utoipa::path(post, path = "/api/v1/auth/enrolment", tag = "sign-in", request_body = EnrolmentBody,
    responses(
        (status = 200, description = "The second factor to scan", body = EnrolmentView),
        (status = 401, description = "A wrong or expired code", body = ErrorBody),
        (status = 429, description = "Too many failures", body = ErrorBody),
    ))]
/// Shows what an enrolment code offers: the TOTP secret as a QR code drawn by the gateway. Changes nothing.
pub async fn enrolment(
    State(state): State<Arc<ApiState>>,
    info: ConnectionInfo,
    JsonBody(body): JsonBody<EnrolmentBody>,
) -> Result<Reply<EnrolmentView>, ApiError> {
    let user = user_name(&body.user)?;
    let (member, account) = open_enrolment(&state, &info, &user, &body.code).await?;
    let config = state.config.borrow().clone();
    let secret = account.enrolment_totp.unwrap_or_default();
    let uri = totp::uri(&config.site.name, &member.id, &secret);
    let svg = qr::svg(&uri).ok_or_else(|| ApiError::unavailable("the QR code could not be drawn"))?;
    Ok(Reply::ok(EnrolmentView {
        user: member.id.clone(),
        name: member.name.clone(),
        totp_required: totp_required(&config, &member),
        totp_secret: totp::base32(&secret),
        totp_uri: uri,
        totp_qr_svg: svg,
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/enrol", tag = "sign-in", request_body = EnrolBody,
    responses(
        (status = 200, description = "Enrolled; sign in now. The recovery codes are shown once", body = EnrolledView),
        (status = 401, description = "A wrong or expired code", body = ErrorBody),
        (status = 422, description = "A weak password, or a missing or wrong TOTP code", body = ErrorBody),
        (status = 429, description = "Too many failures", body = ErrorBody),
        (status = 503, description = "Too many sign-ins at once", body = ErrorBody),
    ))]
/// Sets the password (and the second factor) with a one-time enrolment code.
pub async fn enrol(
    State(state): State<Arc<ApiState>>,
    info: ConnectionInfo,
    JsonBody(body): JsonBody<EnrolBody>,
) -> Result<Reply<EnrolledView>, ApiError> {
    let user = user_name(&body.user)?;
    let (member, account) = open_enrolment(&state, &info, &user, &body.code).await?;
    let invalid = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
    password::check_strength(&member.id, &body.password).map_err(|e| invalid(e.to_string()))?;
    let config = state.config.borrow().clone();
    let secret = account.enrolment_totp.clone().unwrap_or_default();
    let totp_step = match body.totp.as_deref().map(str::trim) {
        Some(code) => {
            Some(totp::check(&secret, code, jiff::Timestamp::now().as_second(), None).ok_or_else(|| {
                invalid("the authenticator code is wrong; check the phone's clock and try again".into())
            })?)
        }
        None if totp_required(&config, &member) => {
            return Err(invalid(format!(
            "the {} role needs a second factor: scan the QR code from /api/v1/auth/enrolment and send a code as totp",
            member.role.as_str()
        )))
        }
        None => None,
    };
    let recovery = match totp_step {
        Some(_) => codes::recovery().map_err(|_| ApiError::unavailable("the random source failed"))?,
        None => Vec::new(),
    };
    let plain = body.password;
    let hash = state
        .access
        .hasher
        .run(move || password::hash(&plain))
        .await
        .map_err(|busy| ApiError::unavailable(busy.to_string()))?
        .map_err(|_| ApiError::unavailable("the random source failed"))?;
    let change = AccountChange::Enrol {
        staff: member.id.clone(),
        code_hash: codes::hash(&codes::normalise(&body.code)),
        password: hash,
        totp_step,
        recovery: recovery.iter().map(|c| codes::hash(&codes::normalise(c))).collect(),
    };
    let actor = Actor::Staff(member.id.clone());
    state.core.call(|reply| Command::Account { actor, change, reply }).await??;
    state.access.throttle.succeed(&Key::Account(user));
    Ok(Reply::ok(EnrolledView { user: member.id, totp: totp_step.is_some(), recovery_codes: recovery }))
}

/// What a sign-in proved besides the password.
enum Factor {
    None,
    Totp(i64),
    Recovery(Vec<u8>),
}

#[utoipa::path(post, path = "/api/v1/auth/sign-in", tag = "sign-in", request_body = SignInBody,
    responses(
        (status = 200, description = "Signed in: the session cookie is set", body = MeView),
        (status = 401, description = "Wrong user name, password or code; or the second factor is missing (code `second_factor_required`)", body = ErrorBody),
        (status = 429, description = "Slowed down or locked after failures (`Retry-After`)", body = ErrorBody),
        (status = 503, description = "Too many sign-ins at once", body = ErrorBody),
    ))]
/// Signs a person in and sets the session cookie.
pub async fn sign_in(
    State(state): State<Arc<ApiState>>,
    info: ConnectionInfo,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<Response, ApiError> {
    let user = user_name(&body.user)?;
    held(&state, &user, &info)?;
    let config = state.config.borrow().clone();
    let id = user.clone();
    let account = state.reads.with(move |r| r.accounts().account(&id)).await?;
    let member = config.people.staff.get(&user).cloned();
    let stored = account.as_ref().and_then(|a| a.password.clone()).unwrap_or_else(|| password::decoy().to_owned());
    let plain = body.password;
    let matches = state
        .access
        .hasher
        .run(move || password::verify(&plain, &stored))
        .await
        .map_err(|busy| ApiError::unavailable(busy.to_string()))?;
    let (member, account) = match (member, account) {
        (Some(member), Some(account)) if matches && !account.disabled && account.password.is_some() => {
            (member, account)
        }
        (member, account) => {
            let reason = match (&member, &account) {
                (None, _) => "unknown user",
                (_, Some(a)) if a.disabled => "account disabled",
                (_, None) => "not enrolled",
                (_, Some(a)) if a.password.is_none() => "not enrolled",
                _ => "wrong password",
            };
            failed(&state, &user, &info, reason).await;
            return Err(wrong());
        }
    };
    let policy = config.signin.for_role(member.role);
    let factor = match (&account.totp_secret, body.code.as_deref().map(str::trim).filter(|c| !c.is_empty())) {
        (None, _) if policy.totp => {
            failed(&state, &user, &info, "second factor required but not enrolled").await;
            return Err(ApiError::unauthorized(
                "your role needs a second factor that is not set up; ask an admin to reset your enrolment",
            ));
        }
        (None, _) => Factor::None,
        (Some(_), None) => {
            let body = EventBody::SignInAttempted {
                user: user.clone(),
                address: info.peer.ip().to_string(),
                outcome: "failure".into(),
                reason: Some("second factor missing".into()),
                session: None,
                factor: None,
            };
            session::record(&state, Actor::System, body).await;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "second_factor_required",
                "send the code from your authenticator app (or a recovery code) as code",
            ));
        }
        (Some(secret), Some(code)) if code.len() == totp::DIGITS as usize => {
            match totp::check(secret, code, jiff::Timestamp::now().as_second(), account.totp_last_step) {
                Some(step) => Factor::Totp(step),
                None => {
                    failed(&state, &user, &info, "wrong or used authenticator code").await;
                    return Err(ApiError::unauthorized("wrong or already used code"));
                }
            }
        }
        (Some(_), Some(code)) => {
            let hash = codes::hash(&codes::normalise(code));
            let (id, check) = (user.clone(), hash.clone());
            let known = state.reads.with(move |r| r.accounts().has_recovery(&id, &check)).await?;
            if !known {
                failed(&state, &user, &info, "wrong or used recovery code").await;
                return Err(ApiError::unauthorized("wrong or already used code"));
            }
            Factor::Recovery(hash)
        }
    };
    let secret = codes::session_token().map_err(|_| ApiError::unavailable("the random source failed"))?;
    let token_hash = codes::hash(&secret);
    let now = jiff::Timestamp::now().as_millisecond();
    let session = SessionRecord {
        id: codes::public_id(&token_hash),
        staff: member.id.clone(),
        role: member.role.as_str().into(),
        address: info.peer.ip().to_string(),
        created_ms: now,
        last_seen_ms: now,
        idle_ms: policy.idle_s as i64 * 1000,
        expires_ms: now + policy.lifetime_s as i64 * 1000,
    };
    let (totp_step, recovery) = match factor {
        Factor::None => (None, None),
        Factor::Totp(step) => (Some(step), None),
        Factor::Recovery(hash) => (None, Some(hash)),
    };
    let change = AccountChange::SignIn {
        address: info.peer.ip().to_string(),
        session: session.clone(),
        token_hash,
        totp_step,
        recovery,
    };
    let actor = Actor::Staff(member.id.clone());
    match state.core.call(|reply| Command::Account { actor, change, reply }).await? {
        Ok(()) => {}
        Err(CoreError::Invalid(why)) => {
            failed(&state, &user, &info, &why).await;
            return Err(ApiError::unauthorized("wrong or already used code"));
        }
        Err(other) => return Err(other.into()),
    }
    state.access.throttle.succeed(&Key::Account(user));
    let me = me_view(&config, &super::auth::Principal::of_person(&member, Some(session.id)));
    let cookie = set_cookie(&secret, info.secure, policy.lifetime_s);
    Ok(([(SET_COOKIE, cookie)], Reply::ok(me)).into_response())
}

fn me_view(config: &Config, who: &super::auth::Principal) -> MeView {
    let member = who.person.as_ref().and_then(|id| config.people.staff.get(id));
    MeView {
        actor: who.actor.to_string(),
        user: who.person.clone(),
        name: member.map(|m| m.name.clone()),
        role: who.role.as_str().into(),
        departments: who.departments.clone(),
        language: member.map(|m| m.language.clone()),
        session: who.session.clone(),
    }
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "sign-in", security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Who is calling", body = MeView), (status = 401, body = ErrorBody)))]
/// Who is calling: the person or integration, role and scope.
pub async fn me(State(state): State<Arc<ApiState>>, caller: Caller<Anyone>) -> Result<Reply<MeView>, ApiError> {
    let config = state.config.borrow().clone();
    Ok(Reply::ok(me_view(&config, &caller.who)))
}

/// Ends sessions through the core.
async fn end(
    state: &Arc<ApiState>,
    actor: Actor,
    staff: &str,
    session: Option<String>,
    why: &str,
) -> Result<u32, ApiError> {
    let (id, only) = (staff.to_owned(), session.clone());
    let before = state.reads.with(move |r| r.accounts().sessions(Some(&id))).await?;
    let ending: Vec<String> =
        before.into_iter().map(|s| s.id).filter(|id| only.as_ref().is_none_or(|o| o == id)).collect();
    let change = AccountChange::EndSessions { staff: staff.to_owned(), session, why: why.into() };
    state.core.call(|reply| Command::Account { actor, change, reply }).await??;
    for id in &ending {
        session::forget(state, id);
    }
    Ok(ending.len() as u32)
}

fn signed_out(ended: u32, secure: bool) -> Response {
    let cookie: HeaderValue = clear_cookie(secure);
    ([(SET_COOKIE, cookie)], Reply::ok(EndedView { ended })).into_response()
}

#[utoipa::path(post, path = "/api/v1/auth/sign-out", tag = "sign-in", security(("session" = [])),
    responses(
        (status = 200, description = "Signed out: the session is ended and the cookie cleared", body = EndedView),
        (status = 400, description = "Called with a token, not a session", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "A cross-site request", body = ErrorBody),
    ))]
/// Ends the caller's session.
pub async fn sign_out(
    State(state): State<Arc<ApiState>>,
    info: ConnectionInfo,
    caller: Caller<Anyone>,
) -> Result<Response, ApiError> {
    let (Some(person), Some(session)) = (caller.who.person.clone(), caller.who.session.clone()) else {
        return Err(ApiError::bad_request("signing out is for sessions; revoke a token instead"));
    };
    let ended = end(&state, caller.actor(), &person, Some(session), "sign_out").await?;
    Ok(signed_out(ended, info.secure))
}

#[utoipa::path(post, path = "/api/v1/auth/sign-out-everywhere", tag = "sign-in", security(("session" = [])),
    responses(
        (status = 200, description = "Every session of the caller is ended", body = EndedView),
        (status = 400, description = "Called with a token", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
/// Ends every session of the caller (a lost phone, a shared computer).
pub async fn sign_out_everywhere(
    State(state): State<Arc<ApiState>>,
    info: ConnectionInfo,
    caller: Caller<Anyone>,
) -> Result<Response, ApiError> {
    let (Some(person), Some(_)) = (caller.who.person.clone(), caller.who.session.clone()) else {
        return Err(ApiError::bad_request("signing out is for sessions; revoke a token instead"));
    };
    let ended = end(&state, caller.actor(), &person, None, "everywhere").await?;
    Ok(signed_out(ended, info.secure))
}

/// The filters of `GET /api/v1/sessions`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// Only this person's (admins; others see their own only).
    user: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/sessions", tag = "sign-in", security(("bearer" = []), ("session" = [])),
    params(SessionQuery),
    responses((status = 200, description = "Sessions", body = SessionList), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
/// Open sessions: an admin sees everyone's, anyone else their own.
pub async fn list_sessions(
    State(state): State<Arc<ApiState>>,
    caller: Caller<Anyone>,
    Query(query): Query<SessionQuery>,
) -> Result<Reply<SessionList>, ApiError> {
    let whose = if caller.who.role == Role::Admin {
        query.user
    } else {
        match (&caller.who.person, &query.user) {
            (Some(me), Some(other)) if me != other => {
                return Err(ApiError::forbidden("only an admin may see other people's sessions"))
            }
            (Some(me), _) => Some(me.clone()),
            (None, _) => return Err(ApiError::forbidden("only people and admins have sessions to list")),
        }
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let rows = state.reads.with(move |r| r.accounts().sessions(whose.as_deref())).await?;
    let sessions = rows
        .into_iter()
        .filter(|s| session::alive(&state, s, now))
        .map(|s| SessionView {
            last_seen_at: rfc3339_ms(session::last_seen(&state, &s)),
            current: caller.who.session.as_deref() == Some(s.id.as_str()),
            id: s.id,
            user: s.staff,
            role: s.role,
            address: s.address,
            created_at: rfc3339_ms(s.created_ms),
            expires_at: rfc3339_ms(s.expires_ms),
        })
        .collect();
    Ok(Reply::ok(SessionList { sessions }))
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/end", tag = "sign-in", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "A session id")),
    responses((status = 200, description = "Ended", body = EndedView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Ends one session: one's own, or anyone's for an admin.
pub async fn end_session(
    State(state): State<Arc<ApiState>>,
    caller: Caller<Anyone>,
    Path(id): Path<String>,
) -> Result<Reply<EndedView>, ApiError> {
    let lookup = id.clone();
    let Some(session) = state.reads.with(move |r| r.accounts().session(&lookup)).await? else {
        return Err(ApiError::not_found(format!("no session {id}")));
    };
    let own = caller.who.person.as_deref() == Some(session.staff.as_str());
    if !own && caller.who.role != Role::Admin {
        return Err(ApiError::forbidden("only an admin may end other people's sessions"));
    }
    let why = if own { "sign_out" } else { "admin" };
    let ended = end(&state, caller.actor(), &session.staff, Some(id), why).await?;
    Ok(Reply::ok(EndedView { ended }))
}
