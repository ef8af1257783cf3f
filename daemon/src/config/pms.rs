//! `[pms]`: the link with the hotel's property management system over FIAS, what its records mean here (VIP
//! codes, departure cleaning, stale requests), and how long guests' personal data is kept.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::errors::{ConfigError, SourceMap};
use crate::vocab::GuestTier;
use crate::vocab::{CatalogItem, Location};

/// Who opens the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkMode {
    /// Bellhop connects to the PMS's interface port.
    Client,
    /// Bellhop listens and the PMS connects.
    Server,
}

/// `[pms]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPms {
    pub mode: LinkMode,
    pub address: String,
    #[serde(default)]
    pub lrc: bool,
    #[serde(default = "default_family")]
    pub interface_family: String,
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u64,
    #[serde(default = "default_answer")]
    pub answer_timeout_s: u64,
    #[serde(default = "default_backoff_max")]
    pub reconnect_max_s: u64,
    #[serde(default = "default_outage")]
    pub outage_after_s: u64,
    pub outage_item: Option<String>,
    pub outage_location: Option<String>,
    #[serde(default)]
    pub vip_codes: BTreeMap<String, GuestTier>,
    pub departure_item: Option<String>,
    #[serde(default)]
    pub close_stale_on_check_in: bool,
    #[serde(default = "default_retain")]
    pub retain_days: u32,
    #[serde(default = "default_prune_every")]
    pub prune_every_s: u64,
}

fn default_prune_every() -> u64 {
    3600
}

fn default_family() -> String {
    "WW".into()
}
fn default_keep_alive() -> u64 {
    60
}
fn default_answer() -> u64 {
    30
}
fn default_backoff_max() -> u64 {
    60
}
fn default_outage() -> u64 {
    300
}
fn default_retain() -> u32 {
    30
}

/// `[pms]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Pms {
    /// Who connects.
    pub mode: LinkMode,
    /// Client: the PMS's `host:port`; server: the address to listen on.
    pub address: String,
    /// Whether each frame carries an LRC byte after ETX.
    pub lrc: bool,
    /// `IF` in the link description.
    pub interface_family: String,
    /// How often Bellhop sends LA, and half of how long the link may stay silent before it is restarted.
    pub keep_alive: Duration,
    /// How long the PMS has to answer a link start.
    pub answer_timeout: Duration,
    /// The longest wait between connection attempts.
    pub reconnect_max: Duration,
    /// How long the link may be down before one ticket is raised for it.
    pub outage_after: Duration,
    /// The catalog item of that ticket (its department owns the link); none: no ticket.
    pub outage_item: Option<String>,
    /// Where that ticket is raised.
    pub outage_location: Option<String>,
    /// The PMS's VIP codes (`GV`) and the guest tier each gives; a code not listed gives `standard`.
    pub vip_codes: BTreeMap<String, GuestTier>,
    /// The catalog item raised for housekeeping when a guest checks out; none: no ticket.
    pub departure_item: Option<String>,
    /// Whether a check-in cancels requests still open from the room's previous guest.
    pub close_stale_on_check_in: bool,
    /// How long a guest's personal data is kept after check-out.
    pub retain: Duration,
    /// How often data past its retention is looked for (and once shortly after start).
    pub prune_every: Duration,
}

impl Pms {
    /// The tier a VIP code gives.
    pub fn tier_for(&self, vip: Option<&str>) -> GuestTier {
        vip.map(str::trim).filter(|v| !v.is_empty()).and_then(|v| self.vip_codes.get(v).copied()).unwrap_or_default()
    }
}

/// Validates `[pms]` against the catalog and locations.
pub(super) fn validate(
    raw: RawPms,
    catalog: &BTreeMap<String, CatalogItem>,
    locations: &BTreeMap<String, Location>,
    map: &SourceMap<'_>,
    errors: &mut Vec<ConfigError>,
) -> Pms {
    let address_ok =
        raw.address.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !address_ok {
        errors.push(map.at("pms.address", format!("{:?} is not HOST:PORT such as 10.0.0.5:5010", raw.address)));
    }
    if raw.interface_family.len() != 2 || !raw.interface_family.bytes().all(|b| b.is_ascii_alphanumeric()) {
        errors.push(map.at("pms.interface_family", "must be two letters or digits, as the PMS vendor assigns"));
    }
    for (key, value, range) in [
        ("pms.keep_alive_s", raw.keep_alive_s, 1..=3600),
        ("pms.answer_timeout_s", raw.answer_timeout_s, 1..=600),
        ("pms.reconnect_max_s", raw.reconnect_max_s, 1..=3600),
        ("pms.outage_after_s", raw.outage_after_s, 0..=86_400),
        ("pms.prune_every_s", raw.prune_every_s, 1..=86_400),
    ] {
        if !range.contains(&value) {
            errors.push(map.at(key, format!("must be from {} to {} seconds", range.start(), range.end())));
        }
    }
    for (key, item) in [("pms.outage_item", &raw.outage_item), ("pms.departure_item", &raw.departure_item)] {
        if let Some(item) = item {
            if !catalog.contains_key(item) {
                errors.push(map.at(key, format!("no [[catalog]] item has code {item:?}")));
            }
        }
    }
    match (&raw.outage_item, &raw.outage_location) {
        (Some(_), None) => errors.push(map.at("pms.outage_location", "is required with outage_item")),
        (_, Some(location)) if !locations.is_empty() && !locations.contains_key(location) => {
            errors.push(map.at("pms.outage_location", format!("no [[locations]] entry has id {location:?}")))
        }
        _ => {}
    }
    if raw.retain_days > 3650 {
        errors.push(map.at("pms.retain_days", "must be at most 3650 days"));
    }
    Pms {
        mode: raw.mode,
        address: raw.address,
        lrc: raw.lrc,
        interface_family: raw.interface_family,
        keep_alive: Duration::from_secs(raw.keep_alive_s),
        answer_timeout: Duration::from_secs(raw.answer_timeout_s),
        reconnect_max: Duration::from_secs(raw.reconnect_max_s),
        outage_after: Duration::from_secs(raw.outage_after_s),
        outage_item: raw.outage_item,
        outage_location: raw.outage_location,
        vip_codes: raw.vip_codes,
        departure_item: raw.departure_item,
        close_stale_on_check_in: raw.close_stale_on_check_in,
        retain: Duration::from_secs(u64::from(raw.retain_days) * 86_400),
        prune_every: Duration::from_secs(raw.prune_every_s.max(1)),
    }
}
