//! `/api/v1/devices`: the inventory (with filters) for installers and staff, and binding a device to a location.

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::auth::{authorize, Role};
use super::request::{bearer, json_body, query_pairs};
use super::response::{json, ApiError, Body};
use super::ApiState;
use crate::core::Command;

/// Who may read the inventory.
const READ_DEVICES: &[Role] =
    &[Role::Staff, Role::Supervisor, Role::Manager, Role::Admin, Role::Analytics, Role::Installer];
/// Who may bind devices.
const BIND_DEVICES: &[Role] = &[Role::Installer, Role::Admin];

/// Routes below `/api/v1/devices`.
pub async fn route(
    state: &ApiState,
    method: &Method,
    rest: &[&str],
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let header = bearer(&req);
    match (method, rest) {
        (&Method::GET, []) => {
            authorize(header.as_deref(), &state.reads, READ_DEVICES).await?;
            let (mut location, mut device_state, mut online) = (None, None, None);
            for (key, value) in query_pairs(&req) {
                match key.as_str() {
                    "location" => location = Some(value),
                    "state" if ["bound", "unbound", "quarantined", "conflict"].contains(&value.as_str()) => {
                        device_state = Some(value)
                    }
                    "online" if value == "true" || value == "false" => online = Some(value == "true"),
                    _ => return Err(ApiError::bad_request(format!("unknown filter {key}={value}"))),
                }
            }
            let devices = state
                .reads
                .with(move |r| r.devices().list(location.as_deref(), device_state.as_deref(), online))
                .await?;
            Ok(json(StatusCode::OK, &json!({ "devices": devices })))
        }
        (&Method::GET, [id]) => {
            authorize(header.as_deref(), &state.reads, READ_DEVICES).await?;
            let id = id.to_string();
            let found = state.reads.with(move |r| r.devices().get(&id)).await?;
            let device = found.ok_or_else(|| ApiError::not_found(format!("no device {}", rest[0])))?;
            Ok(json(StatusCode::OK, &device))
        }
        (&Method::POST, [id, "bind"]) => {
            let caller = authorize(header.as_deref(), &state.reads, BIND_DEVICES).await?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                location: String,
            }
            let body: Body = json_body(req, false).await?;
            let (actor, device, location) = (caller.actor(), id.to_string(), body.location);
            let device = state.core.call(|reply| Command::BindDevice { actor, device, location, reply }).await??;
            Ok(json(StatusCode::OK, &device))
        }
        (_, []) | (_, [_]) | (_, [_, "bind"]) => {
            Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed here"))
        }
        _ => Err(ApiError::not_found("no such device resource")),
    }
}
