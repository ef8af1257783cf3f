//! `/api/v1/users`: people's accounts for admins: the list, one-time enrolment codes (and resets), disabling; and
//! the sign-in locks in force.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};

use super::auth::{Administer, Caller};
use super::error::ApiError;
use super::extract::JsonBody;
use super::reply::Reply;
use super::views::{EnrolmentCodeView, ErrorBody, IssueEnrolmentBody, LockList, LockView, UserList, UserView};
use super::ApiState;
use crate::core::accounts::AccountChange;
use crate::core::accounts::{account_state, enrolment_change};
use crate::core::Command;

#[utoipa::path(get, path = "/api/v1/users", tag = "people", security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Everyone on the roster with their account", body = UserList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Everyone on the roster with the state of their sign-in.
pub async fn list(State(state): State<Arc<ApiState>>, _: Caller<Administer>) -> Result<Reply<UserList>, ApiError> {
    let config = state.config.borrow().clone();
    let ids: Vec<String> = config.people.staff.keys().cloned().collect();
    let now = jiff::Timestamp::now().as_millisecond();
    let rows = state
        .reads
        .with(move |r| {
            ids.iter()
                .map(|id| {
                    let account = r.accounts().account(id)?;
                    let left = r.accounts().recovery_left(id)?;
                    let sessions = r.accounts().sessions(Some(id))?;
                    Ok((account, left, sessions))
                })
                .collect::<Result<Vec<_>, crate::store::StoreError>>()
        })
        .await?;
    let users = config
        .people
        .staff
        .values()
        .zip(rows)
        .map(|(member, (account, left, sessions))| UserView {
            sessions: sessions.iter().filter(|s| super::session::alive(&state, s, now)).count() as u32,
            id: member.id.clone(),
            name: member.name.clone(),
            role: member.role.as_str().into(),
            departments: member.departments.clone(),
            language: member.language.clone(),
            state: account_state(account.as_ref()).into(),
            totp: account.as_ref().is_some_and(|a| a.totp_secret.is_some()),
            totp_required: config.signin.for_role(member.role).totp,
            recovery_codes_left: left,
        })
        .collect();
    Ok(Reply::ok(UserList { users }))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/enrolment", tag = "people", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "A staff id")), request_body = IssueEnrolmentBody,
    responses(
        (status = 201, description = "A one-time enrolment code, shown once", body = EnrolmentCodeView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "Not on the roster", body = ErrorBody),
        (status = 409, description = "Already enrolled: reset instead", body = ErrorBody),
    ))]
/// Issues a one-time enrolment code (with `reset`, clears the password, second factor and sessions first).
pub async fn issue_enrolment(
    State(state): State<Arc<ApiState>>,
    caller: Caller<Administer>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<IssueEnrolmentBody, true>,
) -> Result<Reply<EnrolmentCodeView>, ApiError> {
    if !state.config.borrow().people.staff.contains_key(&id) {
        return Err(ApiError::not_found(format!("{id:?} is not on the roster")));
    }
    let (code, expires_at, change) = enrolment_change(&id, body.reset, jiff::Timestamp::now())?;
    let actor = caller.actor();
    state.core.call(|reply| Command::Account { actor, change, reply }).await??;
    Ok(Reply::created(EnrolmentCodeView { user: id, code, expires_at }))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "people", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "A staff id")),
    responses(
        (status = 200, description = "Disabled: sessions ended, owned tokens revoked", body = UserList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
/// Disables an account (a former employee): no more sign-ins, sessions ended, owned tokens revoked.
pub async fn disable(
    State(state): State<Arc<ApiState>>,
    caller: Caller<Administer>,
    Path(id): Path<String>,
) -> Result<Reply<UserList>, ApiError> {
    if !state.config.borrow().people.staff.contains_key(&id) {
        return Err(ApiError::not_found(format!("{id:?} is not on the roster")));
    }
    let actor = caller.actor();
    let change = AccountChange::Disable { staff: id };
    state.core.call(|reply| Command::Account { actor, change, reply }).await??;
    list(State(state), caller).await
}

#[utoipa::path(get, path = "/api/v1/auth/locks", tag = "people", security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Sign-in locks in force", body = LockList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Accounts and client addresses locked after repeated failures (each lock is also journaled as
/// `sign_in_locked`).
pub async fn locks(State(state): State<Arc<ApiState>>, _: Caller<Administer>) -> Result<Reply<LockList>, ApiError> {
    let locks = state
        .access
        .throttle
        .locks(Instant::now())
        .into_iter()
        .map(|lock| {
            let (scope, key) = lock.key.describe();
            LockView { scope: scope.into(), key, failures: lock.failures, remaining_s: lock.remaining.as_secs().max(1) }
        })
        .collect();
    Ok(Reply::ok(LockList { locks }))
}
