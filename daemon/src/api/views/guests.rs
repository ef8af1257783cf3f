//! Guests' personal data as a data-protection officer exports it, erasure's answer, and housekeeping's room status.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::guests::GuestRecord;

/// Housekeeping's status of a room.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomStatusBody {
    /// `dirty`, `cleaned` or `inspected`.
    pub status: String,
}

/// A room status as recorded (and sent to the PMS).
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomStatusView {
    /// The location id.
    pub location: String,
    /// `dirty`, `cleaned` or `inspected`.
    pub status: String,
}

/// Everything Bellhop holds about one guest beside the journal.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestDataView {
    /// Bellhop's reference, the only way journal events name the guest.
    pub reference: String,
    /// The room.
    pub location: String,
    /// The PMS's reservation number.
    pub reservation: Option<String>,
    /// Surname.
    pub name: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Language, as the PMS gave it.
    pub language: Option<String>,
    /// The PMS's VIP code.
    pub vip: Option<String>,
    /// Arrival date.
    pub arrival: Option<String>,
    /// Departure date.
    pub departure: Option<String>,
    /// When the guest checked in (UTC).
    pub checked_in_at: String,
    /// When the guest checked out (UTC); null while in house.
    pub checked_out_at: Option<String>,
}

impl From<GuestRecord> for GuestDataView {
    fn from(g: GuestRecord) -> GuestDataView {
        GuestDataView {
            reference: g.reference,
            location: g.location,
            reservation: g.reservation,
            name: g.name,
            first_name: g.first_name,
            language: g.language,
            vip: g.vip,
            arrival: g.arrival,
            departure: g.departure,
            checked_in_at: g.checked_in_at,
            checked_out_at: g.checked_out_at,
        }
    }
}

/// The guests a reference or reservation number names.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestDataList {
    /// Oldest stay first.
    pub guests: Vec<GuestDataView>,
}

/// What an erasure deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestsErasedView {
    /// The references whose personal data was deleted.
    pub erased: Vec<String>,
}
