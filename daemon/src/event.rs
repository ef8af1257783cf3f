//! The journal's events: one closed enum, serialised as the event's JSON payload.

use serde::{Deserialize, Serialize};
use tv_protocol::ErrorCode;

use crate::config::Priority;
use crate::ticket::{Action, Source, Status};

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
    /// An API token was issued.
    TokenCreated {
        /// The token's public id (never the secret).
        token: String,
        /// The role it carries.
        role: String,
        /// What it is for.
        label: String,
    },
}

impl EventBody {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::TicketRaised { .. } => "ticket_raised",
            EventBody::RequestMerged { .. } => "request_merged",
            EventBody::RequestRejected { .. } => "request_rejected",
            EventBody::TicketStatusChanged { .. } => "ticket_status_changed",
            EventBody::TicketCommented { .. } => "ticket_commented",
            EventBody::TicketRated { .. } => "ticket_rated",
            EventBody::DoNotDisturbChanged { .. } => "do_not_disturb_changed",
            EventBody::ControllerPointWritten { .. } => "controller_point_written",
            EventBody::TokenCreated { .. } => "token_created",
        }
    }

    /// The ticket the event belongs to, if any.
    pub fn ticket(&self) -> Option<&str> {
        match self {
            EventBody::TicketRaised { ticket, .. }
            | EventBody::RequestMerged { ticket, .. }
            | EventBody::TicketStatusChanged { ticket, .. }
            | EventBody::TicketCommented { ticket, .. }
            | EventBody::TicketRated { ticket, .. } => Some(ticket),
            EventBody::RequestRejected { .. }
            | EventBody::DoNotDisturbChanged { .. }
            | EventBody::ControllerPointWritten { .. }
            | EventBody::TokenCreated { .. } => None,
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
    /// Who caused it (`tv:{device}`, `token:{id}`, `cli`, `system`).
    pub actor: String,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_tag_matches_kind() {
        let bodies = [
            EventBody::TicketCommented { ticket: "A-1".into(), text: "x".into() },
            EventBody::TokenCreated { token: "t".into(), role: "admin".into(), label: "l".into() },
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
