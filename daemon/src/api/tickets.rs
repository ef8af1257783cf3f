//! `/api/v1/tickets`: list, read with history, raise, life-cycle actions, comments, assignment, escalation and the
//! routing explanation.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::{Caller, Principal, ReadTickets, Supervise, WorkTickets};
use super::error::ApiError;
use super::extract::{JsonBody, Query};
use super::reply::Reply;
use super::views::{
    ActionBody, AssignBody, CommentBody, ErrorBody, NewTicketBody, RoutingView, TicketDetail, TicketPage, TicketView,
};
use super::ApiState;
use crate::core::{Command, NewTicketRequest};
use crate::store::TicketFilter;
use crate::vocab::{Action, Flag, Source, Status};

/// The default and largest page sizes.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// The filters of `GET /api/v1/tickets`, all optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// One status, or `open` for everything not resolved, closed or cancelled.
    status: Option<String>,
    /// A location id.
    location: Option<String>,
    /// A department code.
    department: Option<String>,
    /// `green`, `yellow` or `red`.
    sla: Option<String>,
    /// A staff id: the tickets assigned to them.
    assignee: Option<String>,
    /// `true`: open tickets nobody has (the department queues).
    queued: Option<String>,
    /// Page size, 1 to 500, default 50.
    limit: Option<String>,
    /// The `next_before` of the previous page.
    before: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])), params(ListQuery),
    responses(
        (status = 200, description = "A page of tickets, newest first", body = TicketPage),
        (status = 400, description = "A bad filter, limit or `before`, an unknown or repeated parameter", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
/// Tickets, newest first, filtered and paged.
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller<ReadTickets>,
    Query(query): Query<ListQuery>,
) -> Result<Reply<TicketPage>, ApiError> {
    let mut filter = TicketFilter { visible: caller.who.visibility(), ..TicketFilter::default() };
    match query.status.as_deref() {
        None => {}
        Some("open") => filter.open = true,
        Some(value) => {
            filter.status =
                Some(Status::parse(value).ok_or_else(|| ApiError::bad_request(format!("unknown status {value:?}")))?)
        }
    }
    filter.location = query.location;
    filter.department = query.department;
    filter.sla = match query.sla {
        Some(value) => Some(
            Flag::parse(&value)
                .ok_or_else(|| ApiError::bad_request(format!("sla must be green, yellow or red, not {value:?}")))?,
        ),
        None => None,
    };
    filter.assignee = query.assignee;
    match query.queued.as_deref() {
        None => {}
        Some("true") => filter.queued = true,
        Some(_) => return Err(ApiError::bad_request("queued must be true")),
    }
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(value) => value
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("limit must be 1 to {MAX_LIMIT}")))?,
    };
    let before = match query.before {
        None => None,
        Some(value) => Some(value.parse().map_err(|_| ApiError::bad_request("before must be a number"))?),
    };
    let page = state.reads.with(move |r| r.tickets().list(&filter, before, limit)).await?;
    Ok(Reply::ok(page.into()))
}

#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])), request_body = NewTicketBody,
    responses(
        (status = 201, description = "The new ticket", body = TicketView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 408, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "An unknown item or location, a quantity out of range", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
/// Raises a ticket from a staff terminal or another system.
pub async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller<WorkTickets>,
    JsonBody(body): JsonBody<NewTicketBody>,
) -> Result<Reply<TicketView>, ApiError> {
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
    let actor = caller.actor();
    let created = state.core.call(|reply| Command::CreateTicket { actor, ticket, reply }).await??;
    Ok(Reply::created(created.into()))
}

#[utoipa::path(get, path = "/api/v1/tickets/{number}", tag = "tickets", security(("bearer" = [])),
    params(("number" = String, Path, description = "The ticket number, e.g. HTL1-42")),
    responses(
        (status = 200, description = "The ticket and its history, oldest event first", body = TicketDetail),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
/// A ticket with its whole history.
pub async fn read(
    State(state): State<Arc<ApiState>>,
    caller: Caller<ReadTickets>,
    Path(number): Path<String>,
) -> Result<Reply<TicketDetail>, ApiError> {
    in_scope(&state, &caller.who, &number).await?;
    let n = number.clone();
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
    let (ticket, history) = found.ok_or_else(|| ApiError::not_found(format!("no ticket {number}")))?;
    let config = state.config.borrow().clone();
    let detail = TicketDetail::new(ticket, history.into_iter().map(|entry| entry.event).collect())
        .with_names(|id| config.people.staff.get(id).map(|m| m.name.clone()));
    Ok(Reply::ok(detail))
}

#[utoipa::path(get, path = "/api/v1/tickets/{number}/routing", tag = "tickets", security(("bearer" = [])),
    params(("number" = String, Path, description = "The ticket number")),
    responses(
        (status = 200, description = "The routing decision and every assignment, oldest first", body = RoutingView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
/// How a ticket was routed and assigned: the journaled decisions, oldest first.
pub async fn routing(
    State(state): State<Arc<ApiState>>,
    caller: Caller<ReadTickets>,
    Path(number): Path<String>,
) -> Result<Reply<RoutingView>, ApiError> {
    in_scope(&state, &caller.who, &number).await?;
    let n = number.clone();
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
    let history = history.ok_or_else(|| ApiError::not_found(format!("no ticket {number}")))?;
    Ok(Reply::ok(RoutingView::new(number, history.into_iter().map(|entry| entry.event).collect())))
}

#[utoipa::path(post, path = "/api/v1/tickets/{number}/assign", tag = "tickets", security(("bearer" = [])),
    params(("number" = String, Path, description = "The ticket number")), request_body = AssignBody,
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 400, description = "`staff` and `auto` together, an unknown field", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The ticket is not open", body = ErrorBody),
        (status = 422, description = "A staff id not on the roster", body = ErrorBody),
    ))]
/// Gives the ticket to someone, back to the queue, or assigns it automatically now.
pub async fn assign(
    State(state): State<Arc<ApiState>>,
    caller: Caller<Supervise>,
    Path(number): Path<String>,
    JsonBody(body): JsonBody<AssignBody>,
) -> Result<Reply<TicketView>, ApiError> {
    if body.auto && body.staff.is_some() {
        return Err(ApiError::bad_request("give staff or auto, not both"));
    }
    in_scope(&state, &caller.who, &number).await?;
    let (actor, ticket, staff, auto) = (caller.actor(), number, body.staff, body.auto);
    let ticket = state.core.call(|reply| Command::Assign { actor, ticket, staff, auto, reply }).await??;
    Ok(Reply::ok(ticket.into()))
}

#[utoipa::path(post, path = "/api/v1/tickets/{number}/escalate", tag = "tickets", security(("bearer" = [])),
    params(("number" = String, Path, description = "The ticket number")),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The ticket is not open or has no level left", body = ErrorBody),
    ))]
/// Fires the ticket's next escalation level now; the body is ignored.
pub async fn escalate(
    State(state): State<Arc<ApiState>>,
    caller: Caller<WorkTickets>,
    Path(number): Path<String>,
) -> Result<Reply<TicketView>, ApiError> {
    in_scope(&state, &caller.who, &number).await?;
    let (actor, ticket) = (caller.actor(), number);
    let ticket = state.core.call(|reply| Command::Escalate { actor, ticket, reply }).await??;
    Ok(Reply::ok(ticket.into()))
}

#[utoipa::path(post, path = "/api/v1/tickets/{number}/comments", tag = "tickets", security(("bearer" = [])),
    params(("number" = String, Path, description = "The ticket number")), request_body = CommentBody,
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
/// Comments on a ticket.
pub async fn comment(
    State(state): State<Arc<ApiState>>,
    caller: Caller<WorkTickets>,
    Path(number): Path<String>,
    JsonBody(body): JsonBody<CommentBody>,
) -> Result<Reply<TicketView>, ApiError> {
    in_scope(&state, &caller.who, &number).await?;
    let (actor, ticket, text) = (caller.actor(), number, body.text);
    let ticket = state.core.call(|reply| Command::Comment { actor, ticket, text, reply }).await??;
    Ok(Reply::ok(ticket.into()))
}

/// 403 when the ticket is outside the caller's departments (and, for staff, not assigned to them). A ticket that
/// does not exist passes, so the answer is the core's 404.
async fn in_scope(state: &ApiState, who: &Principal, number: &str) -> Result<(), ApiError> {
    if who.departments.is_none() {
        return Ok(());
    }
    let n = number.to_owned();
    let Some(ticket) = state.reads.with(move |r| r.tickets().get(&n)).await? else {
        return Ok(());
    };
    if who.may_act_on(&ticket.department, ticket.assignee.as_deref()) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("ticket {number} belongs to {} and is not assigned to you", ticket.department)))
    }
}

/// The path of a life-cycle step: the ticket and a known action (an unknown one is 404 before anything else).
#[derive(Debug)]
pub struct StepPath {
    number: String,
    action: Action,
}

impl<S: Send + Sync> FromRequestParts<S> for StepPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((number, action)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("the path could not be read"))?;
        let action =
            Action::parse(&action).ok_or_else(|| ApiError::not_found(format!("no ticket action {action:?}")))?;
        Ok(StepPath { number, action })
    }
}

#[utoipa::path(post, path = "/api/v1/tickets/{number}/{action}", tag = "tickets", security(("bearer" = [])),
    params(
        ("number" = String, Path, description = "The ticket number"),
        ("action" = String, Path, description = "acknowledge, start, hold, resume, resolve, close, reopen or cancel"),
    ),
    request_body(content = ActionBody, description = "Optional"),
    responses(
        (status = 200, description = "The updated ticket", body = TicketView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such ticket or action", body = ErrorBody),
        (status = 409, description = "The step is not allowed from the ticket's status", body = ErrorBody),
    ))]
/// A life-cycle step.
pub async fn step(
    State(state): State<Arc<ApiState>>,
    StepPath { number, action }: StepPath,
    caller: Caller<WorkTickets>,
    JsonBody(body): JsonBody<ActionBody, true>,
) -> Result<Reply<TicketView>, ApiError> {
    if body.reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::bad_request("reason is at most 500 characters"));
    }
    in_scope(&state, &caller.who, &number).await?;
    let (actor, ticket, reason) = (caller.actor(), number, body.reason);
    let ticket = state.core.call(|reply| Command::Act { actor, ticket, action, reason, reply }).await??;
    Ok(Reply::ok(ticket.into()))
}
