//! Guest data for a data-protection officer (`/api/v1/guests/{key}`: export and erasure, by guest reference or
//! reservation number) and housekeeping's room status (`/api/v1/locations/{id}/room-status`, sent on to the PMS).

use std::sync::Arc;

use axum::extract::{Path, State};

use super::auth::{Caller, ManageGuestData, WorkTickets};
use super::error::ApiError;
use super::extract::JsonBody;
use super::reply::Reply;
use super::views::{ErrorBody, GuestDataList, GuestsErasedView, RoomStatusBody, RoomStatusView};
use super::ApiState;
use crate::core::Command;

#[utoipa::path(get, path = "/api/v1/guests/{key}", tag = "guests", security(("bearer" = [])),
    params(("key" = String, Path, description = "A guest reference (`guest-12`) or the PMS's reservation number")),
    responses(
        (status = 200, description = "Every stay it names, with the personal data held", body = GuestDataList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No personal data is held under it", body = ErrorBody),
    ))]
/// Exports the personal data held about a guest (a subject access request).
pub async fn export(
    State(state): State<Arc<ApiState>>,
    _: Caller<ManageGuestData>,
    Path(key): Path<String>,
) -> Result<Reply<GuestDataList>, ApiError> {
    let wanted = key.clone();
    let guests = state.reads.with(move |r| r.guests().find(&wanted)).await?;
    if guests.is_empty() {
        return Err(ApiError::not_found(format!("no guest data for {key}")));
    }
    Ok(Reply::ok(GuestDataList { guests: guests.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(delete, path = "/api/v1/guests/{key}", tag = "guests", security(("bearer" = [])),
    params(("key" = String, Path, description = "A guest reference (`guest-12`) or the PMS's reservation number")),
    responses(
        (status = 200, description = "The references whose personal data was deleted (journaled)", body = GuestsErasedView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No personal data is held under it", body = ErrorBody),
    ))]
/// Erases a guest's personal data; the journal keeps only the reference, so its chain still verifies.
pub async fn erase(
    State(state): State<Arc<ApiState>>,
    caller: Caller<ManageGuestData>,
    Path(key): Path<String>,
) -> Result<Reply<GuestsErasedView>, ApiError> {
    let actor = caller.actor();
    let erased = state.core.call(|reply| Command::EraseGuest { actor, key, reply }).await??;
    Ok(Reply::ok(GuestsErasedView { erased }))
}

#[utoipa::path(put, path = "/api/v1/locations/{id}/room-status", tag = "locations", security(("bearer" = [])),
    params(("id" = String, Path, description = "A location id")), request_body = RoomStatusBody,
    responses(
        (status = 200, description = "Recorded, and sent to the PMS while its link is up (queued otherwise)", body = RoomStatusView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "An unknown location, or a status other than dirty, cleaned or inspected", body = ErrorBody),
    ))]
/// Housekeeping reports a room dirty, cleaned or inspected.
pub async fn room_status(
    State(state): State<Arc<ApiState>>,
    caller: Caller<WorkTickets>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RoomStatusBody>,
) -> Result<Reply<RoomStatusView>, ApiError> {
    let actor = caller.actor();
    let (location, status) = (id.clone(), body.status.clone());
    state.core.call(|reply| Command::SetRoomStatus { actor, location, status, reply }).await??;
    Ok(Reply::ok(RoomStatusView { location: id, status: body.status }))
}
