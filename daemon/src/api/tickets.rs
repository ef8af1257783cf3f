//! `/api/v1/tickets`: list, read with history, raise, life-cycle actions, comments, assignment, escalation and the
//! routing explanation.

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::auth::{authorize, READ_TICKETS, SUPERVISE, WORK_TICKETS};
use super::request::{bearer, json_body, query_pairs};
use super::response::{json, ApiError, Body};
use super::ApiState;
use crate::core::{Command, NewTicketRequest};
use crate::event::EventBody;
use crate::store::TicketFilter;
use crate::ticket::{Action, Source, Status};

/// The default and largest page sizes.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// Routes below `/api/v1/tickets`; `rest` is what follows it.
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
            list(state, &req).await
        }
        (&Method::POST, []) => {
            let caller = authorize(header.as_deref(), &state.reads, WORK_TICKETS).await?;
            create(state, caller.actor(), req).await
        }
        (&Method::GET, [number]) => {
            authorize(header.as_deref(), &state.reads, READ_TICKETS).await?;
            read(state, number).await
        }
        (&Method::GET, [number, "routing"]) => {
            authorize(header.as_deref(), &state.reads, READ_TICKETS).await?;
            routing(state, number).await
        }
        (&Method::POST, [number, "assign"]) => {
            let caller = authorize(header.as_deref(), &state.reads, SUPERVISE).await?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                staff: Option<String>,
                #[serde(default)]
                auto: bool,
            }
            let body: Body = json_body(req, false).await?;
            if body.auto && body.staff.is_some() {
                return Err(ApiError::bad_request("give staff or auto, not both"));
            }
            let (actor, ticket) = (caller.actor(), number.to_string());
            let (staff, auto) = (body.staff, body.auto);
            let ticket = state.core.call(|reply| Command::Assign { actor, ticket, staff, auto, reply }).await??;
            Ok(json(StatusCode::OK, &ticket))
        }
        (&Method::POST, [number, "escalate"]) => {
            let caller = authorize(header.as_deref(), &state.reads, WORK_TICKETS).await?;
            let (actor, ticket) = (caller.actor(), number.to_string());
            let ticket = state.core.call(|reply| Command::Escalate { actor, ticket, reply }).await??;
            Ok(json(StatusCode::OK, &ticket))
        }
        (&Method::POST, [number, "comments"]) => {
            let caller = authorize(header.as_deref(), &state.reads, WORK_TICKETS).await?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                text: String,
            }
            let body: Body = json_body(req, false).await?;
            let (actor, ticket, text) = (caller.actor(), number.to_string(), body.text);
            let ticket = state.core.call(|reply| Command::Comment { actor, ticket, text, reply }).await??;
            Ok(json(StatusCode::OK, &ticket))
        }
        (&Method::POST, [number, action]) => {
            let Some(action) = Action::parse(action) else {
                return Err(ApiError::not_found(format!("no ticket action {action:?}")));
            };
            let caller = authorize(header.as_deref(), &state.reads, WORK_TICKETS).await?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                reason: Option<String>,
            }
            let body: Body = json_body(req, true).await?;
            if body.reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
                return Err(ApiError::bad_request("reason is at most 500 characters"));
            }
            let (actor, ticket, reason) = (caller.actor(), number.to_string(), body.reason);
            let ticket = state.core.call(|reply| Command::Act { actor, ticket, action, reason, reply }).await??;
            Ok(json(StatusCode::OK, &ticket))
        }
        (_, [] | [_] | [_, _]) => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed here"),
        )),
        _ => Err(ApiError::not_found("no such endpoint")),
    }
}

async fn list(state: &ApiState, req: &Request<Incoming>) -> Result<Response<Body>, ApiError> {
    let mut filter = TicketFilter::default();
    let mut limit = DEFAULT_LIMIT;
    let mut before = None;
    for (key, value) in query_pairs(req) {
        match key.as_str() {
            "status" if value == "open" => filter.open = true,
            "status" => {
                filter.status = Some(
                    Status::parse(&value).ok_or_else(|| ApiError::bad_request(format!("unknown status {value:?}")))?,
                )
            }
            "location" => filter.location = Some(value),
            "department" => filter.department = Some(value),
            "sla" if matches!(value.as_str(), "green" | "yellow" | "red") => filter.sla = Some(value),
            "sla" => return Err(ApiError::bad_request(format!("sla must be green, yellow or red, not {value:?}"))),
            "assignee" => filter.assignee = Some(value),
            "queued" if value == "true" => filter.queued = true,
            "queued" => return Err(ApiError::bad_request("queued must be true")),
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| ApiError::bad_request(format!("limit must be 1 to {MAX_LIMIT}")))?
            }
            "before" => before = Some(value.parse().map_err(|_| ApiError::bad_request("before must be a number"))?),
            other => return Err(ApiError::bad_request(format!("unknown filter {other:?}"))),
        }
    }
    let page = state.reads.with(move |r| r.tickets().list(&filter, before, limit)).await?;
    Ok(json(StatusCode::OK, &page))
}

async fn read(state: &ApiState, number: &str) -> Result<Response<Body>, ApiError> {
    let n = number.to_owned();
    let found = state
        .reads
        .with(move |r| {
            let tickets = r.tickets();
            Ok(match tickets.get(&n)? {
                Some(ticket) => Some((ticket, tickets.history(&n)?)),
                None => None,
            })
        })
        .await?;
    let Some((ticket, history)) = found else {
        return Err(ApiError::not_found(format!("no ticket {number}")));
    };
    Ok(json(StatusCode::OK, &json!({ "ticket": ticket, "history": history })))
}

/// How a ticket was routed and assigned: the journaled decisions, newest last.
async fn routing(state: &ApiState, number: &str) -> Result<Response<Body>, ApiError> {
    let n = number.to_owned();
    let history = state
        .reads
        .with(move |r| {
            let tickets = r.tickets();
            Ok(match tickets.get(&n)? {
                Some(_) => Some(tickets.history(&n)?),
                None => None,
            })
        })
        .await?;
    let Some(history) = history else {
        return Err(ApiError::not_found(format!("no ticket {number}")));
    };
    let mut routed = None;
    let mut assignments = Vec::new();
    for entry in history {
        match &entry.event.body {
            EventBody::TicketRouted { rule, department, priority, sla, skill, explanation, .. } => {
                routed = Some(json!({
                    "at": entry.event.at,
                    "rule": rule,
                    "department": department,
                    "priority": priority,
                    "sla": sla,
                    "skill": skill,
                    "explanation": explanation,
                }))
            }
            EventBody::TicketAssigned { staff, previous, status, how, considered, .. } => assignments.push(json!({
                "at": entry.event.at,
                "actor": entry.event.actor,
                "staff": staff,
                "previous": previous,
                "status": status,
                "how": how,
                "considered": considered,
            })),
            _ => {}
        }
    }
    Ok(json(StatusCode::OK, &json!({ "ticket": number, "routing": routed, "assignments": assignments })))
}

async fn create(state: &ApiState, actor: String, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        item: String,
        location: String,
        #[serde(default = "one")]
        qty: u8,
        note: Option<String>,
        #[serde(default)]
        source: Option<String>,
    }
    fn one() -> u8 {
        1
    }
    let body: Body = json_body(req, false).await?;
    let source = match body.source.as_deref() {
        None | Some("staff") => Source::Staff,
        Some("api") => Source::Api,
        Some("alert") => Source::Alert,
        Some(other) => return Err(ApiError::bad_request(format!("source must be staff, api or alert, not {other:?}"))),
    };
    if body.note.as_ref().is_some_and(|n| n.chars().count() > tv_protocol::MAX_NOTE_CHARS) {
        return Err(ApiError::bad_request(format!("note is at most {} characters", tv_protocol::MAX_NOTE_CHARS)));
    }
    let ticket = NewTicketRequest { item: body.item, location: body.location, qty: body.qty, note: body.note, source };
    let created = state.core.call(|reply| Command::CreateTicket { actor, ticket, reply }).await??;
    Ok(json(StatusCode::CREATED, &created))
}
