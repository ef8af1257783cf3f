//! `/api/v1/devices`: the inventory (with filters) for installers and staff, and binding a device to a location.

use std::sync::Arc;

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::{BindDevices, Caller, ReadDevices};
use super::error::ApiError;
use super::extract::{JsonBody, Query};
use super::reply::Reply;
use super::views::{BindBody, DeviceList, DeviceView, ErrorBody};
use super::ApiState;
use crate::core::Command;
use crate::vocab::DeviceState;

/// The filters of `GET /api/v1/devices`, all optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeviceQuery {
    /// Devices bound to or claiming this location.
    location: Option<String>,
    /// `bound`, `unbound`, `quarantined` or `conflict`.
    state: Option<String>,
    /// `true` or `false`.
    online: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", security(("bearer" = [])), params(DeviceQuery),
    responses(
        (status = 200, description = "The inventory, sorted by device id", body = DeviceList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
/// The device inventory.
pub async fn list(
    State(state): State<Arc<ApiState>>,
    _: Caller<ReadDevices>,
    Query(query): Query<DeviceQuery>,
) -> Result<Reply<DeviceList>, ApiError> {
    let location = query.location;
    let device_state = match query.state {
        Some(value) => Some(
            DeviceState::parse(&value).ok_or_else(|| ApiError::bad_request(format!("unknown filter state={value}")))?,
        ),
        None => None,
    };
    let online = match query.online.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(value) => return Err(ApiError::bad_request(format!("unknown filter online={value}"))),
    };
    let devices = state.reads.with(move |r| r.devices().list(location.as_deref(), device_state, online)).await?;
    Ok(Reply::ok(DeviceList { devices: devices.into_iter().map(DeviceView::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = String, Path, description = "A device id")),
    responses(
        (status = 200, description = "The device", body = DeviceView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
/// One device.
pub async fn read(
    State(state): State<Arc<ApiState>>,
    _: Caller<ReadDevices>,
    Path(id): Path<String>,
) -> Result<Reply<DeviceView>, ApiError> {
    let wanted = id.clone();
    let found = state.reads.with(move |r| r.devices().get(&wanted)).await?;
    let device = found.ok_or_else(|| ApiError::not_found(format!("no device {id}")))?;
    Ok(Reply::ok(device.into()))
}

#[utoipa::path(post, path = "/api/v1/devices/{id}/bind", tag = "devices", security(("bearer" = [])),
    params(("id" = String, Path, description = "A device id")), request_body = BindBody,
    responses(
        (status = 200, description = "The device record", body = DeviceView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "An invalid device id, or a location not in `[[locations]]`", body = ErrorBody),
    ))]
/// Binds (confirms or moves) a device to a location.
pub async fn bind(
    State(state): State<Arc<ApiState>>,
    caller: Caller<BindDevices>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<BindBody>,
) -> Result<Reply<DeviceView>, ApiError> {
    let (actor, device, location) = (caller.actor(), id, body.location);
    let device = state.core.call(|reply| Command::BindDevice { actor, device, location, reply }).await??;
    Ok(Reply::ok(device.into()))
}
