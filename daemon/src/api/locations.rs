//! `/api/v1/locations/{id}`: the guest's tier (until a PMS link sets it) and do-not-disturb (for rooms without a
//! controller to report it).

use std::sync::Arc;

use axum::extract::{Path, State};

use super::auth::{Caller, WorkTickets};
use super::error::ApiError;
use super::extract::JsonBody;
use super::reply::Reply;
use super::views::{DndBody, DndView, ErrorBody, GuestTierBody, GuestTierView};
use super::ApiState;
use crate::core::{Command, LocationChange};
use crate::vocab::GuestTier;

#[utoipa::path(put, path = "/api/v1/locations/{id}/guest-tier", tag = "locations", security(("bearer" = [])),
    params(("id" = String, Path, description = "A location id")), request_body = GuestTierBody,
    responses(
        (status = 200, description = "The tier now", body = GuestTierView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "A location not in `[[locations]]`, or an invalid id", body = ErrorBody),
    ))]
/// Sets the guest tier routing rules and SLA selectors see for tickets raised afterwards.
pub async fn guest_tier(
    State(state): State<Arc<ApiState>>,
    caller: Caller<WorkTickets>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<GuestTierBody>,
) -> Result<Reply<GuestTierView>, ApiError> {
    let tier = GuestTier::parse(&body.tier).ok_or_else(|| {
        ApiError::bad_request(format!("tier must be standard, vip or long_stay, not {:?}", body.tier))
    })?;
    change(&state, caller, id.clone(), LocationChange::GuestTier(tier)).await?;
    Ok(Reply::ok(GuestTierView { location: id, guest_tier: tier }))
}

#[utoipa::path(put, path = "/api/v1/locations/{id}/dnd", tag = "locations", security(("bearer" = [])),
    params(("id" = String, Path, description = "A location id")), request_body = DndBody,
    responses(
        (status = 200, description = "Do-not-disturb now", body = DndView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "A location not in `[[locations]]`, or an invalid id", body = ErrorBody),
    ))]
/// Turns do-not-disturb on or off, for rooms without a room controller to report it.
pub async fn dnd(
    State(state): State<Arc<ApiState>>,
    caller: Caller<WorkTickets>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DndBody>,
) -> Result<Reply<DndView>, ApiError> {
    change(&state, caller, id.clone(), LocationChange::DoNotDisturb(body.on)).await?;
    Ok(Reply::ok(DndView { location: id, dnd: body.on }))
}

async fn change(
    state: &ApiState,
    caller: Caller<WorkTickets>,
    location: String,
    change: LocationChange,
) -> Result<(), ApiError> {
    let actor = caller.actor();
    state.core.call(|reply| Command::SetLocation { actor, location, change, reply }).await??;
    Ok(())
}
