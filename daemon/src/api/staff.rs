//! `/api/v1/staff`: the roster with duty and load, and clocking in, taking a break and clocking out.

use std::sync::Arc;

use axum::extract::{Path, State};

use super::auth::{Caller, ReadTickets, WorkTickets};
use super::error::ApiError;
use super::extract::JsonBody;
use super::reply::Reply;
use super::views::{DutyBody, DutyView, ErrorBody, RosterView, StaffMemberView};
use super::ApiState;
use crate::core::Command;
use crate::vocab::Duty;

#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])),
    responses(
        (status = 200, description = "Everyone on the roster with duty and load", body = RosterView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
/// Everyone on the roster: role, departments, skills, cap, duty and open load.
pub async fn roster(State(state): State<Arc<ApiState>>, _: Caller<ReadTickets>) -> Result<Reply<RosterView>, ApiError> {
    let config = state.config.borrow().clone();
    let local = state.clock.now().to_zoned(config.site.time_zone.clone()).datetime();
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
    let staff = config
        .people
        .staff
        .values()
        .zip(records)
        .map(|(member, (duty, load))| StaffMemberView {
            id: member.id.clone(),
            name: member.name.clone(),
            role: member.role,
            departments: member.departments.clone(),
            skills: member.skills.clone(),
            max_open: member.max_open,
            duty: duty.duty,
            since: duty.since,
            scheduled: member.schedule.covers(local),
            open: load.open,
            load: load.weight,
        })
        .collect();
    Ok(Reply::ok(RosterView { staff }))
}

#[utoipa::path(post, path = "/api/v1/staff/{id}/duty", tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, description = "A staff id")), request_body = DutyBody,
    responses(
        (status = 200, description = "The duty now", body = DutyView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "An id not on the roster", body = ErrorBody),
    ))]
/// Clocks in, takes a break, or clocks out.
pub async fn set_duty(
    State(state): State<Arc<ApiState>>,
    caller: Caller<WorkTickets>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DutyBody>,
) -> Result<Reply<DutyView>, ApiError> {
    let duty = Duty::parse(&body.duty)
        .ok_or_else(|| ApiError::bad_request(format!("duty must be on, break or off, not {:?}", body.duty)))?;
    let member = state.config.borrow().people.staff.get(&id).cloned();
    if let Some(member) = member {
        if !caller.who.may_set_duty_of(&member) {
            return Err(ApiError::forbidden(format!("you may not change {}'s duty", member.id)));
        }
    }
    let (actor, staff) = (caller.actor(), id.clone());
    state.core.call(|reply| Command::SetDuty { actor, staff, duty, reply }).await??;
    let staff = id.clone();
    let record = state.reads.with(move |r| r.staff().duty(&staff)).await?;
    Ok(Reply::ok(DutyView { staff: id, duty: record.duty, since: record.since }))
}
