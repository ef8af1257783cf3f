//! The configuration file exactly as written: serde structs that refuse unknown keys. `mod.rs` validates them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::vocab::{LocationClass, LocationKind, Priority};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub site: RawSite,
    pub mqtt: RawMqtt,
    pub storage: RawStorage,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub departments: Vec<RawDepartment>,
    #[serde(default)]
    pub catalog: Vec<RawCatalogItem>,
    #[serde(default)]
    pub locations: Vec<RawLocation>,
    pub grms: Option<firmware_bridge::GrmsConfig>,
    #[serde(default)]
    pub devices: RawDevices,
    pub sync: Option<super::sync::SyncConfig>,
    pub pms: Option<super::pms::RawPms>,
    #[serde(default)]
    pub shifts: Vec<RawShift>,
    #[serde(default)]
    pub staff: Vec<RawStaff>,
    #[serde(default)]
    pub contacts: Vec<RawContact>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    #[serde(default)]
    pub sla: Vec<RawSla>,
    #[serde(default)]
    pub escalations: Vec<RawEscalation>,
    pub notifications: Option<super::notify::RawNotifications>,
    pub alerts: Option<super::notify::RawAlerts>,
    #[serde(default)]
    pub signin: super::signin::RawSignin,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevices {
    #[serde(default)]
    pub binding: crate::engine::devices::Binding,
    #[serde(default)]
    pub unknown: crate::engine::devices::Unknown,
    #[serde(default = "default_grace")]
    pub offline_grace_s: u64,
    pub offline_hours: Option<String>,
    pub offline_item: Option<String>,
    #[serde(default = "default_requery")]
    pub requery_s: u64,
    #[serde(default)]
    pub mdns: RawMdns,
}

impl Default for RawDevices {
    fn default() -> Self {
        RawDevices {
            binding: Default::default(),
            unknown: Default::default(),
            offline_grace_s: default_grace(),
            offline_hours: None,
            offline_item: None,
            requery_s: default_requery(),
            mdns: RawMdns::default(),
        }
    }
}

fn default_grace() -> u64 {
    300
}

fn default_requery() -> u64 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMdns {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "yes")]
    pub advertise: bool,
    #[serde(default)]
    pub interfaces: Vec<String>,
    #[serde(default)]
    pub extra_service_types: Vec<String>,
    #[serde(default = "default_mdns_port")]
    pub port: u16,
    pub instance: Option<String>,
    pub mqtt_port: Option<u16>,
}

impl Default for RawMdns {
    fn default() -> Self {
        RawMdns {
            enabled: true,
            advertise: true,
            interfaces: Vec::new(),
            extra_service_types: Vec::new(),
            port: default_mdns_port(),
            instance: None,
            mqtt_port: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_mdns_port() -> u16 {
    5353
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    pub code: String,
    pub name: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

fn default_time_zone() -> String {
    "UTC".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
    pub url: String,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_topic_root")]
    pub topic_root: String,
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u16,
}

fn default_topic_root() -> String {
    tv_protocol::DEFAULT_ROOT.into()
}

fn default_keep_alive() -> u16 {
    30
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    pub data_dir: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default = "default_header_timeout")]
    pub header_timeout_s: u64,
    #[serde(default = "default_body_timeout")]
    pub body_timeout_s: u64,
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_s: u64,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

impl Default for RawHttp {
    fn default() -> Self {
        RawHttp {
            listen: default_listen(),
            header_timeout_s: default_header_timeout(),
            body_timeout_s: default_body_timeout(),
            idle_timeout_s: default_idle_timeout(),
            max_connections: default_max_connections(),
        }
    }
}

fn default_header_timeout() -> u64 {
    10
}

fn default_body_timeout() -> u64 {
    30
}

fn default_idle_timeout() -> u64 {
    5
}

fn default_max_connections() -> u32 {
    512
}

fn default_listen() -> String {
    "0.0.0.0:8080".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    #[serde(default = "default_level")]
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog { level: default_level() }
    }
}

fn default_level() -> String {
    "info".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    #[serde(default = "default_max_open")]
    pub max_open_per_location: u32,
    #[serde(default = "default_device_per_minute")]
    pub device_per_minute: u32,
    #[serde(default = "default_device_burst")]
    pub device_burst: u32,
    #[serde(default = "default_location_per_minute")]
    pub location_per_minute: u32,
    #[serde(default = "default_location_burst")]
    pub location_burst: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            max_open_per_location: default_max_open(),
            device_per_minute: default_device_per_minute(),
            device_burst: default_device_burst(),
            location_per_minute: default_location_per_minute(),
            location_burst: default_location_burst(),
        }
    }
}

fn default_device_per_minute() -> u32 {
    6
}

fn default_device_burst() -> u32 {
    10
}

fn default_location_per_minute() -> u32 {
    12
}

fn default_location_burst() -> u32 {
    20
}

fn default_max_open() -> u32 {
    50
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDepartment {
    pub code: String,
    pub name: String,
    /// Opening hours per weekday (`mon = "08:00-18:00"`); open around the clock when absent.
    pub hours: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub holidays: Vec<String>,
    #[serde(default)]
    pub pause_on_dnd: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShift {
    pub name: String,
    #[serde(default)]
    pub days: Vec<String>,
    pub hours: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStaff {
    pub id: String,
    pub name: String,
    #[serde(default = "default_staff_role")]
    pub role: String,
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default = "default_max_open_staff")]
    pub max_open: u32,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub shifts: Vec<String>,
    #[serde(default)]
    pub exceptions: Vec<RawException>,
}

fn default_staff_role() -> String {
    "staff".into()
}

fn default_max_open_staff() -> u32 {
    10
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawException {
    pub date: String,
    pub hours: Option<String>,
    #[serde(default)]
    pub off: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContact {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: String,
    #[serde(default)]
    pub items: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<LocationKind>,
    #[serde(default)]
    pub buildings: Vec<String>,
    #[serde(default)]
    pub wings: Vec<String>,
    #[serde(default)]
    pub floors: Vec<i32>,
    #[serde(default)]
    pub classes: Vec<LocationClass>,
    #[serde(default)]
    pub sources: Vec<crate::vocab::Source>,
    #[serde(default)]
    pub guest_tiers: Vec<crate::vocab::GuestTier>,
    #[serde(default)]
    pub occupancy: Vec<crate::vocab::Occupancy>,
    #[serde(default)]
    pub days: Vec<String>,
    pub hours: Option<String>,
    #[serde(default)]
    pub shifts: Vec<String>,
    pub department: Option<String>,
    pub priority: Option<Priority>,
    pub sla: Option<String>,
    pub skill: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSla {
    pub name: String,
    pub response: String,
    pub resolution: String,
    #[serde(default = "default_yellow")]
    pub yellow_at: u8,
    pub escalation: Option<String>,
    #[serde(default)]
    pub priorities: Vec<Priority>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub guest_tiers: Vec<crate::vocab::GuestTier>,
    #[serde(default)]
    pub occupancy: Vec<crate::vocab::Occupancy>,
    #[serde(default)]
    pub classes: Vec<LocationClass>,
    #[serde(default)]
    pub sources: Vec<crate::vocab::Source>,
}

fn default_yellow() -> u8 {
    75
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEscalation {
    pub name: String,
    pub levels: Vec<RawLevel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLevel {
    pub after: String,
    #[serde(default = "default_anchor")]
    pub from: String,
    pub to: String,
    pub until: Option<String>,
}

fn default_anchor() -> String {
    "created".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalogItem {
    pub code: String,
    pub category: String,
    pub department: String,
    pub priority: Priority,
    pub eta_min: Option<u32>,
    #[serde(default = "default_max_qty")]
    pub max_qty: u8,
    pub sla: Option<String>,
    pub skill: Option<String>,
    #[serde(default)]
    pub emergency: bool,
    #[serde(default = "yes")]
    pub guest: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_max_qty() -> u8 {
    10
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocation {
    pub id: String,
    pub kind: LocationKind,
    pub building: Option<String>,
    pub wing: Option<String>,
    pub floor: Option<i32>,
    #[serde(default)]
    pub class: LocationClass,
}

/// Head office's configuration document: the sections it manages, each replacing the local file's when present.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManaged {
    pub departments: Option<Vec<RawDepartment>>,
    pub catalog: Option<Vec<RawCatalogItem>>,
    pub locations: Option<Vec<RawLocation>>,
    pub limits: Option<RawLimits>,
    pub shifts: Option<Vec<RawShift>>,
    pub staff: Option<Vec<RawStaff>>,
    pub contacts: Option<Vec<RawContact>>,
    pub rules: Option<Vec<RawRule>>,
    pub sla: Option<Vec<RawSla>>,
    pub escalations: Option<Vec<RawEscalation>>,
}
