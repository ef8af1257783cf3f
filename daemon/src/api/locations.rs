//! `/api/v1/locations/{id}`: the guest's tier (until a PMS link sets it) and do-not-disturb (for rooms without a
//! controller to report it).

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::auth::{authorize, WORK_TICKETS};
use super::request::{bearer, json_body};
use super::response::{json, ApiError, Body};
use super::ApiState;
use crate::core::{Command, LocationChange};
use crate::engine::routing::GuestTier;

/// Routes below `/api/v1/locations`.
pub async fn route(
    state: &ApiState,
    method: &Method,
    rest: &[&str],
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let header = bearer(&req);
    let (location, change) = match (method, rest) {
        (&Method::PUT, [id, "guest-tier"]) => {
            let caller = authorize(header.as_deref(), &state.reads, WORK_TICKETS).await?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                tier: String,
            }
            let body: Body = json_body(req, false).await?;
            let tier = GuestTier::parse(&body.tier).ok_or_else(|| {
                ApiError::bad_request(format!("tier must be standard, vip or long_stay, not {:?}", body.tier))
            })?;
            ((caller, id.to_string()), LocationChange::GuestTier(tier))
        }
        (&Method::PUT, [id, "dnd"]) => {
            let caller = authorize(header.as_deref(), &state.reads, WORK_TICKETS).await?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                on: bool,
            }
            let body: Body = json_body(req, false).await?;
            ((caller, id.to_string()), LocationChange::DoNotDisturb(body.on))
        }
        (_, [_, "guest-tier" | "dnd"]) => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not allowed here; use PUT"),
            ))
        }
        _ => return Err(ApiError::not_found("no such endpoint")),
    };
    let ((caller, id), change) = (location, change);
    let (actor, location) = (caller.actor(), id.clone());
    state.core.call(|reply| Command::SetLocation { actor, location, change, reply }).await??;
    let body = match change {
        LocationChange::GuestTier(tier) => json!({ "location": id, "guest_tier": tier }),
        LocationChange::DoNotDisturb(on) => json!({ "location": id, "dnd": on }),
    };
    Ok(json(StatusCode::OK, &body))
}
