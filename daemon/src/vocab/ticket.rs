//! A ticket's status, the staff actions that move it, and where it came from.

use serde::{Deserialize, Serialize};

/// Where a ticket's status stands in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
        match self {
            Status::New => "new",
            Status::Assigned => "assigned",
            Status::Acknowledged => "acknowledged",
            Status::InProgress => "in_progress",
            Status::OnHold => "on_hold",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
            Status::Reopened => "reopened",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether work is still owed on a ticket in this status.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed | Status::Cancelled)
    }
}

/// A staff action that moves a ticket through its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Start => "start",
            Action::Hold => "hold",
            Action::Resume => "resume",
            Action::Resolve => "resolve",
            Action::Close => "close",
            Action::Reopen => "reopen",
            Action::Cancel => "cancel",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Where a ticket came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
        match self {
            Source::Tv => "tv",
            Source::Kiosk => "kiosk",
            Source::Grms => "grms",
            Source::Staff => "staff",
            Source::Api => "api",
            Source::Alert => "alert",
            Source::System => "system",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }
}
