//! Tickets as the API shows them: the ticket, a page of them, its history as typed entries, and the routing
//! explanation built from that history.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schema;
use crate::event::{Event, EventBody};
use crate::store::{Page, Ticket, TicketSla};
use crate::vocab::{Action, AssignmentKind, Flag, Priority, Reason, Source, Status, Target};

/// A ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// `{site}-{n}`.
    pub number: String,
    /// The catalog item.
    pub item: String,
    /// The catalog category.
    pub category: String,
    /// The location id.
    pub location: String,
    /// The department code.
    pub department: String,
    #[schema(schema_with = schema::priority)]
    pub priority: Priority,
    #[schema(schema_with = schema::status)]
    pub status: Status,
    #[schema(schema_with = schema::source)]
    pub source: Source,
    /// The device that raised it.
    pub device: Option<String>,
    /// The device's request id.
    pub request_id: Option<String>,
    /// Quantity.
    pub qty: u8,
    /// Free text.
    pub note: Option<String>,
    /// How many repeat requests were merged into it.
    pub repeats: u32,
    /// The estimate told to the guest, in seconds.
    pub eta_s: Option<u32>,
    /// When it was raised (UTC, RFC 3339).
    pub created_at: String,
    /// When it last changed (UTC, RFC 3339).
    pub updated_at: String,
    /// The staff id of who has it; null while it waits in its department's queue.
    pub assignee: Option<String>,
    /// The skill routing said it needs.
    pub skill: Option<String>,
    /// Its SLA; null for tickets raised before SLAs existed.
    pub sla: Option<SlaView>,
}

impl From<Ticket> for TicketView {
    fn from(t: Ticket) -> TicketView {
        TicketView {
            number: t.number,
            item: t.item,
            category: t.category,
            location: t.location,
            department: t.department,
            priority: t.priority,
            status: t.status,
            source: t.source,
            device: t.device,
            request_id: t.request_id,
            qty: t.qty,
            note: t.note,
            repeats: t.repeats,
            eta_s: t.eta_s,
            created_at: t.created_at,
            updated_at: t.updated_at,
            assignee: t.assignee,
            skill: t.skill,
            sla: t.sla.map(SlaView::from),
        }
    }
}

/// A ticket's SLA as the board shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaView {
    /// The SLA policy.
    pub policy: String,
    #[schema(schema_with = schema::flag)]
    pub flag: Flag,
    /// When it must be acknowledged (UTC), while the clock runs and until it is.
    pub response_due: Option<String>,
    /// When it must be resolved (UTC), while the clock runs.
    pub resolution_due: Option<String>,
    /// Whether the clock is paused (on hold, do-not-disturb).
    pub paused: bool,
    /// The report figures.
    pub measures: Option<MeasuresView>,
}

impl From<TicketSla> for SlaView {
    fn from(s: TicketSla) -> SlaView {
        SlaView {
            policy: s.policy,
            flag: s.flag,
            response_due: s.response_due,
            resolution_due: s.resolution_due,
            paused: s.paused,
            measures: s.measures.map(|m| MeasuresView {
                response_ms: m.response_ms,
                resolution_ms: m.resolution_ms,
                paused_ms: m.paused_ms,
                response_breached: m.response_breached,
                resolution_breached: m.resolution_breached,
            }),
        }
    }
}

/// Time to respond and to resolve (business time, pauses excluded), time paused, and which targets were breached.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasuresView {
    /// Business milliseconds to the first acknowledgement.
    pub response_ms: Option<i64>,
    /// Business milliseconds to the first resolution.
    pub resolution_ms: Option<i64>,
    /// Wall-clock milliseconds paused, over all rounds.
    pub paused_ms: i64,
    /// The response target was breached in some round.
    pub response_breached: bool,
    /// The resolution target was breached in some round.
    pub resolution_breached: bool,
}

/// One page of tickets, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPage {
    /// The tickets.
    pub tickets: Vec<TicketView>,
    /// Pass as `before` to get the next page; null on the last page.
    pub next_before: Option<u64>,
}

impl From<Page> for TicketPage {
    fn from(page: Page) -> TicketPage {
        TicketPage { tickets: page.tickets.into_iter().map(TicketView::from).collect(), next_before: page.next_before }
    }
}

/// A ticket and its whole history, oldest event first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetail {
    /// The ticket.
    pub ticket: TicketView,
    /// What happened to it.
    pub history: Vec<HistoryEntry>,
}

impl TicketDetail {
    /// Names the people behind `staff:{id}` actors with `name_of`.
    pub fn with_names(mut self, name_of: impl Fn(&str) -> Option<String>) -> TicketDetail {
        for entry in &mut self.history {
            entry.actor_name = entry.actor.strip_prefix("staff:").and_then(&name_of);
        }
        self
    }

    /// The ticket with its journal events.
    pub fn new(ticket: Ticket, events: Vec<Event>) -> TicketDetail {
        TicketDetail {
            ticket: ticket.into(),
            history: events.into_iter().filter_map(HistoryEntry::from_event).collect(),
        }
    }
}

/// One event of a ticket's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// The journal sequence number.
    pub seq: u64,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who: `staff:{id}`, `integration:{name}`, `tv:{device}`, `token:{id}`, `system`, ...
    pub actor: String,
    /// The person's name when the actor is `staff:{id}` of someone on the roster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// What happened, by `kind`.
    #[serde(flatten)]
    pub change: TicketChange,
}

impl HistoryEntry {
    /// The entry for a journal event, or `None` for an event that does not belong to a ticket's history.
    pub fn from_event(event: Event) -> Option<HistoryEntry> {
        let change = TicketChange::from_body(event.body)?;
        Some(HistoryEntry { seq: event.seq, at: event.at, actor: event.actor, actor_name: None, change })
    }
}

/// What happened to a ticket. `kind` names the journal event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TicketChange {
    /// The ticket was raised.
    TicketRaised {
        /// The ticket.
        ticket: String,
        /// The catalog item.
        item: String,
        /// The catalog category.
        category: String,
        /// The location.
        location: String,
        /// The department.
        department: String,
        #[schema(schema_with = schema::priority)]
        priority: Priority,
        #[schema(schema_with = schema::source)]
        source: Source,
        /// The device that asked.
        device: Option<String>,
        /// The device's request id.
        request_id: Option<String>,
        /// Quantity.
        qty: u8,
        /// Free text.
        note: Option<String>,
        /// The estimate told to the guest, in seconds.
        eta_s: Option<u32>,
    },
    /// A repeat request for the same item at the location was merged into the ticket.
    RequestMerged {
        /// The ticket.
        ticket: String,
        /// The device that asked.
        device: Option<String>,
        /// The device's request id.
        request_id: Option<String>,
        /// Quantity.
        qty: u8,
        /// Free text.
        note: Option<String>,
    },
    /// A life-cycle step.
    TicketStatusChanged {
        /// The ticket.
        ticket: String,
        #[schema(schema_with = schema::action)]
        action: Action,
        #[schema(schema_with = schema::status)]
        from: Status,
        #[schema(schema_with = schema::status)]
        to: Status,
        /// Why, when given.
        reason: Option<String>,
    },
    /// A comment.
    TicketCommented {
        /// The ticket.
        ticket: String,
        /// The comment.
        text: String,
    },
    /// The guest's rating.
    TicketRated {
        /// The ticket.
        ticket: String,
        /// 1 to 5.
        stars: u8,
        /// The guest's words.
        comment: Option<String>,
    },
    /// Routing's decision.
    TicketRouted {
        /// The ticket.
        ticket: String,
        /// The rule that matched; null when the catalog's defaults apply.
        rule: Option<String>,
        /// The department.
        department: String,
        #[schema(schema_with = schema::priority)]
        priority: Priority,
        /// The SLA policy.
        sla: String,
        /// The skill staff need.
        skill: Option<String>,
        /// Why.
        explanation: RoutingExplanation,
    },
    /// The ticket was given to someone, handed on, or left in its department's queue.
    TicketAssigned {
        /// The ticket.
        ticket: String,
        /// Who has it now; null when it waits in the queue.
        staff: Option<String>,
        /// Who had it before.
        previous: Option<String>,
        #[schema(schema_with = schema::status)]
        status: Status,
        #[schema(schema_with = schema::assignment_kind)]
        how: AssignmentKind,
        /// Who was considered, and who was told it waits.
        considered: Candidates,
    },
    /// The SLA flag changed colour.
    SlaFlagChanged {
        /// The ticket.
        ticket: String,
        #[schema(schema_with = schema::flag)]
        flag: Flag,
        /// When it was due to change (UTC).
        due_at: String,
    },
    /// An SLA target was missed.
    SlaBreached {
        /// The ticket.
        ticket: String,
        #[schema(schema_with = schema::sla_target)]
        target: Target,
        /// The deadline that was missed (UTC).
        due_at: String,
    },
    /// A breach no longer holds after the policy or the hours changed.
    SlaBreachCleared {
        /// The ticket.
        ticket: String,
        #[schema(schema_with = schema::sla_target)]
        target: Target,
    },
    /// An escalation level fired.
    TicketEscalated {
        /// The ticket.
        ticket: String,
        /// The level, from 1.
        level: u32,
        #[schema(schema_with = schema::escalation_reason)]
        reason: Reason,
        /// When it fell due (UTC).
        due_at: String,
        /// The level's target as configured (`supervisor`, `staff:ana`, `contact:security`).
        to: String,
        /// Who was notified.
        recipients: Vec<String>,
    },
    /// A notice about the ticket was queued for someone.
    NoticeQueued {
        /// The ticket.
        ticket: String,
        /// The notice's id (the idempotency key a webhook gets).
        notice: String,
        /// The staff or contact id.
        recipient: String,
        /// `email`, `mqtt`, or a webhook's name.
        channel: String,
        /// `assigned`, `queued`, `escalation` or `warning`.
        reason: String,
        /// Its subject line.
        subject: String,
        /// Held until then (UTC) for the recipient's quiet hours.
        #[serde(skip_serializing_if = "Option::is_none")]
        not_before: Option<String>,
    },
    /// A notice reached its channel.
    NoticeDelivered {
        /// The ticket.
        ticket: String,
        /// The notice's id.
        notice: String,
        /// The recipient.
        recipient: String,
        /// The channel.
        channel: String,
        /// Attempts it took.
        attempts: u32,
    },
    /// Delivering a notice failed; it is tried again at `retry_at`, or was given up when that is absent.
    NoticeFailed {
        /// The ticket.
        ticket: String,
        /// The notice's id.
        notice: String,
        /// The recipient.
        recipient: String,
        /// The channel.
        channel: String,
        /// Attempts so far.
        attempts: u32,
        /// What went wrong.
        error: String,
        /// When it is tried again (UTC).
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_at: Option<String>,
    },
    /// A monitoring alert raised or joined the ticket.
    AlertFired {
        /// The ticket.
        ticket: String,
        /// `alertmanager` or `webhook`.
        source: String,
        /// The alert's fingerprint.
        fingerprint: String,
        /// The rule that mapped it.
        rule: String,
        /// The alert's line.
        summary: String,
    },
    /// The alert resolved.
    AlertResolved {
        /// The ticket.
        ticket: String,
        /// `alertmanager` or `webhook`.
        source: String,
        /// The alert's fingerprint.
        fingerprint: String,
        /// `resolved`, `annotated` or `closed`.
        action: String,
    },
    /// A VIP checked in to the ticket's room: its guest tier was raised and its SLA policy chosen again.
    TicketTierRaised {
        /// The ticket.
        ticket: String,
        /// The guest tier now.
        #[schema(value_type = String)]
        tier: crate::vocab::GuestTier,
        /// The SLA policy now.
        sla: String,
    },
}

impl TicketChange {
    /// The change a journal event records, or `None` for an event that is not about one ticket.
    pub fn from_body(body: EventBody) -> Option<TicketChange> {
        Some(match body {
            EventBody::TicketRaised {
                ticket,
                item,
                category,
                location,
                department,
                priority,
                source,
                device,
                request_id,
                qty,
                note,
                eta_s,
                language: _,
            } => TicketChange::TicketRaised {
                ticket,
                item,
                category,
                location,
                department,
                priority,
                source,
                device,
                request_id,
                qty,
                note,
                eta_s,
            },
            EventBody::RequestMerged { ticket, device, request_id, qty, note } => {
                TicketChange::RequestMerged { ticket, device, request_id, qty, note }
            }
            EventBody::TicketStatusChanged { ticket, action, from, to, reason } => {
                TicketChange::TicketStatusChanged { ticket, action, from, to, reason }
            }
            EventBody::TicketCommented { ticket, text } => TicketChange::TicketCommented { ticket, text },
            EventBody::TicketRated { ticket, stars, comment } => TicketChange::TicketRated { ticket, stars, comment },
            EventBody::TicketRouted { ticket, rule, department, priority, sla, skill, explanation } => {
                TicketChange::TicketRouted {
                    ticket,
                    rule,
                    department,
                    priority,
                    sla,
                    skill,
                    explanation: RoutingExplanation::read(explanation),
                }
            }
            EventBody::TicketAssigned { ticket, staff, previous, status, how, considered } => {
                TicketChange::TicketAssigned {
                    ticket,
                    staff,
                    previous,
                    status,
                    how,
                    considered: Candidates::read(considered),
                }
            }
            EventBody::SlaFlagChanged { ticket, flag, due_at } => TicketChange::SlaFlagChanged { ticket, flag, due_at },
            EventBody::SlaBreached { ticket, target, due_at } => TicketChange::SlaBreached { ticket, target, due_at },
            EventBody::SlaBreachCleared { ticket, target } => TicketChange::SlaBreachCleared { ticket, target },
            EventBody::TicketEscalated { ticket, level, reason, due_at, to, recipients } => {
                TicketChange::TicketEscalated { ticket, level, reason, due_at, to, recipients }
            }
            EventBody::NoticeQueued {
                ticket: Some(ticket),
                notice,
                recipient,
                channel,
                reason,
                subject,
                not_before,
                ..
            } => TicketChange::NoticeQueued { ticket, notice, recipient, channel, reason, subject, not_before },
            EventBody::NoticeDelivered { ticket: Some(ticket), notice, recipient, channel, attempts } => {
                TicketChange::NoticeDelivered { ticket, notice, recipient, channel, attempts }
            }
            EventBody::NoticeFailed { ticket: Some(ticket), notice, recipient, channel, attempts, error, retry_at } => {
                TicketChange::NoticeFailed { ticket, notice, recipient, channel, attempts, error, retry_at }
            }
            EventBody::AlertFired { ticket, source, fingerprint, rule, summary } => {
                TicketChange::AlertFired { ticket, source, fingerprint, rule, summary }
            }
            EventBody::AlertResolved { ticket, source, fingerprint, action } => {
                TicketChange::AlertResolved { ticket, source, fingerprint, action }
            }
            EventBody::NoticeQueued { ticket: None, .. }
            | EventBody::NoticeDelivered { ticket: None, .. }
            | EventBody::NoticeFailed { ticket: None, .. }
            | EventBody::RequestRejected { .. }
            | EventBody::PresenceRejected { .. }
            | EventBody::DoNotDisturbChanged { .. }
            | EventBody::ControllerPointWritten { .. }
            | EventBody::DeviceSeen { .. }
            | EventBody::DeviceUpdated { .. }
            | EventBody::DeviceBound { .. }
            | EventBody::DeviceClaimConflict { .. }
            | EventBody::DeviceLiveness { .. }
            | EventBody::JournalPruned { .. }
            | EventBody::StaffDutyChanged { .. }
            | EventBody::GuestTierChanged { .. }
            | EventBody::ClockStepped { .. }
            | EventBody::TokenCreated { .. }
            | EventBody::TokenRevoked { .. }
            | EventBody::EnrolmentIssued { .. }
            | EventBody::AccountEnrolled { .. }
            | EventBody::AccountDisabled { .. }
            | EventBody::SignInAttempted { .. }
            | EventBody::SignInLocked { .. }
            | EventBody::SessionEnded { .. }
            | EventBody::GuestCheckedIn { .. }
            | EventBody::GuestCheckedOut { .. }
            | EventBody::GuestMoved { .. }
            | EventBody::GuestChanged { .. }
            | EventBody::RoomStatusChanged { .. }
            | EventBody::GuestDataDeleted { .. } => return None,
            EventBody::TicketTierRaised { ticket, tier, sla } => TicketChange::TicketTierRaised { ticket, tier, sla },
        })
    }
}

/// Why routing decided as it did. Every field may be missing from events journaled by older versions.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RoutingExplanation {
    /// The rule that matched.
    pub rule: Option<String>,
    /// The department.
    pub department: Option<String>,
    #[schema(schema_with = schema::priority_or_null)]
    pub priority: Option<Priority>,
    /// The SLA policy the rule or the catalog named.
    pub sla: Option<String>,
    /// The skill.
    pub skill: Option<String>,
    /// The guest tier routing saw.
    pub guest_tier: Option<String>,
    /// The site's local time routing saw.
    pub local_time: Option<String>,
    /// How the SLA policy was chosen: `rule`, `catalog`, `selectors` or `default`.
    pub sla_chosen_by: Option<String>,
    /// The rules tried before the match, and why each did not match.
    pub skipped: Vec<SkippedRule>,
}

impl RoutingExplanation {
    fn read(value: serde_json::Value) -> RoutingExplanation {
        serde_json::from_value(value).unwrap_or_default()
    }
}

/// A rule passed over.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SkippedRule {
    /// Its name.
    pub rule: Option<String>,
    /// Why it did not match.
    pub reason: String,
}

/// Who an assignment considered, and the supervisors told that a ticket waits.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Candidates {
    /// Everyone considered, with their load or why they could not take it.
    pub considered: Vec<Candidate>,
    /// The supervisors on shift told that the ticket waits in the queue.
    pub flagged: Vec<String>,
}

impl Candidates {
    fn read(value: serde_json::Value) -> Candidates {
        serde_json::from_value(value).unwrap_or_default()
    }
}

/// One member of staff considered for a ticket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Candidate {
    /// Their staff id.
    pub staff: String,
    /// Their load, when they qualified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<u32>,
    /// Why they could not take it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

/// How a ticket was routed and assigned.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingView {
    /// The ticket.
    pub ticket: String,
    /// The routing decision; null for tickets raised before routing existed.
    pub routing: Option<RoutedView>,
    /// Every assignment, oldest first.
    pub assignments: Vec<AssignmentView>,
}

impl RoutingView {
    /// The routing view from a ticket's history.
    pub fn new(ticket: String, history: Vec<Event>) -> RoutingView {
        let mut routing = None;
        let mut assignments = Vec::new();
        for entry in history.into_iter().filter_map(HistoryEntry::from_event) {
            match entry.change {
                TicketChange::TicketRouted { rule, department, priority, sla, skill, explanation, .. } => {
                    routing = Some(RoutedView { at: entry.at, rule, department, priority, sla, skill, explanation })
                }
                TicketChange::TicketAssigned { staff, previous, status, how, considered, .. } => {
                    assignments.push(AssignmentView {
                        at: entry.at,
                        actor: entry.actor,
                        staff,
                        previous,
                        status,
                        how,
                        considered,
                    })
                }
                _ => {}
            }
        }
        RoutingView { ticket, routing, assignments }
    }
}

/// The journaled routing decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutedView {
    /// When (UTC).
    pub at: String,
    /// The rule that matched; null when the catalog's defaults apply.
    pub rule: Option<String>,
    /// The department.
    pub department: String,
    #[schema(schema_with = schema::priority)]
    pub priority: Priority,
    /// The SLA policy.
    pub sla: String,
    /// The skill staff need.
    pub skill: Option<String>,
    /// Why.
    pub explanation: RoutingExplanation,
}

/// One assignment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    /// When (UTC).
    pub at: String,
    /// Who made it: `system`, `token:{id}`.
    pub actor: String,
    /// Who has it now; null when it waits in the queue.
    pub staff: Option<String>,
    /// Who had it before.
    pub previous: Option<String>,
    #[schema(schema_with = schema::status)]
    pub status: Status,
    #[schema(schema_with = schema::assignment_kind)]
    pub how: AssignmentKind,
    /// Who was considered.
    pub considered: Candidates,
}
