//! Routing, assignment and duty inside the writer: which department, priority, SLA and skill a new ticket gets,
//! who takes it, and what happens to tickets when staff come on or go off duty.

use serde_json::json;

use super::apply::Cx;
use super::command::CoreError;
use crate::config::SlaFacts;
use crate::engine::assign::{self, Candidate, Need};
use crate::engine::routing::{self, Routing, Subject};
use crate::event::EventBody;
use crate::store::{StoreError, Ticket};
use crate::vocab::{Actor, AssignmentKind, CatalogItem, Duty, GuestTier, Source, Status};

/// What routing decided for a new ticket, with the SLA policy chosen.
pub(super) struct Routed {
    pub routing: Routing,
    pub sla: String,
    pub explanation: serde_json::Value,
}

impl Cx<'_, '_> {
    /// The property's local time now.
    pub(super) fn local_now(&self) -> jiff::civil::DateTime {
        self.now.to_zoned(self.config.site.time_zone.clone()).datetime()
    }

    /// Routes a new ticket and chooses its SLA policy.
    pub(super) fn route(&self, item: &CatalogItem, location: &str, source: Source) -> Result<Routed, StoreError> {
        let guest_tier = self.txn.grms().guest_tier(location)?;
        let occupancy = self.occupancy(location)?;
        let location = self.config.locations.get(location);
        let subject = Subject {
            item,
            location,
            guest_tier,
            occupancy,
            source,
            at: self.local_now(),
            shifts: &self.config.people.shifts,
        };
        let routing = routing::route(&self.config.policies.rules, &subject);
        let named = routing.sla.as_deref();
        let facts = SlaFacts {
            priority: routing.priority,
            category: &item.category,
            department: &routing.department,
            guest_tier,
            occupancy,
            class: location.map(|l| l.class),
            source,
        };
        let policy = self.config.policies.sla_for(named, &facts);
        let chosen_by = match named {
            Some(name) if name == policy.name && routing.rule.is_some() && routing.sla.is_some() => "rule",
            Some(name) if name == policy.name => "catalog",
            _ if policy.name.starts_with("default-") => "default",
            _ => "selectors",
        };
        let mut explanation = routing.explain(&self.config.policies.rules, &subject);
        if let Some(object) = explanation.as_object_mut() {
            object.insert("guest_tier".into(), json!(guest_tier));
            object.insert("occupancy".into(), json!(occupancy));
            object.insert("local_time".into(), json!(subject.at.to_string()));
            object.insert("sla_chosen_by".into(), json!(chosen_by));
        }
        Ok(Routed { sla: policy.name.clone(), routing, explanation })
    }

    /// Who would take `ticket` now by the automatic rule, and everyone considered with their load or why not.
    fn choose_for(&self, ticket: &Ticket) -> Result<(Option<String>, Vec<serde_json::Value>), StoreError> {
        let mut pool = Vec::new();
        for member in self.config.people.staff.values() {
            if !member.role.works_tickets() || !member.departments.contains(&ticket.department) {
                continue;
            }
            let duty = self.txn.staff_query().duty(&member.id)?;
            let load = self.txn.staff_query().load(&member.id)?;
            pool.push(Candidate {
                id: &member.id,
                departments: &member.departments,
                skills: &member.skills,
                cap: member.max_open,
                duty: duty.duty,
                open: load.open,
                load: load.weight,
                last_assigned: duty.last_assigned,
            });
        }
        let choice = assign::choose(&pool, &Need { department: &ticket.department, skill: ticket.skill.as_deref() });
        let considered = choice
            .considered
            .iter()
            .map(|(id, verdict)| match verdict {
                Ok(load) => json!({ "staff": id, "load": load }),
                Err(why) => json!({ "staff": id, "excluded": why.to_string() }),
            })
            .collect();
        Ok((choice.chosen.map(str::to_owned), considered))
    }

    /// Gives `ticket` to the least-loaded member of staff who can take it, or leaves it in its department's queue
    /// (and tells the department's supervisors on shift). `how` is automatic or a handoff.
    pub(super) fn auto_assign(
        &mut self,
        ticket: &Ticket,
        actor: &Actor,
        how: AssignmentKind,
    ) -> Result<Option<String>, StoreError> {
        let (chosen, considered) = self.choose_for(ticket)?;
        self.record_assignment(ticket, actor, how, chosen, considered)
    }

    /// Journals and applies an automatic assignment (or the wait in the queue when `chosen` is none).
    fn record_assignment(
        &mut self,
        ticket: &Ticket,
        actor: &Actor,
        how: AssignmentKind,
        chosen: Option<String>,
        considered: Vec<serde_json::Value>,
    ) -> Result<Option<String>, StoreError> {
        let status = status_after(ticket.status, chosen.is_some());
        let flagged = if chosen.is_none() { self.supervisors_on_shift(&ticket.department)? } else { Vec::new() };
        let seq = self.append(
            actor,
            EventBody::TicketAssigned {
                ticket: ticket.number.clone(),
                staff: chosen.clone(),
                previous: ticket.assignee.clone(),
                status,
                how: if chosen.is_none() { AssignmentKind::Queued } else { how },
                considered: json!({ "considered": considered, "flagged": flagged }),
            },
        )?;
        self.txn.tickets().set_assignee(&ticket.number, chosen.as_deref(), status, seq, self.at)?;
        if let Some(staff) = &chosen {
            self.txn.staff().mark_assigned(staff, seq)?;
        }
        self.touched.push(ticket.location.clone());
        Ok(chosen)
    }

    /// The supervisors of `department` who are on shift now, to be told that a ticket waits for someone.
    fn supervisors_on_shift(&self, department: &str) -> Result<Vec<String>, StoreError> {
        self.reachable(crate::vocab::Role::Supervisor, department)
    }

    /// Assigns what waits in `department`'s queue to whoever can take it. A ticket nobody can take yet (a skill
    /// nobody on duty has) stays, without a new event, and does not hold up the ones behind it.
    pub(super) fn drain_queue(&mut self, department: &str, actor: &Actor) -> Result<(), StoreError> {
        for ticket in self.txn.query().queued(department)? {
            let (chosen, considered) = self.choose_for(&ticket)?;
            if chosen.is_some() {
                self.record_assignment(&ticket, actor, AssignmentKind::Auto, chosen, considered)?;
            }
        }
        Ok(())
    }

    /// Clock in, take a break, or clock out. Clocking in takes waiting tickets; clocking out hands open ones on.
    pub(super) fn set_duty(
        &mut self,
        actor: &Actor,
        staff: &str,
        duty: Duty,
    ) -> Result<Result<(), CoreError>, StoreError> {
        let Some(member) = self.config.people.staff.get(staff).cloned() else {
            return Ok(Err(CoreError::NotFound(format!("staff member {staff}"))));
        };
        let was = self.txn.staff_query().duty(staff)?.duty;
        if was == duty {
            return Ok(Ok(()));
        }
        self.append(actor, EventBody::StaffDutyChanged { staff: staff.to_owned(), duty, was })?;
        self.txn.staff().set_duty(staff, duty, self.at)?;
        match duty {
            Duty::On => {
                for department in &member.departments {
                    self.drain_queue(department, actor)?;
                }
            }
            Duty::Off => {
                for ticket in self.txn.query().assigned_to(staff)? {
                    self.auto_assign(&ticket, actor, AssignmentKind::Handoff)?;
                }
            }
            Duty::Break => {}
        }
        Ok(Ok(()))
    }

    /// After a reload: the open tickets of anyone no longer on the roster are handed on by the automatic rule.
    pub(super) fn hand_off_departed(&mut self) -> Result<(), StoreError> {
        for staff in self.txn.query().assignees()? {
            if self.config.people.staff.contains_key(&staff) {
                continue;
            }
            for ticket in self.txn.query().assigned_to(&staff)? {
                self.auto_assign(&ticket, &Actor::System, AssignmentKind::Handoff)?;
            }
        }
        Ok(())
    }

    /// A supervisor gives a ticket to someone, takes it back to the queue, or asks for the automatic choice.
    pub(super) fn assign_manually(
        &mut self,
        actor: &Actor,
        number: &str,
        staff: Option<&str>,
        auto: bool,
    ) -> Result<Result<Ticket, CoreError>, StoreError> {
        let Some(ticket) = self.txn.query().get(number)? else {
            return Ok(Err(CoreError::NotFound(format!("ticket {number}"))));
        };
        if !ticket.status.is_open() {
            return Ok(Err(CoreError::Conflict(format!("ticket {number} is {}", ticket.status.as_str()))));
        }
        if auto {
            self.auto_assign(&ticket, actor, AssignmentKind::Auto)?;
            return self.load(number);
        }
        if let Some(staff) = staff {
            if !self.config.people.staff.contains_key(staff) {
                return Ok(Err(CoreError::Invalid(format!("no staff member {staff:?}"))));
            }
        }
        if ticket.assignee.as_deref() == staff {
            return self.load(number);
        }
        let status = status_after(ticket.status, staff.is_some());
        let seq = self.append(
            actor,
            EventBody::TicketAssigned {
                ticket: number.to_owned(),
                staff: staff.map(str::to_owned),
                previous: ticket.assignee.clone(),
                status,
                how: AssignmentKind::Manual,
                considered: json!({}),
            },
        )?;
        self.txn.tickets().set_assignee(number, staff, status, seq, self.at)?;
        self.touched.push(ticket.location.clone());
        self.load(number)
    }

    /// Sets a location's guest tier (until a PMS link does it).
    pub(super) fn set_guest_tier(
        &mut self,
        actor: &Actor,
        location: &str,
        tier: GuestTier,
    ) -> Result<Result<(), CoreError>, StoreError> {
        if !self.location_known(location) || tv_protocol::validate_id(location).is_err() {
            return Ok(Err(CoreError::Invalid(format!("no location {location:?}"))));
        }
        if self.txn.grms().guest_tier(location)? != tier {
            self.append(actor, EventBody::GuestTierChanged { location: location.to_owned(), tier })?;
            self.txn.grms().set_guest_tier(location, tier, self.at)?;
        }
        Ok(Ok(()))
    }
}

/// A ticket's status after it is given to someone (`assigned`) or taken back to the queue (`new`); on hold stays
/// on hold.
fn status_after(status: Status, assigned: bool) -> Status {
    match (status, assigned) {
        (Status::OnHold, _) => Status::OnHold,
        (_, true) => Status::Assigned,
        (Status::Assigned | Status::Acknowledged | Status::InProgress, false) => Status::New,
        (other, false) => other,
    }
}
