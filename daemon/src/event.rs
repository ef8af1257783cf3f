//! The journal's events: one closed enum, serialised as the event's JSON payload.

use crate::vocab::{Action, Priority, Source, Status};
use serde::{Deserialize, Serialize};
use tv_protocol::ErrorCode;

/// One state change. The `kind` tag doubles as the journal's `kind` column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// A new ticket.
    TicketRaised {
        /// Ticket number.
        ticket: String,
        /// Catalog code.
        item: String,
        /// Catalog category.
        category: String,
        /// Location id.
        location: String,
        /// Department code.
        department: String,
        /// Priority.
        priority: Priority,
        /// Where it came from.
        source: Source,
        /// The device that asked, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<String>,
        /// The device's own request id, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        /// Quantity asked for.
        qty: u8,
        /// Free text from the guest or staff.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// The estimate told to the guest, in seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eta_s: Option<u32>,
        /// The language of the guest in the room, as the PMS gave it, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
    },
    /// A request for an item already open at the location, recorded on that ticket.
    RequestMerged {
        /// The open ticket.
        ticket: String,
        /// The device that asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<String>,
        /// The device's own request id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        /// Quantity asked for.
        qty: u8,
        /// Free text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A request that was refused, kept for audit.
    RequestRejected {
        /// The location the topic claimed.
        location: String,
        /// The device the topic named.
        device: String,
        /// The request id, when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        /// Why.
        code: ErrorCode,
        /// In words.
        message: String,
    },
    /// A device's presence message that could not be read (not `online` or `offline`, or too large); it changed
    /// nothing and was consumed, so the broker does not deliver it again.
    PresenceRejected {
        /// The location the topic claimed.
        location: String,
        /// The device the topic named.
        device: String,
        /// Why (`bad_payload` or `too_large`).
        code: ErrorCode,
        /// In words.
        message: String,
    },
    /// A life-cycle step taken by staff or a system.
    TicketStatusChanged {
        /// Ticket number.
        ticket: String,
        /// What was done.
        action: Action,
        /// Status before.
        from: Status,
        /// Status after.
        to: Status,
        /// Why, when given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A comment on a ticket.
    TicketCommented {
        /// Ticket number.
        ticket: String,
        /// The comment.
        text: String,
    },
    /// A guest's rating of a resolved ticket.
    TicketRated {
        /// Ticket number.
        ticket: String,
        /// 1 to 5.
        stars: u8,
        /// The guest's words, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// A location's do-not-disturb state changed (from its room controller).
    DoNotDisturbChanged {
        /// Location id.
        location: String,
        /// Whether do-not-disturb is on.
        on: bool,
    },
    /// Staff wrote a point of a room controller (a setpoint, a reset), with the outcome.
    ControllerPointWritten {
        /// The controller's id.
        controller: String,
        /// Its location.
        location: String,
        /// The point's name in the register map.
        point: String,
        /// The value asked for.
        value: serde_json::Value,
        /// `ok`, or why the write failed.
        outcome: String,
    },
    /// A device was seen for the first time (over mDNS, or by its first MQTT message).
    DeviceSeen {
        /// Device id.
        device: String,
        /// `tv`, `kiosk`, `tablet`, or empty when unknown.
        device_kind: String,
        /// The location it claims.
        location: Option<String>,
        /// Model and firmware, when advertised.
        model: String,
        /// Firmware.
        firmware: String,
        /// Addresses, when advertised.
        addresses: Vec<String>,
        /// `mdns` or `mqtt`.
        via: String,
    },
    /// A device advertised something new: another location claim, model, firmware or addresses.
    DeviceUpdated {
        /// Device id.
        device: String,
        /// Kind.
        device_kind: String,
        /// The location it claims.
        location: Option<String>,
        /// Model.
        model: String,
        /// Firmware.
        firmware: String,
        /// Addresses.
        addresses: Vec<String>,
    },
    /// A device's binding changed: bound on first sight, confirmed or moved by an installer, or held back.
    DeviceBound {
        /// Device id.
        device: String,
        /// The location it may now speak for; `None` when quarantined or awaiting confirmation.
        location: Option<String>,
        /// `bound`, `unbound`, `quarantined` or `conflict`.
        state: crate::vocab::DeviceState,
        /// Why it was left unbound when that is not the policy alone (a claim of a location the property does not
        /// know); absent otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A device claims a location other than the one it is bound to; flagged, not followed.
    DeviceClaimConflict {
        /// Device id.
        device: String,
        /// Its binding.
        bound: String,
        /// What it now claims.
        claim: String,
    },
    /// A device came online or went offline.
    DeviceLiveness {
        /// Device id.
        device: String,
        /// Whether it is online now.
        online: bool,
        /// What told us: `mdns`, `mdns_removed`, `presence`.
        via: String,
    },
    /// Synced history was pruned: events up to `through_seq` are deleted locally (head office holds them).
    JournalPruned {
        /// The last deleted sequence number.
        through_seq: u64,
        /// How many events were deleted.
        events: u64,
    },
    /// Routing decided a new ticket's department, priority, SLA policy and skill.
    TicketRouted {
        /// Ticket number.
        ticket: String,
        /// The rule that matched; `None` when the catalog's defaults apply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// The department.
        department: String,
        /// The priority.
        priority: Priority,
        /// The SLA policy.
        sla: String,
        /// The skill staff need, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skill: Option<String>,
        /// The rules tried before the match and why each did not match, and how the SLA policy was chosen.
        explanation: serde_json::Value,
    },
    /// A ticket was given to someone, handed on, or left waiting in its department's queue.
    TicketAssigned {
        /// Ticket number.
        ticket: String,
        /// Who has it now; `None` when it waits in the queue.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        staff: Option<String>,
        /// Who had it before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<String>,
        /// Its status after the change.
        status: Status,
        /// `auto`, `manual`, `handoff` or `queued`.
        how: crate::vocab::AssignmentKind,
        /// The staff considered, with their load or why they could not take it.
        considered: serde_json::Value,
    },
    /// A member of staff clocked in, took a break, or clocked out.
    StaffDutyChanged {
        /// Staff id.
        staff: String,
        /// `on`, `break` or `off`.
        duty: crate::vocab::Duty,
        /// What it was.
        was: crate::vocab::Duty,
    },
    /// A location's guest tier changed (front desk, or a PMS link).
    GuestTierChanged {
        /// Location id.
        location: String,
        /// `standard`, `vip` or `long_stay`.
        tier: crate::vocab::GuestTier,
    },
    /// A ticket's SLA flag changed colour.
    SlaFlagChanged {
        /// Ticket number.
        ticket: String,
        /// `green`, `yellow` or `red`.
        flag: crate::vocab::Flag,
        /// When it was due to change (UTC).
        due_at: String,
    },
    /// A ticket missed an SLA target.
    SlaBreached {
        /// Ticket number.
        ticket: String,
        /// `response` or `resolution`.
        target: crate::vocab::Target,
        /// The deadline that was missed (UTC).
        due_at: String,
    },
    /// A breach no longer holds after the policy or the hours changed.
    SlaBreachCleared {
        /// Ticket number.
        ticket: String,
        /// `response` or `resolution`.
        target: crate::vocab::Target,
    },
    /// An escalation level fired.
    TicketEscalated {
        /// Ticket number.
        ticket: String,
        /// The level, from 1.
        level: u32,
        /// `due`, `emergency` or `manual`.
        reason: crate::vocab::Reason,
        /// When it fell due (UTC).
        due_at: String,
        /// The level's target as configured (`supervisor`, `staff:ana`, `contact:security`).
        to: String,
        /// Who was notified.
        recipients: Vec<String>,
    },
    /// The system clock stepped (NTP after an outage); running SLA clocks were shifted so no time was gained or lost.
    ClockStepped {
        /// How far it stepped, in milliseconds (negative: backwards).
        delta_ms: i64,
    },
    /// A notice to a person or contact was put in the outbox, in the transaction of the event that causes it.
    NoticeQueued {
        /// The notice's id: the idempotency key a webhook gets and the left part of a mail's Message-ID.
        notice: String,
        /// The ticket it is about (none for summaries).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<String>,
        /// The staff or contact id (never an address: those stay in the configuration).
        recipient: String,
        /// `email`, `mqtt`, or a webhook's name.
        channel: String,
        /// `assigned`, `queued`, `escalation`, `warning` or `summary`.
        reason: String,
        /// The subject line.
        subject: String,
        /// The text.
        text: String,
        /// What the notice is about, for the MQTT payload and webhook placeholders.
        facts: serde_json::Value,
        /// Held until then (UTC) because of the recipient's quiet hours.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_before: Option<String>,
    },
    /// A notice reached its channel (the mail server, the webhook, or the broker session took it).
    NoticeDelivered {
        /// The notice's id.
        notice: String,
        /// The ticket it is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<String>,
        /// The recipient.
        recipient: String,
        /// The channel.
        channel: String,
        /// Attempts it took, from 1.
        attempts: u32,
    },
    /// A delivery attempt failed: it is tried again at `retry_at`, or given up when that is absent.
    NoticeFailed {
        /// The notice's id.
        notice: String,
        /// The ticket it is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<String>,
        /// The recipient.
        recipient: String,
        /// The channel.
        channel: String,
        /// Attempts so far.
        attempts: u32,
        /// What went wrong.
        error: String,
        /// When it is tried again (UTC); absent: given up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_at: Option<String>,
    },
    /// A monitoring alert started an episode and raised (or joined) a ticket.
    AlertFired {
        /// `alertmanager` or `webhook`.
        source: String,
        /// The alert's fingerprint.
        fingerprint: String,
        /// The rule that mapped it.
        rule: String,
        /// The ticket.
        ticket: String,
        /// The alert's line for people.
        summary: String,
    },
    /// A monitoring alert's episode ended; its ticket was resolved or annotated.
    AlertResolved {
        /// `alertmanager` or `webhook`.
        source: String,
        /// The alert's fingerprint.
        fingerprint: String,
        /// The ticket.
        ticket: String,
        /// `resolved`, `annotated`, or `none` (the ticket was already closed).
        action: String,
    },
    /// The PMS checked a guest in (or a resync found one in house). Personal data is not here: `guest` is
    /// Bellhop's reference to the row that holds it.
    GuestCheckedIn {
        /// The guest's reference.
        guest: String,
        /// The room.
        location: String,
        /// The tier the PMS's VIP code gives.
        tier: crate::vocab::GuestTier,
        /// The guest's language, as the PMS gave it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        /// Arrival date (`yyyy-MM-dd`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arrival: Option<String>,
        /// Departure date (`yyyy-MM-dd`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        departure: Option<String>,
        /// Whether a database resync, not a live check-in, reported it.
        resync: bool,
    },
    /// The PMS checked a guest out (or a resync no longer lists the room).
    GuestCheckedOut {
        /// The guest's reference.
        guest: String,
        /// The room, now vacant.
        location: String,
        /// Whether a database resync, not a live check-out, reported it.
        resync: bool,
    },
    /// A guest moved room.
    GuestMoved {
        /// The guest's reference.
        guest: String,
        /// The old room, now vacant.
        from: String,
        /// The new room.
        to: String,
    },
    /// The PMS changed a guest's stay: tier, language or departure.
    GuestChanged {
        /// The guest's reference.
        guest: String,
        /// The room.
        location: String,
        /// The tier now.
        tier: crate::vocab::GuestTier,
        /// The language now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        /// The departure date now (`yyyy-MM-dd`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        departure: Option<String>,
    },
    /// An open ticket's guest tier was raised (a VIP checked in to its room), and its SLA policy chosen again.
    TicketTierRaised {
        /// Ticket number.
        ticket: String,
        /// The tier now.
        tier: crate::vocab::GuestTier,
        /// The SLA policy now.
        sla: String,
    },
    /// Housekeeping reported a room's status; it is sent to the PMS as a room status record.
    RoomStatusChanged {
        /// The room.
        location: String,
        /// `dirty`, `cleaned` or `inspected`.
        status: String,
        /// Whether a guest is checked in (vacant or occupied in the PMS's room status).
        occupied: bool,
    },
    /// Guests' personal data was deleted from the guests table: after the retention period, or on request.
    GuestDataDeleted {
        /// The references whose data was deleted.
        guests: Vec<String>,
        /// `retention` or `erasure`.
        reason: String,
    },
    /// An API token was issued.
    TokenCreated {
        /// The token's public id (never the secret).
        token: String,
        /// The role it carries.
        role: crate::vocab::Role,
        /// What it is for.
        label: String,
        /// Who it belongs to (`staff:{id}` or `integration:{name}`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        /// The one department it may act in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        department: Option<String>,
        /// When it stops working (UTC).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
    },
    /// An API token was revoked; it fails from the next request on.
    TokenRevoked {
        /// The token's public id.
        token: String,
    },
    /// An admin issued a one-time enrolment code for a person (the code itself is never journaled). A reset also
    /// clears the person's password, second factor and sessions.
    EnrolmentIssued {
        /// The staff id.
        staff: String,
        /// When the code expires (UTC).
        expires_at: String,
        /// Whether earlier credentials were cleared.
        reset: bool,
    },
    /// A person set their password (and second factor) with an enrolment code.
    AccountEnrolled {
        /// The staff id.
        staff: String,
        /// Whether a TOTP second factor was enrolled.
        totp: bool,
    },
    /// An account was disabled: no more sign-ins; its sessions ended and its tokens revoked.
    AccountDisabled {
        /// The staff id.
        staff: String,
        /// How many sessions were ended.
        sessions_ended: u32,
        /// How many tokens were revoked.
        tokens_revoked: u32,
    },
    /// A sign-in attempt, successful or not. Never the password or a code.
    SignInAttempted {
        /// The user name given.
        user: String,
        /// The client's address.
        address: String,
        /// `success`, `failure` or `refused` (locked, slowed down, or disabled).
        outcome: String,
        /// Why it failed or was refused; absent on success.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The session opened, on success.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// The second factor used: `totp` or `recovery`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        factor: Option<String>,
    },
    /// Too many failures: an account or a client address is locked out of signing in for a while.
    SignInLocked {
        /// `account` or `address`.
        scope: String,
        /// The user name or the address.
        key: String,
        /// Failures counted.
        failures: u32,
        /// Until when (UTC).
        until: String,
    },
    /// A session ended before its time: signed out, signed out everywhere, ended by an admin, or by a reset.
    SessionEnded {
        /// The staff id.
        staff: String,
        /// The session's public id.
        session: String,
        /// `sign_out`, `everywhere`, `admin`, `reset` or `disabled`.
        why: String,
    },
}

impl EventBody {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::TicketRaised { .. } => "ticket_raised",
            EventBody::RequestMerged { .. } => "request_merged",
            EventBody::RequestRejected { .. } => "request_rejected",
            EventBody::PresenceRejected { .. } => "presence_rejected",
            EventBody::TicketStatusChanged { .. } => "ticket_status_changed",
            EventBody::TicketCommented { .. } => "ticket_commented",
            EventBody::TicketRated { .. } => "ticket_rated",
            EventBody::DoNotDisturbChanged { .. } => "do_not_disturb_changed",
            EventBody::ControllerPointWritten { .. } => "controller_point_written",
            EventBody::DeviceSeen { .. } => "device_seen",
            EventBody::DeviceUpdated { .. } => "device_updated",
            EventBody::DeviceBound { .. } => "device_bound",
            EventBody::DeviceClaimConflict { .. } => "device_claim_conflict",
            EventBody::DeviceLiveness { .. } => "device_liveness",
            EventBody::JournalPruned { .. } => "journal_pruned",
            EventBody::TokenCreated { .. } => "token_created",
            EventBody::TokenRevoked { .. } => "token_revoked",
            EventBody::EnrolmentIssued { .. } => "enrolment_issued",
            EventBody::AccountEnrolled { .. } => "account_enrolled",
            EventBody::AccountDisabled { .. } => "account_disabled",
            EventBody::SignInAttempted { .. } => "sign_in_attempted",
            EventBody::SignInLocked { .. } => "sign_in_locked",
            EventBody::SessionEnded { .. } => "session_ended",
            EventBody::TicketRouted { .. } => "ticket_routed",
            EventBody::TicketAssigned { .. } => "ticket_assigned",
            EventBody::StaffDutyChanged { .. } => "staff_duty_changed",
            EventBody::GuestTierChanged { .. } => "guest_tier_changed",
            EventBody::SlaFlagChanged { .. } => "sla_flag_changed",
            EventBody::SlaBreached { .. } => "sla_breached",
            EventBody::SlaBreachCleared { .. } => "sla_breach_cleared",
            EventBody::TicketEscalated { .. } => "ticket_escalated",
            EventBody::ClockStepped { .. } => "clock_stepped",
            EventBody::NoticeQueued { .. } => "notice_queued",
            EventBody::NoticeDelivered { .. } => "notice_delivered",
            EventBody::NoticeFailed { .. } => "notice_failed",
            EventBody::AlertFired { .. } => "alert_fired",
            EventBody::AlertResolved { .. } => "alert_resolved",
            EventBody::GuestCheckedIn { .. } => "guest_checked_in",
            EventBody::GuestCheckedOut { .. } => "guest_checked_out",
            EventBody::GuestMoved { .. } => "guest_moved",
            EventBody::GuestChanged { .. } => "guest_changed",
            EventBody::TicketTierRaised { .. } => "ticket_tier_raised",
            EventBody::RoomStatusChanged { .. } => "room_status_changed",
            EventBody::GuestDataDeleted { .. } => "guest_data_deleted",
        }
    }

    /// The ticket the event belongs to, if any.
    pub fn ticket(&self) -> Option<&str> {
        match self {
            EventBody::TicketRaised { ticket, .. }
            | EventBody::RequestMerged { ticket, .. }
            | EventBody::TicketStatusChanged { ticket, .. }
            | EventBody::TicketCommented { ticket, .. }
            | EventBody::TicketRated { ticket, .. }
            | EventBody::TicketRouted { ticket, .. }
            | EventBody::TicketAssigned { ticket, .. }
            | EventBody::SlaFlagChanged { ticket, .. }
            | EventBody::SlaBreached { ticket, .. }
            | EventBody::SlaBreachCleared { ticket, .. }
            | EventBody::TicketEscalated { ticket, .. }
            | EventBody::AlertFired { ticket, .. }
            | EventBody::AlertResolved { ticket, .. } => Some(ticket),
            EventBody::NoticeQueued { ticket, .. }
            | EventBody::NoticeDelivered { ticket, .. }
            | EventBody::NoticeFailed { ticket, .. } => ticket.as_deref(),
            EventBody::TicketTierRaised { ticket, .. } => Some(ticket),
            EventBody::RequestRejected { .. }
            | EventBody::PresenceRejected { .. }
            | EventBody::DoNotDisturbChanged { .. }
            | EventBody::ControllerPointWritten { .. }
            | EventBody::DeviceSeen { .. }
            | EventBody::DeviceUpdated { .. }
            | EventBody::DeviceBound { .. }
            | EventBody::DeviceClaimConflict { .. }
            | EventBody::DeviceLiveness { .. }
            | EventBody::JournalPruned { .. }
            | EventBody::TokenCreated { .. }
            | EventBody::TokenRevoked { .. }
            | EventBody::EnrolmentIssued { .. }
            | EventBody::AccountEnrolled { .. }
            | EventBody::AccountDisabled { .. }
            | EventBody::SignInAttempted { .. }
            | EventBody::SignInLocked { .. }
            | EventBody::SessionEnded { .. }
            | EventBody::StaffDutyChanged { .. }
            | EventBody::GuestTierChanged { .. }
            | EventBody::ClockStepped { .. }
            | EventBody::GuestCheckedIn { .. }
            | EventBody::GuestCheckedOut { .. }
            | EventBody::GuestMoved { .. }
            | EventBody::GuestChanged { .. }
            | EventBody::RoomStatusChanged { .. }
            | EventBody::GuestDataDeleted { .. } => None,
        }
    }
}

/// An event as committed to the journal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// Gap-free sequence number.
    pub seq: u64,
    /// UTC time, RFC 3339.
    pub at: String,
    /// Who caused it (`tv:{device}`, `staff:{id}`, `integration:{name}`, `token:{id}`, `cli`, `system`).
    pub actor: String,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

impl From<crate::engine::devices::Change> for EventBody {
    fn from(change: crate::engine::devices::Change) -> EventBody {
        use crate::engine::devices::Change;
        match change {
            Change::Seen { device, device_kind, location, model, firmware, addresses, via } => {
                EventBody::DeviceSeen { device, device_kind, location, model, firmware, addresses, via }
            }
            Change::Updated { device, device_kind, location, model, firmware, addresses } => {
                EventBody::DeviceUpdated { device, device_kind, location, model, firmware, addresses }
            }
            Change::Bound { device, location, state, reason } => {
                EventBody::DeviceBound { device, location, state, reason }
            }
            Change::ClaimConflict { device, bound, claim } => EventBody::DeviceClaimConflict { device, bound, claim },
            Change::Liveness { device, online, via } => EventBody::DeviceLiveness { device, online, via },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_tag_matches_kind() {
        let bodies = [
            EventBody::TicketCommented { ticket: "A-1".into(), text: "x".into() },
            EventBody::TokenCreated {
                token: "t".into(),
                role: crate::vocab::Role::Admin,
                label: "l".into(),
                owner: Some("integration:pms".into()),
                department: None,
                expires_at: None,
            },
            EventBody::RequestRejected {
                location: "1".into(),
                device: "d".into(),
                request_id: None,
                code: ErrorCode::BadPayload,
                message: "m".into(),
            },
        ];
        for body in bodies {
            let json: serde_json::Value = serde_json::to_value(&body).unwrap();
            assert_eq!(json["kind"], body.kind());
            let back: EventBody = serde_json::from_value(json).unwrap();
            assert_eq!(back, body);
        }
    }
}
