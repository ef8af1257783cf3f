//! Devices as the API shows them.

use serde::Serialize;
use utoipa::ToSchema;

use super::schema;
use crate::vocab::{Device, DeviceState};

/// A TV, kiosk or tablet, with its binding to a location (see docs/devices.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    /// Its id (the `{device}` of its topics, TXT `dev`).
    pub id: String,
    /// `tv`, `kiosk`, `tablet`, or empty when only seen over MQTT.
    pub kind: String,
    /// The location it last claimed.
    pub claim: Option<String>,
    /// The location it may speak for; null until bound.
    pub bound: Option<String>,
    #[schema(schema_with = schema::device_state)]
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
    /// The ticket raised for its current outage.
    pub offline_ticket: Option<String>,
    /// First journaled observation (UTC).
    pub first_seen: String,
    /// The last journaled change (UTC).
    pub last_seen: String,
    /// When it went offline, while it is (UTC).
    pub offline_since: Option<String>,
}

impl From<Device> for DeviceView {
    fn from(d: Device) -> DeviceView {
        DeviceView {
            id: d.id,
            kind: d.kind,
            claim: d.claim,
            bound: d.bound,
            state: d.state,
            model: d.model,
            firmware: d.firmware,
            addresses: d.addresses,
            online: d.online,
            mdns: d.mdns,
            presence: d.presence,
            offline_ticket: d.offline_ticket,
            first_seen: d.first_seen,
            last_seen: d.last_seen,
            offline_since: d.offline_since,
        }
    }
}

/// The inventory, sorted by device id.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    /// The devices.
    pub devices: Vec<DeviceView>,
}
