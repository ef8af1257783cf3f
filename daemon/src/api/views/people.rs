//! The roster, duty, and the location settings staff change (guest tier, do-not-disturb).

use serde::Serialize;
use utoipa::ToSchema;

use super::schema;
use crate::vocab::{Duty, GuestTier, Role};

/// Everyone on the roster.
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterView {
    /// Sorted by id.
    pub staff: Vec<StaffMemberView>,
}

/// One member of staff with their duty and load.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffMemberView {
    /// Their staff id.
    pub id: String,
    /// Their name.
    pub name: String,
    #[schema(schema_with = schema::staff_role)]
    pub role: Role,
    /// Their departments.
    pub departments: Vec<String>,
    /// Their skills.
    pub skills: Vec<String>,
    /// The most open tickets they are given automatically.
    pub max_open: u32,
    #[schema(schema_with = schema::duty)]
    pub duty: Duty,
    /// Since when (UTC); null for someone who never clocked in.
    pub since: Option<String>,
    /// Whether their shifts and exceptions cover the present moment.
    pub scheduled: bool,
    /// Their open tickets.
    pub open: u32,
    /// Those tickets' weights (critical 8, high 4, medium 2, low 1).
    pub load: u32,
}

/// A member of staff's duty after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct DutyView {
    /// Their staff id.
    pub staff: String,
    #[schema(schema_with = schema::duty)]
    pub duty: Duty,
    /// Since when (UTC).
    pub since: Option<String>,
}

/// A location's guest tier after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestTierView {
    /// The location id.
    pub location: String,
    #[schema(schema_with = schema::guest_tier)]
    pub guest_tier: GuestTier,
}

/// A location's do-not-disturb after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct DndView {
    /// The location id.
    pub location: String,
    /// Whether do-not-disturb is on.
    pub dnd: bool,
}
