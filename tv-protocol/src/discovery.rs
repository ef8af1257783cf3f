//! mDNS / DNS-SD: the service types and TXT keys devices and the gateway advertise.

use crate::id::validate_id;
use crate::{PROTOCOL_REVISION, PROTOCOL_VERSION};

/// The service type devices advertise.
pub const DEVICE_SERVICE: &str = "_bellhop-dev._tcp.local.";
/// The service type the gateway advertises.
pub const GATEWAY_SERVICE: &str = "_bellhop-gw._tcp.local.";

/// What the gateway puts in its TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayAdvert {
    /// `mqtt`: the broker's port.
    pub mqtt_port: u16,
    /// `api`: the HTTP API's port.
    pub api_port: u16,
    /// `site`: the site code.
    pub site: String,
}

impl GatewayAdvert {
    /// The TXT key/value pairs, `proto` and `rev` (the revision of v1 the gateway speaks) included.
    pub fn txt(&self) -> Vec<(&'static str, String)> {
        vec![
            ("mqtt", self.mqtt_port.to_string()),
            ("api", self.api_port.to_string()),
            ("site", self.site.clone()),
            ("proto", PROTOCOL_VERSION.to_string()),
            ("rev", PROTOCOL_REVISION.to_string()),
        ]
    }
}

/// The kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// An in-room TV or set-top box.
    Tv,
    /// A kiosk in a public area.
    Kiosk,
    /// A tablet.
    Tablet,
}

impl DeviceKind {
    /// The TXT value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Tv => "tv",
            DeviceKind::Kiosk => "kiosk",
            DeviceKind::Tablet => "tablet",
        }
    }

    fn parse(s: &str) -> Option<DeviceKind> {
        [DeviceKind::Tv, DeviceKind::Kiosk, DeviceKind::Tablet].into_iter().find(|k| k.as_str() == s)
    }
}

/// What a device says about itself in its TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAdvert {
    /// `loc`: the location it claims.
    pub location: String,
    /// `dev`: its device id (the one in its topics).
    pub device: String,
    /// `kind`.
    pub kind: DeviceKind,
    /// `model`, free text.
    pub model: String,
    /// `fw`, free text.
    pub firmware: String,
    /// `proto`: the protocol version it speaks.
    pub proto: u32,
}

/// The longest free-text TXT value kept (DNS-SD values are at most 255 bytes anyway).
const MAX_TXT_TEXT: usize = 128;

/// Reads a device's TXT record. `loc`, `dev`, `kind` and `proto` are required; `model` and `fw` default to empty.
/// A key that appears more than once (in any case) counts only at its first occurrence, as DNS-SD requires
/// (RFC 6763, section 6.4): a later `LOC=102` never overrides `loc=101`.
pub fn parse_device_txt<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<DeviceAdvert, String> {
    let (mut location, mut device, mut kind, mut model, mut firmware, mut proto) = (None, None, None, None, None, None);
    for (key, value) in pairs {
        let slot = match key.to_ascii_lowercase().as_str() {
            "loc" => &mut location,
            "dev" => &mut device,
            "kind" => &mut kind,
            "model" => &mut model,
            "fw" => &mut firmware,
            "proto" => &mut proto,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    let (model, firmware) = (model.unwrap_or(""), firmware.unwrap_or(""));
    let id = |key: &str, value: Option<&str>| {
        let value = value.ok_or_else(|| format!("TXT {key} is missing"))?;
        validate_id(value).map_err(|e| format!("TXT {key} {value:?} {e}"))?;
        Ok::<_, String>(value.to_owned())
    };
    let kind = kind.ok_or("TXT kind is missing")?;
    let kind = DeviceKind::parse(kind).ok_or_else(|| format!("TXT kind {kind:?} is not tv, kiosk or tablet"))?;
    let proto = proto.ok_or("TXT proto is missing")?;
    let proto = proto.parse().map_err(|_| format!("TXT proto {proto:?} is not a version number"))?;
    let text = |s: &str| s.chars().filter(|c| !c.is_control()).take(MAX_TXT_TEXT).collect();
    Ok(DeviceAdvert {
        location: id("loc", location)?,
        device: id("dev", device)?,
        kind,
        model: text(model),
        firmware: text(firmware),
        proto,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_complete_record() {
        let advert = parse_device_txt([
            ("loc", "1204"),
            ("dev", "tv-1204"),
            ("kind", "tv"),
            ("model", "Vendor X1"),
            ("fw", "2.3"),
            ("proto", "1"),
            ("other", "x"),
        ])
        .unwrap();
        assert_eq!(advert.location, "1204");
        assert_eq!(advert.kind, DeviceKind::Tv);
        assert_eq!(advert.proto, 1);
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(parse_device_txt([("dev", "d"), ("kind", "tv"), ("proto", "1")]).unwrap_err().contains("loc"));
        assert!(parse_device_txt([("loc", "1"), ("dev", "d"), ("kind", "fridge"), ("proto", "1")])
            .unwrap_err()
            .contains("fridge"));
        assert!(parse_device_txt([("loc", "1 2"), ("dev", "d"), ("kind", "tv"), ("proto", "1")]).is_err());
    }

    #[test]
    fn a_repeated_key_counts_only_at_its_first_occurrence() {
        let twice = parse_device_txt([("loc", "101"), ("dev", "d"), ("kind", "tv"), ("LOC", "102"), ("proto", "1")]);
        assert_eq!(twice.unwrap().location, "101");
        let bad_later =
            [("loc", "1"), ("dev", "d"), ("kind", "tv"), ("kind", "fridge"), ("proto", "1"), ("proto", "x")];
        let advert = parse_device_txt(bad_later).unwrap();
        assert_eq!((advert.kind, advert.proto), (DeviceKind::Tv, 1));
        let bad_first = [("loc", "1 2"), ("loc", "1"), ("dev", "d"), ("kind", "tv"), ("proto", "1")];
        assert!(parse_device_txt(bad_first).is_err(), "a later good value does not repair a bad first one");
    }

    #[test]
    fn gateway_txt_has_the_documented_keys() {
        let txt = GatewayAdvert { mqtt_port: 1883, api_port: 8080, site: "HTL1".into() }.txt();
        let keys: Vec<_> = txt.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["mqtt", "api", "site", "proto", "rev"]);
    }
}
