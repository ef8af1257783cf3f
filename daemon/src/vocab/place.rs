//! The places and the catalog the engines decide on: locations with their kind and class, and catalog items.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Priority;

/// One thing a guest or a controller can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    /// The code devices send, e.g. `hk.towels`.
    pub code: String,
    /// A grouping for reports and menus.
    pub category: String,
    /// The department that owns its tickets.
    pub department: String,
    /// The default priority.
    pub priority: Priority,
    /// The estimate told to the guest, in minutes.
    pub eta_min: Option<u32>,
    /// The largest quantity one request may ask for.
    pub max_qty: u8,
    /// The SLA policy its tickets follow, unless a routing rule says otherwise; chosen by precedence when `None`.
    pub sla: Option<String>,
    /// The skill staff need to take its tickets, unless a routing rule says otherwise.
    pub skill: Option<String>,
    /// Whether it is an emergency (SOS, fire, medical).
    pub emergency: bool,
    /// Whether guests may ask for it from a device (it is on the menu); internal items (controller alarms,
    /// device outages) are not.
    pub guest: bool,
    /// The menu label per language tag.
    pub labels: BTreeMap<String, String>,
}

/// A room or an area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Its id, as used in device topics.
    pub id: String,
    /// Room or area.
    pub kind: LocationKind,
    /// Building, when the property has several.
    pub building: Option<String>,
    /// Wing.
    pub wing: Option<String>,
    /// Floor.
    pub floor: Option<i32>,
    /// Standard, suite or VIP.
    pub class: LocationClass,
}

/// A guest room or a public or back-of-house area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// A guest room, patient room or office.
    Room,
    /// A lobby, corridor, pool, kitchen or other area.
    Area,
}

/// The class of a location, for routing and SLAs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationClass {
    /// An ordinary room or area.
    #[default]
    Standard,
    /// A suite.
    Suite,
    /// A room kept for VIP guests.
    Vip,
}

/// A room's occupancy, as the PMS link reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Occupancy {
    /// No PMS has described the room (no link, or not a room).
    #[default]
    Unknown,
    /// Nobody is checked in.
    Vacant,
    /// A guest is checked in.
    Occupied,
    /// A guest is checked in and due to leave today (or overdue).
    DueOut,
}

impl Occupancy {
    /// Every value.
    pub const ALL: [Occupancy; 4] = [Occupancy::Unknown, Occupancy::Vacant, Occupancy::Occupied, Occupancy::DueOut];

    /// The spelling in files, JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Occupancy::Unknown => "unknown",
            Occupancy::Vacant => "vacant",
            Occupancy::Occupied => "occupied",
            Occupancy::DueOut => "due_out",
        }
    }
}
