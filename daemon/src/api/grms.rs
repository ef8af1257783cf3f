//! `/api/v1/grms`: writing a room controller's point (a setpoint, a reset) where the installer allowed it. The
//! write happens here, in the adapter; its outcome is journaled through the core with the caller as actor.

use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::auth::{authorize, Role};
use super::request::{bearer, json_body};
use super::response::{json, ApiError, Body};
use super::ApiState;
use crate::core::Command;
use crate::event::EventBody;

/// Who may change a controller.
const WRITE_CONTROLLERS: &[Role] = &[Role::Supervisor, Role::Manager, Role::Admin, Role::Installer];

/// Routes below `/api/v1/grms`.
pub async fn route(
    state: &ApiState,
    method: &Method,
    rest: &[&str],
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    match (method, rest) {
        (&Method::POST, ["controllers", controller, "points", point]) => {
            let caller = authorize(bearer(&req).as_deref(), &state.reads, WRITE_CONTROLLERS).await?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                value: serde_json::Value,
            }
            let body: Body = json_body(req, false).await?;
            let value = match &body.value {
                serde_json::Value::Bool(b) => firmware_bridge::Value::Bool(*b),
                serde_json::Value::Number(n) => firmware_bridge::Value::Number(n.as_f64().unwrap_or(f64::NAN)),
                _ => return Err(ApiError::bad_request("value must be a number or true/false")),
            };
            let config = state.config.borrow().clone();
            let found = config.grms.as_ref().and_then(|g| {
                let c = g.config.controllers.iter().find(|c| c.id == *controller)?;
                Some((c.clone(), g.maps.get(&c.map)?.clone()))
            });
            let Some((controller, map)) = found else {
                return Err(ApiError::not_found(format!("no room controller {controller:?}")));
            };
            if !controller.allow_writes {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!("writes to {} are off; the installer can set allow_writes = true", controller.id),
                ));
            }
            match map.point(point) {
                Some(p) if p.writable => {}
                Some(_) => {
                    return Err(ApiError::new(StatusCode::CONFLICT, "conflict", format!("{point} is read-only")))
                }
                None => return Err(ApiError::not_found(format!("{} has no point {point:?}", map.model))),
            }
            if let Err(error) = firmware_bridge::encode(map.point(point).expect("checked above"), value) {
                return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("{point}: {error}")));
            }
            let (endpoint, unit) = controller.endpoint().ok_or_else(|| ApiError::bad_request("no transport"))?;
            let timeout = Duration::from_millis(controller.timeout_ms);
            let outcome = firmware_bridge::write_point(&endpoint, unit, &map, point, value, timeout).await;
            let event = EventBody::ControllerPointWritten {
                controller: controller.id.clone(),
                location: controller.location.clone(),
                point: point.to_string(),
                value: body.value.clone(),
                outcome: outcome.as_ref().map_or_else(ToString::to_string, |()| "ok".to_owned()),
            };
            let actor = caller.actor();
            let seq = state.core.call(|reply| Command::Record { actor, body: event, reply }).await??;
            match outcome {
                Ok(()) => Ok(json(
                    StatusCode::OK,
                    &json!({ "controller": controller.id, "point": point, "value": body.value, "seq": seq }),
                )),
                Err(error) => Err(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "controller",
                    format!("the controller refused or did not answer: {error}"),
                )),
            }
        }
        _ => Err(ApiError::not_found("no such room-controller resource")),
    }
}
