//! `/api/v1/staff`: the roster with duty and load, and clocking in, taking a break and clocking out.

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::auth::{authorize, READ_TICKETS, WORK_TICKETS};
use super::request::{bearer, json_body};
use super::response::{json, ApiError, Body};
use super::ApiState;
use crate::core::Command;
use crate::engine::assign::Duty;

/// Routes below `/api/v1/staff`.
pub async fn route(
    state: &ApiState,
    method: &Method,
    rest: &[&str],
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let header = bearer(&req);
    match (method, rest) {
        (&Method::GET, []) => {
            authorize(header.as_deref(), &state.reads, READ_TICKETS).await?;
            roster(state).await
        }
        (&Method::POST, [id, "duty"]) => {
            let caller = authorize(header.as_deref(), &state.reads, WORK_TICKETS).await?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                duty: String,
            }
            let body: Body = json_body(req, false).await?;
            let duty = Duty::parse(&body.duty)
                .ok_or_else(|| ApiError::bad_request(format!("duty must be on, break or off, not {:?}", body.duty)))?;
            let (actor, staff) = (caller.actor(), id.to_string());
            state.core.call(|reply| Command::SetDuty { actor, staff, duty, reply }).await??;
            let staff = id.to_string();
            let record = state.reads.with(move |r| r.staff().duty(&staff)).await?;
            Ok(json(StatusCode::OK, &json!({ "staff": id, "duty": record.duty, "since": record.since })))
        }
        (_, [] | [_, "duty"]) => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed here"),
        )),
        _ => Err(ApiError::not_found("no such endpoint")),
    }
}

/// Everyone on the roster: role, departments, skills, cap, duty and open load.
async fn roster(state: &ApiState) -> Result<Response<Body>, ApiError> {
    let config = state.config.borrow().clone();
    let tz = jiff::tz::TimeZone::get(&config.site.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = jiff::Timestamp::now().to_zoned(tz).datetime();
    let ids: Vec<String> = config.people.staff.keys().cloned().collect();
    let records = state
        .reads
        .with(move |r| {
            let duties = r.staff().duties()?;
            ids.into_iter()
                .map(|id| {
                    let load = r.staff().load(&id)?;
                    Ok((duties.get(&id).cloned().unwrap_or_default(), load))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let staff: Vec<serde_json::Value> = config
        .people
        .staff
        .values()
        .zip(records)
        .map(|(member, (duty, load))| {
            json!({
                "id": member.id,
                "name": member.name,
                "role": member.role,
                "departments": member.departments,
                "skills": member.skills,
                "max_open": member.max_open,
                "duty": duty.duty,
                "since": duty.since,
                "scheduled": member.schedule.covers(local),
                "open": load.open,
                "load": load.weight,
            })
        })
        .collect();
    Ok(json(StatusCode::OK, &json!({ "staff": staff })))
}
