//! A device as the gateway knows it: the record the device rules decide on and the store projects.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

/// A device as the projection holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Its id (the `{device}` of its topics, TXT `dev`).
    pub id: String,
    /// `tv`, `kiosk`, `tablet`, or empty when only seen over MQTT.
    pub kind: String,
    /// The location it last claimed (TXT `loc`, or its topic).
    pub claim: Option<String>,
    /// The location it may speak for; `None` until bound.
    pub bound: Option<String>,
    /// Where its binding stands.
    pub state: DeviceState,
    /// TXT `model`.
    pub model: String,
    /// TXT `fw`.
    pub firmware: String,
    /// Its addresses, as last resolved.
    pub addresses: Vec<String>,
    /// Whether it is online (mDNS present or MQTT presence `online`).
    pub online: bool,
    /// Whether mDNS currently has it.
    pub mdns: bool,
    /// Its MQTT presence, when it has published one.
    pub presence: Option<bool>,
    /// The ticket raised for its current outage, if any.
    pub offline_ticket: Option<String>,
    /// First and last journaled observation (UTC).
    pub first_seen: String,
    /// The last journaled change.
    pub last_seen: String,
    /// When it went offline, while it is.
    pub offline_since: Option<String>,
}

/// Where a device's binding stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr, EnumString, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DeviceState {
    /// Bound to a location it may speak for.
    Bound,
    /// Awaiting an installer (or a claim of a location the property knows).
    Unbound,
    /// An unknown device held back until an installer binds it.
    Quarantined,
    /// Its claim differs from its binding.
    Conflict,
}

impl DeviceState {
    /// Every state.
    pub const ALL: [DeviceState; 4] =
        [DeviceState::Bound, DeviceState::Unbound, DeviceState::Quarantined, DeviceState::Conflict];

    /// The spelling in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<DeviceState> {
        s.parse().ok()
    }
}
