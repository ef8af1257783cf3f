//! `POST /api/v1/admin/reload`: re-reads the configuration and applies it whole, or answers 422 with the errors and
//! keeps the configuration in force.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;

use super::auth::{Administer, Caller};
use super::error::ApiError;
use super::reply::Reply;
use super::views::{ErrorBody, Reloaded};
use super::ApiState;

#[utoipa::path(post, path = "/api/v1/admin/reload", tag = "administration", security(("bearer" = [])),
    responses(
        (status = 200, description = "Applied", body = Reloaded),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "`invalid_config`: every problem; the configuration in force is kept", body = ErrorBody),
        (status = 503, description = "The daemon cannot reload now", body = ErrorBody),
    ))]
/// Reloads the configuration, as SIGHUP does.
pub async fn reload(State(state): State<Arc<ApiState>>, _: Caller<Administer>) -> Result<Reply<Reloaded>, ApiError> {
    let unavailable = || ApiError::unavailable("the daemon cannot reload now");
    let Some(reloads) = &state.reload else { return Err(unavailable()) };
    let (tx, rx) = tokio::sync::oneshot::channel();
    reloads.send(tx).await.map_err(|_| unavailable())?;
    match rx.await.map_err(|_| unavailable())? {
        Ok(()) => Ok(Reply::ok(Reloaded { reloaded: true })),
        Err(errors) => Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_config", errors)),
    }
}
