//! `/api/v1/grms`: writing a room controller's point (a setpoint, a reset) where the installer allowed it. The
//! write happens here, in the adapter; its outcome is journaled through the core with the caller as actor.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::auth::{Caller, WriteControllers};
use super::error::ApiError;
use super::extract::JsonBody;
use super::reply::Reply;
use super::views::{ErrorBody, PointBody, PointWritten};
use super::ApiState;
use crate::core::Command;
use crate::event::EventBody;

#[utoipa::path(post, path = "/api/v1/grms/controllers/{id}/points/{point}", tag = "room controllers",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The controller's id"),
        ("point" = String, Path, description = "The point's name in its register map"),
    ),
    request_body = PointBody,
    responses(
        (status = 200, description = "Written", body = PointWritten),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "A role not admitted, or the controller has `allow_writes = false`", body = ErrorBody),
        (status = 404, description = "Unknown controller or point", body = ErrorBody),
        (status = 409, description = "The point is read-only", body = ErrorBody),
        (status = 422, description = "The value does not fit the point's register", body = ErrorBody),
        (status = 502, description = "The controller refused the write or did not answer", body = ErrorBody),
    ))]
/// Writes one point of a room controller.
pub async fn write_point(
    State(state): State<Arc<ApiState>>,
    caller: Caller<WriteControllers>,
    Path((controller, point)): Path<(String, String)>,
    JsonBody(body): JsonBody<PointBody>,
) -> Result<Reply<PointWritten>, ApiError> {
    let value = match &body.value {
        serde_json::Value::Bool(b) => firmware_bridge::Value::Bool(*b),
        serde_json::Value::Number(n) => firmware_bridge::Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        _ => return Err(ApiError::bad_request("value must be a number or true/false")),
    };
    let config = state.config.borrow().clone();
    let found = config.grms.as_ref().and_then(|g| {
        let c = g.config.controllers.iter().find(|c| c.id == controller)?;
        Some((c.clone(), g.maps.get(&c.map)?.clone()))
    });
    let Some((controller, map)) = found else {
        return Err(ApiError::not_found(format!("no room controller {controller:?}")));
    };
    if !controller.allow_writes {
        return Err(ApiError::forbidden(format!(
            "writes to {} are off; the installer can set allow_writes = true",
            controller.id
        )));
    }
    let spec = match map.point(&point) {
        Some(p) if p.writable => p,
        Some(_) => return Err(ApiError::new(StatusCode::CONFLICT, "conflict", format!("{point} is read-only"))),
        None => return Err(ApiError::not_found(format!("{} has no point {point:?}", map.model))),
    };
    if let Err(error) = firmware_bridge::encode(spec, value) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("{point}: {error}")));
    }
    let (endpoint, unit) = controller.endpoint().ok_or_else(|| ApiError::bad_request("no transport"))?;
    let timeout = Duration::from_millis(controller.timeout_ms);
    let outcome = firmware_bridge::write_point(&endpoint, unit, &map, &point, value, timeout).await;
    let event = EventBody::ControllerPointWritten {
        controller: controller.id.clone(),
        location: controller.location.clone(),
        point: point.clone(),
        value: body.value.clone(),
        outcome: outcome.as_ref().map_or_else(ToString::to_string, |()| "ok".to_owned()),
    };
    let actor = caller.actor();
    let seq = state.core.call(|reply| Command::Record { actor, body: event, reply }).await??;
    match outcome {
        Ok(()) => Ok(Reply::ok(PointWritten { controller: controller.id, point, value: body.value, seq })),
        Err(error) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "controller",
            format!("the controller refused or did not answer: {error}"),
        )),
    }
}
