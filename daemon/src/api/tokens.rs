//! `/api/v1/tokens`: bearer tokens for integrations and people, for admins: list, issue, revoke.

use std::sync::Arc;

use axum::extract::{Path, State};

use super::auth::{Administer, Caller};
use super::error::ApiError;
use super::extract::JsonBody;
use super::reply::Reply;
use super::views::{ErrorBody, NewTokenBody, NewTokenView, TokenList, TokenView};
use super::ApiState;
use crate::core::accounts::AccountChange;
use crate::core::accounts::{token_change, NewToken};
use crate::core::Command;
use crate::vocab::Role;

#[utoipa::path(get, path = "/api/v1/tokens", tag = "people", security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Every token (never a secret)", body = TokenList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Every token ever issued, with its owner, scope, expiry and revocation.
pub async fn list(State(state): State<Arc<ApiState>>, _: Caller<Administer>) -> Result<Reply<TokenList>, ApiError> {
    let rows = state.reads.with(|r| r.tokens().list()).await?;
    let tokens = rows
        .into_iter()
        .map(|t| TokenView {
            id: t.id,
            name: t.label,
            role: t.role.map_or("unknown", |r| r.as_str()).into(),
            owner: t.owner,
            department: t.department,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        })
        .collect();
    Ok(Reply::ok(TokenList { tokens }))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "people", security(("bearer" = []), ("session" = [])),
    request_body = NewTokenBody,
    responses((status = 201, description = "The token with its secret, shown once", body = NewTokenView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Issues a token.
pub async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller<Administer>,
    JsonBody(body): JsonBody<NewTokenBody>,
) -> Result<Reply<NewTokenView>, ApiError> {
    let role = Role::parse(&body.role).ok_or_else(|| ApiError::bad_request(format!("unknown role {:?}", body.role)))?;
    let config = state.config.borrow().clone();
    match body.owner.split_once(':') {
        Some(("staff", id)) if config.people.staff.contains_key(id) => {}
        Some(("integration", name)) if tv_protocol::validate_id(name).is_ok() => {}
        _ => {
            return Err(ApiError::bad_request(
                "owner must be staff:ID (someone on the roster) or integration:NAME (letters, digits, - and _)",
            ))
        }
    }
    if let Some(department) = &body.department {
        if !config.departments.iter().any(|d| &d.code == department) {
            return Err(ApiError::bad_request(format!("no department {department:?}")));
        }
    }
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(ApiError::bad_request("name must be 1 to 100 characters"));
    }
    let expires_at = body.expires_in_days.map(|days| {
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * i64::from(days)))
            .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    });
    let token = NewToken { role, label: body.name, owner: Some(body.owner), department: body.department, expires_at };
    let (secret, change) = token_change(token)?;
    let id = match &change {
        AccountChange::CreateToken { record, .. } => record.id.clone(),
        _ => String::new(),
    };
    let actor = caller.actor();
    state.core.call(|reply| Command::Account { actor, change, reply }).await??;
    Ok(Reply::created(NewTokenView { id, secret }))
}

#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", tag = "people", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "A token id")),
    responses((status = 200, description = "Revoked; it fails from the next request on", body = TokenList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No live token with that id", body = ErrorBody)))]
/// Revokes a token.
pub async fn revoke(
    State(state): State<Arc<ApiState>>,
    caller: Caller<Administer>,
    Path(id): Path<String>,
) -> Result<Reply<TokenList>, ApiError> {
    let actor = caller.actor();
    let change = AccountChange::RevokeToken { token: id };
    state.core.call(|reply| Command::Account { actor, change, reply }).await??;
    list(State(state), caller).await
}
