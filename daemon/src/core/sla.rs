//! SLA clocks and escalation inside the writer: starting a ticket's clock, feeding it life-cycle changes, pauses
//! and ticks, journaling flags, breaches and escalations, and finding who an escalation reaches.

use super::apply::Cx;
use super::command::CoreError;
use crate::clock::format_time;
use crate::config::{Config, LevelTarget, SlaPolicy};
use crate::engine::calendar::Calendar;
use crate::engine::sla::{self, Flag, Input, Output, Pause, State};
use crate::event::EventBody;
use crate::store::{SlaRow, StoreError, Ticket};
use crate::vocab::{Actor, Duty, Role};

/// The counter that holds the fingerprint of the SLA settings the open clocks were computed with.
const SLA_FINGERPRINT: &str = "sla_settings";

/// A fingerprint of what SLA clocks depend on: the policies and the departments' hours, over their JSON (a stable
/// serialisation: the same settings give the same fingerprint in every build).
pub(super) fn sla_fingerprint(config: &Config) -> i64 {
    let departments: Vec<serde_json::Value> = config
        .departments
        .iter()
        .map(|d| serde_json::json!({ "code": d.code, "calendar": d.calendar.settings(), "pause_on_dnd": d.pause_on_dnd }))
        .collect();
    let settings = serde_json::json!({ "sla": config.policies.sla, "departments": departments });
    let digest = ring::digest::digest(&ring::digest::SHA256, settings.to_string().as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest.as_ref()[..8]);
    i64::from_le_bytes(bytes)
}

/// The most due clocks handled in one tick; the rest follow in the next, at once.
const TICK_BATCH: u32 = 2000;

/// What the board shows of a clock, and when the scheduler must next look at it.
struct View {
    flag: Flag,
    paused: bool,
    response_due: Option<jiff::Timestamp>,
    resolution_due: Option<jiff::Timestamp>,
    next_due: Option<jiff::Timestamp>,
}

fn view(state: &State, policy: &sla::Policy, hours: &Calendar) -> View {
    let running = state.running_since.filter(|_| !state.stopped);
    let due = |target_ms: i64| {
        running.and_then(|since| {
            let left = target_ms - state.consumed_ms;
            (left > 0).then(|| hours.add_ms(since, left))
        })
    };
    View {
        flag: state.flag,
        paused: !state.pauses.is_empty(),
        response_due: if state.acknowledged_ms.is_none() { due(policy.response_ms) } else { None },
        resolution_due: due(policy.resolution_ms),
        next_due: sla::next_due(state, policy, hours),
    }
}

/// The hours a department's SLA clocks run in (around the clock for a department no longer configured).
fn hours_of<'c>(config: &'c Config, department: &str) -> &'c Calendar {
    static ALWAYS: std::sync::OnceLock<Calendar> = std::sync::OnceLock::new();
    config
        .departments
        .iter()
        .find(|d| d.code == department)
        .map(|d| &d.calendar)
        .unwrap_or_else(|| ALWAYS.get_or_init(Calendar::always))
}

/// A ticket's policy by name; a policy removed from the configuration falls back to the priority's default.
fn policy_of<'c>(config: &'c Config, ticket: &Ticket) -> &'c SlaPolicy {
    let name = ticket.sla.as_ref().map(|s| s.policy.as_str()).unwrap_or_default();
    let policies = &config.policies.sla;
    policies.get(name).unwrap_or_else(|| &policies[&format!("default-{}", ticket.priority.as_str())])
}

/// Whether do-not-disturb at its location pauses the ticket's clock.
fn dnd_pauses(config: &Config, ticket: &Ticket) -> bool {
    config.departments.iter().any(|d| d.code == ticket.department && d.pause_on_dnd)
}

impl Cx<'_, '_> {
    /// Starts a new ticket's clock under `policy`: paused at once when do-not-disturb holds its department's
    /// clocks, and with every level fired at once for an emergency.
    pub(super) fn start_clock(&mut self, number: &str, policy: &str, emergency: bool) -> Result<(), StoreError> {
        let Some(mut ticket) = self.txn.query().get(number)? else { return Ok(()) };
        let paused = dnd_pauses(self.config, &ticket) && self.txn.grms().dnd(&ticket.location)?;
        ticket.sla = Some(crate::store::TicketSla {
            policy: policy.to_owned(),
            flag: Flag::Green,
            response_due: None,
            resolution_due: None,
            paused,
            measures: None,
        });
        let mut state = State::new(self.now);
        self.drive(&Actor::System, &ticket, &mut state, Input::Start { emergency, paused })?;
        Ok(())
    }

    /// Moves an open ticket's clock to another SLA policy and recomputes its deadlines (a VIP checked in).
    pub(super) fn retarget_to(&mut self, number: &str, policy: &str) -> Result<(), StoreError> {
        let Some(mut ticket) = self.txn.query().get(number)? else { return Ok(()) };
        let Some(json) = self.txn.query().sla_state(number)? else { return Ok(()) };
        let Ok(mut state) = serde_json::from_str::<State>(&json) else { return Ok(()) };
        if let Some(sla) = ticket.sla.as_mut() {
            sla.policy = policy.to_owned();
        }
        self.drive(&Actor::System, &ticket, &mut state, Input::Retarget)?;
        Ok(())
    }

    /// Feeds one input to a ticket's clock, if it has one; what it causes is journaled as the system's doing.
    pub(super) fn clock_input(&mut self, number: &str, input: Input) -> Result<Vec<u32>, StoreError> {
        self.clock_input_by(&Actor::System, number, input)
    }

    /// Like [`Self::clock_input`], journaled with `actor` (a manual escalation names who asked).
    fn clock_input_by(&mut self, actor: &Actor, number: &str, input: Input) -> Result<Vec<u32>, StoreError> {
        let Some(ticket) = self.txn.query().get(number)? else { return Ok(Vec::new()) };
        let Some(json) = self.txn.query().sla_state(number)? else { return Ok(Vec::new()) };
        let Ok(mut state) = serde_json::from_str::<State>(&json) else {
            tracing::error!(ticket = number, "A stored SLA clock is unreadable; leaving it as it is.");
            return Ok(Vec::new());
        };
        self.drive(actor, &ticket, &mut state, input)
    }

    /// Steps the clock, journals what it says, and stores it. Returns the levels that fired.
    fn drive(
        &mut self,
        actor: &Actor,
        ticket: &Ticket,
        state: &mut State,
        input: Input,
    ) -> Result<Vec<u32>, StoreError> {
        let config = self.config;
        let policy = policy_of(config, ticket);
        let hours = hours_of(config, &ticket.department);
        let outputs = sla::step(state, &policy.clock, hours, self.now, input);
        let mut fired = Vec::new();
        for output in outputs {
            let body = match output {
                Output::Flag { flag, due_at } => {
                    EventBody::SlaFlagChanged { ticket: ticket.number.clone(), flag, due_at: format_time(due_at) }
                }
                Output::Breached { target, due_at } => {
                    EventBody::SlaBreached { ticket: ticket.number.clone(), target, due_at: format_time(due_at) }
                }
                Output::BreachCleared { target } => {
                    EventBody::SlaBreachCleared { ticket: ticket.number.clone(), target }
                }
                Output::Level { index, reason, due_at } => {
                    let target = policy.targets.get(index).cloned().unwrap_or(LevelTarget::Role(Role::Manager));
                    fired.push(index as u32 + 1);
                    let recipients = self.recipients(ticket, &target)?;
                    if recipients.is_empty() {
                        tracing::warn!(
                            ticket = ticket.number,
                            level = index + 1,
                            to = target.describe(),
                            "An escalation level reached nobody: no one up to admin is on shift."
                        );
                    }
                    EventBody::TicketEscalated {
                        ticket: ticket.number.clone(),
                        level: index as u32 + 1,
                        reason,
                        due_at: format_time(due_at),
                        to: target.describe(),
                        recipients,
                    }
                }
            };
            self.append(actor, body)?;
        }
        let row = view(state, &policy.clock, hours);
        let state_json = serde_json::to_string(&state).unwrap_or_default();
        self.txn.tickets().set_sla(
            &ticket.number,
            &SlaRow {
                policy: &policy.name,
                flag: row.flag,
                response_due: row.response_due.map(format_time),
                resolution_due: row.resolution_due.map(format_time),
                paused: row.paused,
                state: state_json,
                due_ms: row.next_due.map(|t| t.as_millisecond()),
            },
        )?;
        if let Some(due) = row.next_due.map(|t| t.as_millisecond()) {
            *self.earliest_due = Some(self.earliest_due.map_or(due, |e| e.min(due)));
        }
        self.touched.push(ticket.location.clone());
        Ok(fired)
    }

    /// Handles every clock that is due now; returns when the next one is (ms since the epoch).
    pub(super) fn sla_tick(&mut self) -> Result<Option<i64>, StoreError> {
        for number in self.txn.query().sla_due(self.now.as_millisecond(), TICK_BATCH)? {
            self.clock_input(&number, Input::Tick)?;
        }
        self.txn.query().next_sla_due()
    }

    /// Recomputes every open clock when the policies or hours differ from those they were computed with (after a
    /// reload, or a restart with an edited file), and remembers the settings' fingerprint.
    pub(super) fn retarget_if_changed(&mut self) -> Result<(), StoreError> {
        let fingerprint = sla_fingerprint(self.config);
        if self.txn.query().counter(SLA_FINGERPRINT)? == Some(fingerprint) {
            return Ok(());
        }
        for number in self.txn.query().open_with_sla()? {
            self.clock_input(&number, Input::Retarget)?;
        }
        self.txn.tickets().set_counter(SLA_FINGERPRINT, fingerprint)
    }

    /// The system clock stepped by `delta_ms`: shift every running clock so no time is gained or lost, and every
    /// open ticket's created and updated times with them, so the board stays on one clock.
    pub(super) fn clock_stepped(&mut self, delta_ms: i64) -> Result<(), StoreError> {
        self.append(&Actor::System, EventBody::ClockStepped { delta_ms })?;
        let moved = self.txn.tickets().shift_open_times(delta_ms)?;
        self.touched.extend(moved);
        for number in self.txn.query().open_with_sla()? {
            self.clock_input(&number, Input::Step { delta_ms })?;
        }
        Ok(())
    }

    /// Escalates a ticket to its next level now, at a member of staff's request.
    pub(super) fn escalate(&mut self, actor: &Actor, number: &str) -> Result<Result<Ticket, CoreError>, StoreError> {
        let Some(ticket) = self.txn.query().get(number)? else {
            return Ok(Err(CoreError::NotFound(format!("ticket {number}"))));
        };
        if !ticket.status.is_open() {
            return Ok(Err(CoreError::Conflict(format!("ticket {number} is {}", ticket.status.as_str()))));
        }
        if self.clock_input_by(actor, number, Input::Escalate)?.is_empty() {
            return Ok(Err(CoreError::Conflict(format!("ticket {number} has no further escalation level"))));
        }
        let fired = self.txn.query().history(number)?.into_iter().rev().find_map(|entry| match entry.event.body {
            EventBody::TicketEscalated { level, to, recipients, .. } => Some((level, to, recipients)),
            _ => None,
        });
        if let Some((level, to, recipients)) = fired {
            if recipients.is_empty() {
                return Ok(Err(CoreError::Unreached(format!(
                    "escalation level {level} of ticket {number} (to {to}) reached nobody: no one up to admin is on \
                     shift; the escalation is recorded on the ticket, so call someone"
                ))));
            }
        }
        self.load(number)
    }

    /// Pauses or resumes the clocks that do-not-disturb holds at `location`.
    pub(super) fn dnd_clocks(&mut self, location: &str, on: bool) -> Result<(), StoreError> {
        for ticket in self.txn.query().open_at(location)? {
            if dnd_pauses(self.config, &ticket) {
                let input = if on { Input::Pause(Pause::DoNotDisturb) } else { Input::Resume(Pause::DoNotDisturb) };
                self.clock_input(&ticket.number, input)?;
            }
        }
        Ok(())
    }

    /// Everyone with `role` in `department` who is on shift (clocked in, or scheduled now); admins property-wide.
    pub(super) fn reachable(&self, role: Role, department: &str) -> Result<Vec<String>, StoreError> {
        let local = self.local_now();
        let mut out = Vec::new();
        for member in self.config.people.staff.values() {
            let in_scope = role == Role::Admin || member.departments.iter().any(|d| d == department);
            if member.role != role || !in_scope {
                continue;
            }
            let duty = self.txn.staff_query().duty(&member.id)?.duty;
            if matches!(duty, Duty::On | Duty::Break) || member.schedule.covers(local) {
                out.push(member.id.clone());
            }
        }
        Ok(out)
    }

    /// Who a level reaches. A role with nobody on shift climbs to the next role up; `staff` is the assignee, or the
    /// department's staff on shift while nobody has the ticket.
    fn recipients(&self, ticket: &Ticket, target: &LevelTarget) -> Result<Vec<String>, StoreError> {
        match target {
            LevelTarget::Person(id) | LevelTarget::Contact(id) => Ok(vec![id.clone()]),
            LevelTarget::Role(Role::Staff) if ticket.assignee.is_some() => {
                Ok(ticket.assignee.iter().cloned().collect())
            }
            LevelTarget::Role(role) => {
                for role in Role::LADDER.into_iter().filter(|r| r >= role) {
                    let found = self.reachable(role, &ticket.department)?;
                    if !found.is_empty() {
                        return Ok(found);
                    }
                }
                Ok(Vec::new())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_fingerprint_is_stable_and_follows_policies_and_hours() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/hotel.toml")).unwrap();
        let path = std::path::Path::new("hotel.toml");
        let parse = |text: &str| crate::config::parse(path, text).unwrap();
        let fingerprint = sla_fingerprint(&parse(&text));
        assert_eq!(fingerprint, sla_fingerprint(&parse(&text)), "the same settings give the same fingerprint");
        let edited = text.replacen("mon = \"08:00-18:00\"", "mon = \"08:00-17:00\"", 1);
        assert_ne!(edited, text, "the example has office hours on Mondays");
        assert_ne!(fingerprint, sla_fingerprint(&parse(&edited)), "hours count");
    }

    #[test]
    fn the_settings_fingerprint_is_pinned_to_a_stable_serialisation() {
        let text = "[site]\ncode = \"H\"\nname = \"Hotel\"\ntime_zone = \"Europe/Lisbon\"\n\n[mqtt]\nurl = \"mqtt://127.0.0.1\"\n\n\
                    [storage]\ndata_dir = \"/var/lib/bellhop\"\n\n[[departments]]\ncode = \"hk\"\nname = \"HK\"\n\
                    hours = { mon = \"08:00-18:00\" }\n\n[[catalog]]\ncode = \"hk.towels\"\ncategory = \"hk\"\n\
                    department = \"hk\"\npriority = \"low\"\n";
        let config = crate::config::parse(std::path::Path::new("b.toml"), text).unwrap();
        // The JSON of the policies and hours, not their `Debug` text: a new build must not make a restart recompute
        // every open clock. A new SLA setting (a field of `SlaPolicy` or `Selectors`) changes it on purpose: update
        // the figure, and every open clock is recomputed once after the upgrade.
        assert_eq!(sla_fingerprint(&config), 736_966_727_929_284_509, "the fingerprint of these settings");
    }
}
