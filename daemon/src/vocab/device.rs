//! A device as the gateway knows it: the record the device rules decide on and the store projects.

use serde::Serialize;

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
    /// `bound`, `unbound` (awaiting an installer), `quarantined` (unknown device held back), or `conflict` (its
    /// claim differs from its binding).
    pub state: String,
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
