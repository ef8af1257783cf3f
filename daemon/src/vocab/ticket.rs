//! A ticket's status, the staff actions that move it, and where it came from.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

/// Where a ticket's status stands in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr, EnumString, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    /// Raised, not yet given to anyone.
    New,
    /// Given to a member of staff.
    Assigned,
    /// Staff have seen it and taken it on.
    Acknowledged,
    /// Work is under way.
    InProgress,
    /// Waiting on the guest or on parts; pauses the SLA clock.
    OnHold,
    /// The work is done.
    Resolved,
    /// Resolved and closed for good.
    Closed,
    /// Withdrawn by the guest or staff.
    Cancelled,
    /// Resolved or closed, then opened again.
    Reopened,
}

impl Status {
    /// Every status, in life-cycle order.
    pub const ALL: [Status; 9] = [
        Status::New,
        Status::Assigned,
        Status::Acknowledged,
        Status::InProgress,
        Status::OnHold,
        Status::Resolved,
        Status::Closed,
        Status::Cancelled,
        Status::Reopened,
    ];

    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Status> {
        s.parse().ok()
    }

    /// Whether work is still owed on a ticket in this status.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed | Status::Cancelled)
    }
}

/// A staff action that moves a ticket through its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr, EnumString, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// Take the ticket on.
    Acknowledge,
    /// Start the work.
    Start,
    /// Put on hold (pauses the SLA clock).
    Hold,
    /// Come back from hold.
    Resume,
    /// Mark the work done.
    Resolve,
    /// Close a resolved ticket.
    Close,
    /// Open a resolved or closed ticket again.
    Reopen,
    /// Withdraw the ticket.
    Cancel,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 8] = [
        Action::Acknowledge,
        Action::Start,
        Action::Hold,
        Action::Resume,
        Action::Resolve,
        Action::Close,
        Action::Reopen,
        Action::Cancel,
    ];

    /// The spelling used in API paths (`POST /api/v1/tickets/{n}/acknowledge`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<Action> {
        s.parse().ok()
    }
}

/// Where a ticket came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr, EnumString, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Source {
    /// A guest's TV.
    Tv,
    /// A lobby kiosk or tablet.
    Kiosk,
    /// A room controller.
    Grms,
    /// A staff terminal.
    Staff,
    /// Another system over the API.
    Api,
    /// A monitoring alert.
    Alert,
    /// Bellhop itself (device or controller offline, for example).
    System,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 7] =
        [Source::Tv, Source::Kiosk, Source::Grms, Source::Staff, Source::Api, Source::Alert, Source::System];

    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Source> {
        s.parse().ok()
    }
}

/// How a ticket came to its assignee, or to its department's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr, EnumString, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AssignmentKind {
    /// Chosen automatically when the ticket was raised or a queue drained.
    Auto,
    /// Given by a supervisor.
    Manual,
    /// Handed on automatically when its assignee went off duty or on a break.
    Handoff,
    /// Nobody could take it: it waits in its department's queue.
    Queued,
}

impl AssignmentKind {
    /// Every kind.
    pub const ALL: [AssignmentKind; 4] =
        [AssignmentKind::Auto, AssignmentKind::Manual, AssignmentKind::Handoff, AssignmentKind::Queued];

    /// The spelling in JSON: `auto`, `manual`, `handoff` or `queued`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<AssignmentKind> {
        s.parse().ok()
    }
}
