//! The API's own request and response types. Store rows and journal events are turned into these before they go
//! out, so the wire format changes only here, and the OpenAPI document is generated from the same types.

mod access;
mod devices;
mod guests;
mod health;
mod people;
mod requests;
mod schema;
mod tickets;

use serde::Serialize;
use utoipa::ToSchema;

pub use access::{
    EndedView, EnrolBody, EnrolledView, EnrolmentBody, EnrolmentCodeView, EnrolmentView, IssueEnrolmentBody, LockList,
    LockView, MeView, NewTokenBody, NewTokenView, SessionList, SessionView, SignInBody, TokenList, TokenView, UserList,
    UserView,
};
pub use devices::{DeviceList, DeviceView};
pub use guests::{GuestDataList, GuestDataView, GuestsErasedView, RoomStatusBody, RoomStatusView};
pub use health::{HealthView, JournalHealth, MqttHealth, NotReadyView, PullStatusView, ReadyView, SyncStatusView};
pub use people::{DndView, DutyView, GuestTierView, RosterView, StaffMemberView};
pub use requests::{
    ActionBody, AssignBody, BindBody, CommentBody, DndBody, DutyBody, GuestTierBody, NewTicketBody, PointBody,
};
pub use tickets::{
    AssignmentView, Candidate, Candidates, HistoryEntry, RoutedView, RoutingExplanation, RoutingView, SkippedRule,
    TicketChange, TicketDetail, TicketPage, TicketView,
};

/// Every error: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The code and the message of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (`bad_request`, `unauthorized`, `not_found`, ...).
    pub code: String,
    /// For people.
    pub message: String,
}

/// `POST /api/v1/admin/reload` applied the configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reloaded {
    /// Always `true`.
    pub reloaded: bool,
}

/// A room controller's point was written.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointWritten {
    /// The controller's id.
    pub controller: String,
    /// The point's name in its register map.
    pub point: String,
    /// The value written, in engineering units.
    #[schema(schema_with = schema::number_or_bool)]
    pub value: serde_json::Value,
    /// The journal event `controller_point_written`.
    pub seq: u64,
}
