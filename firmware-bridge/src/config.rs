//! The `[grms]` configuration: maps, controllers and rules, with validation naming the culprit.
//!
//! ```toml
//! [grms]
//! offline_after = 3            # consecutive failed polls before ControllerOffline
//! max_gap = 8                  # registers bridged when merging reads
//! offline_item = "grms.offline"          # ticket for a controller that stops answering
//! make_up_room_item = "hk.cleaning"      # request raised by a make-up-room press
//!
//! [grms.maps]
//! smt-131 = "/etc/bellhop/maps/smt-131.toml"   # relative paths: relative to the config file
//!
//! [[grms.controllers]]
//! id = "rc-101"
//! location = "101"
//! map = "smt-131"
//! tcp = { host = "10.20.1.101", port = 502, unit = 1 }
//! poll_interval_ms = 1000
//! timeout_ms = 1000
//! poll_groups = [{ name = "slow", interval_ms = 60000, points = ["setpoint"] }]
//!
//! [[grms.controllers]]
//! id = "rc-102"
//! location = "102"
//! map = "smt-131"
//! rtu = { device = "/dev/ttyUSB0", baud = 9600, parity = "none", stop_bits = 1, unit = 2 }
//!
//! [[grms.rules]]
//! name = "sos"
//! when = "sos == true"
//! item = "grms.sos"
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::map::{parse_map, DataType, RegisterMap};
use crate::rules::{Rule, RuleConfig};

/// Loaded register maps by the name controllers use in `map = "…"`.
pub type Maps = BTreeMap<String, RegisterMap>;

/// The `[grms]` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrmsConfig {
    /// Map name → map file.
    #[serde(default)]
    pub maps: BTreeMap<String, PathBuf>,
    /// Room controllers.
    #[serde(default)]
    pub controllers: Vec<ControllerConfig>,
    /// Alarm rules; each applies to every controller whose map has the points it reads.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Consecutive failed polls before a controller is reported offline.
    #[serde(default = "default_offline_after")]
    pub offline_after: u32,
    /// Largest hole (in addresses) bridged when merging reads.
    #[serde(default = "default_max_gap")]
    pub max_gap: u16,
    /// The catalog item of the ticket raised when a controller stops answering.
    #[serde(default = "default_offline_item")]
    pub offline_item: String,
    /// The catalog item of the request raised when a guest presses make-up-room.
    #[serde(default = "default_make_up_room_item")]
    pub make_up_room_item: String,
}

/// One controller.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerConfig {
    /// Unique id, e.g. `rc-101`.
    pub id: String,
    /// Location code the tickets are raised for, e.g. a room number.
    pub location: String,
    /// Name of the register map in `[grms.maps]`.
    pub map: String,
    /// Modbus TCP transport (exactly one of `tcp` / `rtu`).
    #[serde(default)]
    pub tcp: Option<TcpConfig>,
    /// Modbus RTU transport (exactly one of `tcp` / `rtu`).
    #[serde(default)]
    pub rtu: Option<RtuConfig>,
    /// Poll interval of points not in a poll group.
    #[serde(default = "default_interval_ms")]
    pub poll_interval_ms: u64,
    /// Time limit of each request.
    #[serde(default = "default_interval_ms")]
    pub timeout_ms: u64,
    /// Points polled at their own interval.
    #[serde(default)]
    pub poll_groups: Vec<PollGroup>,
    /// Whether staff may write this controller's writable points (setpoint, reset) through Bellhop. Off by default.
    #[serde(default)]
    pub allow_writes: bool,
}

/// Modbus TCP endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Unit (slave) id.
    pub unit: u8,
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    /// No parity bit.
    #[default]
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

/// Modbus RTU endpoint on a serial bus.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtuConfig {
    /// Serial device, e.g. `/dev/ttyUSB0`. Controllers naming the same device share one bus task.
    pub device: String,
    /// Baud rate.
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// Parity.
    #[serde(default)]
    pub parity: Parity,
    /// Stop bits (1 or 2).
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// Unit (slave) id, 1-247.
    pub unit: u8,
}

/// Points polled at a different interval.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollGroup {
    /// Group name, for messages.
    pub name: String,
    /// Poll interval.
    pub interval_ms: u64,
    /// Point names.
    pub points: Vec<String>,
}

/// Where a controller is reached, without its unit id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Modbus TCP.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// Modbus RTU.
    Rtu {
        /// Serial device.
        device: String,
        /// Baud rate.
        baud: u32,
        /// Parity.
        parity: Parity,
        /// Stop bits.
        stop_bits: u8,
    },
}

impl ControllerConfig {
    /// The endpoint and unit id, when exactly one transport is configured.
    pub fn endpoint(&self) -> Option<(Endpoint, u8)> {
        match (&self.tcp, &self.rtu) {
            (Some(t), None) => Some((Endpoint::Tcp { host: t.host.clone(), port: t.port }, t.unit)),
            (None, Some(r)) => Some((
                Endpoint::Rtu { device: r.device.clone(), baud: r.baud, parity: r.parity, stop_bits: r.stop_bits },
                r.unit,
            )),
            _ => None,
        }
    }
}

fn default_offline_after() -> u32 {
    3
}
fn default_max_gap() -> u16 {
    8
}
fn default_offline_item() -> String {
    "grms.offline".into()
}
fn default_make_up_room_item() -> String {
    "hk.cleaning".into()
}
fn default_interval_ms() -> u64 {
    1000
}
fn default_port() -> u16 {
    502
}
fn default_baud() -> u32 {
    9600
}
fn default_stop_bits() -> u8 {
    1
}

/// Reads and parses every map file; relative paths are resolved against `base_dir`.
pub fn load_maps(config: &GrmsConfig, base_dir: &Path) -> Result<Maps, Vec<String>> {
    let mut maps = Maps::new();
    let mut errors = Vec::new();
    for (name, path) in &config.maps {
        let path = base_dir.join(path);
        match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| parse_map(&t).map_err(|e| e.to_string()))
        {
            Ok(map) => {
                maps.insert(name.clone(), map);
            }
            Err(e) => errors.push(format!("grms.maps.{name} ({}): {e}", path.display())),
        }
    }
    if errors.is_empty() {
        Ok(maps)
    } else {
        Err(errors)
    }
}

/// Compiles `[[grms.rules]]`.
pub fn compile_rules(config: &GrmsConfig) -> Result<Vec<Rule>, Vec<String>> {
    let mut errors = Vec::new();
    let rules = config
        .rules
        .iter()
        .filter_map(|r| Rule::compile(r).map_err(|e| errors.push(format!("rule `{}`: when: {e}", r.name))).ok())
        .collect();
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// Checks the whole section against the loaded maps. Every message names the controller or rule and the key.
pub fn validate(config: &GrmsConfig, maps: &Maps) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut err = |s: String| errors.push(s);
    if config.offline_after == 0 {
        err("grms: offline_after: must be at least 1".into());
    }
    let mut ids = HashSet::new();
    // device → (settings, units) for RTU buses.
    let mut buses: HashMap<&str, (Endpoint, HashSet<u8>)> = HashMap::new();
    for c in &config.controllers {
        let id = &c.id;
        if id.trim().is_empty() {
            err("controller: id: must not be empty".into());
        }
        if !ids.insert(id.as_str()) {
            err(format!("controller `{id}`: id: duplicate"));
        }
        if c.location.trim().is_empty() {
            err(format!("controller `{id}`: location: must not be empty"));
        }
        if c.poll_interval_ms == 0 {
            err(format!("controller `{id}`: poll_interval_ms: must be positive"));
        }
        if c.timeout_ms == 0 {
            err(format!("controller `{id}`: timeout_ms: must be positive"));
        }
        match (&c.tcp, &c.rtu) {
            (Some(_), Some(_)) | (None, None) => err(format!("controller `{id}`: tcp/rtu: set exactly one transport")),
            (Some(t), None) if t.host.trim().is_empty() => {
                err(format!("controller `{id}`: tcp.host: must not be empty"))
            }
            (None, Some(r)) => {
                if !(1..=247).contains(&r.unit) {
                    err(format!("controller `{id}`: rtu.unit: {} is not a unit id (1-247)", r.unit));
                }
                if r.baud == 0 {
                    err(format!("controller `{id}`: rtu.baud: must be positive"));
                }
                if !(1..=2).contains(&r.stop_bits) {
                    err(format!("controller `{id}`: rtu.stop_bits: must be 1 or 2"));
                }
                let (endpoint, _) = c.endpoint().expect("exactly one transport");
                let (first, units) =
                    buses.entry(r.device.as_str()).or_insert_with(|| (endpoint.clone(), HashSet::new()));
                if *first != endpoint {
                    err(format!(
                        "controller `{id}`: rtu: baud, parity and stop_bits differ from another controller on {}",
                        r.device
                    ));
                }
                if !units.insert(r.unit) {
                    err(format!("controller `{id}`: rtu.unit: {} is already used on {}", r.unit, r.device));
                }
            }
            _ => {}
        }
        let Some(map) = maps.get(&c.map) else {
            err(format!("controller `{id}`: map: no map named `{}` in [grms.maps]", c.map));
            continue;
        };
        let mut grouped = HashSet::new();
        for g in &c.poll_groups {
            if g.interval_ms == 0 {
                err(format!("controller `{id}`: poll_groups `{}`: interval_ms: must be positive", g.name));
            }
            for p in &g.points {
                if map.point(p).is_none() {
                    err(format!(
                        "controller `{id}`: poll_groups `{}`: points: map `{}` has no point `{p}`",
                        g.name, c.map
                    ));
                }
                if !grouped.insert(p.as_str()) {
                    err(format!("controller `{id}`: poll_groups `{}`: points: `{p}` is in two groups", g.name));
                }
            }
        }
    }
    let mut names = HashSet::new();
    for r in &config.rules {
        let name = &r.name;
        if !names.insert(name.as_str()) {
            err(format!("rule `{name}`: name: duplicate"));
        }
        if r.item.trim().is_empty() {
            err(format!("rule `{name}`: item: must not be empty"));
        }
        let rule = match Rule::compile(r) {
            Ok(rule) => rule,
            Err(e) => {
                err(format!("rule `{name}`: when: {e}"));
                continue;
            }
        };
        if !maps.values().any(|m| m.point(&rule.when.point).is_some()) {
            err(format!("rule `{name}`: when: no map has a point `{}`", rule.when.point));
        }
        if let Some(w) = &rule.while_point {
            let points: Vec<_> = maps.values().filter_map(|m| m.point(w)).collect();
            if points.is_empty() {
                err(format!("rule `{name}`: while: no map has a point `{w}`"));
            } else if points.iter().any(|p| p.data_type != DataType::Bool) {
                err(format!("rule `{name}`: while: point `{w}` must be of type bool"));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Daemon {
        grms: GrmsConfig,
    }

    const MAP: &str = r#"
        model = "T"
        [[points]]
        name = "sos"
        kind = "holding_register"
        address = 11
        type = "bool"
        [[points]]
        name = "temp"
        kind = "holding_register"
        address = 9
        type = "i16"
        scale = 0.1
    "#;

    fn maps() -> Maps {
        [("t".to_string(), parse_map(MAP).unwrap())].into_iter().collect()
    }

    #[test]
    fn parses_embedded_section_with_defaults() {
        let d: Daemon = toml::from_str(
            r#"
            [grms]
            [grms.maps]
            t = "maps/t.toml"
            [[grms.controllers]]
            id = "rc-101"
            location = "101"
            map = "t"
            tcp = { host = "10.0.0.1", unit = 1 }
            [[grms.controllers]]
            id = "rc-102"
            location = "102"
            map = "t"
            rtu = { device = "/dev/ttyUSB0", unit = 2 }
            poll_groups = [{ name = "slow", interval_ms = 60000, points = ["temp"] }]
            [[grms.rules]]
            name = "sos"
            when = "sos == true"
            item = "grms.sos"
            [[grms.rules]]
            name = "hot"
            when = "temp > 28"
            on_delay_s = 900
            item = "grms.hot"
            on_clear = "annotate"
            "#,
        )
        .unwrap();
        let g = d.grms;
        assert_eq!((g.offline_after, g.max_gap), (3, 8));
        let c = &g.controllers[0];
        assert_eq!((c.poll_interval_ms, c.timeout_ms), (1000, 1000));
        assert_eq!(c.endpoint(), Some((Endpoint::Tcp { host: "10.0.0.1".into(), port: 502 }, 1)));
        let (e, unit) = g.controllers[1].endpoint().unwrap();
        assert_eq!(e, Endpoint::Rtu { device: "/dev/ttyUSB0".into(), baud: 9600, parity: Parity::None, stop_bits: 1 });
        assert_eq!(unit, 2);
        assert_eq!(validate(&g, &maps()), Ok(()));
        assert_eq!(compile_rules(&g).unwrap().len(), 2);
    }

    #[test]
    fn errors_name_controller_rule_and_key() {
        let d: Daemon = toml::from_str(
            r#"
            [[grms.controllers]]
            id = "a"
            location = ""
            map = "nope"
            [[grms.controllers]]
            id = "a"
            location = "1"
            map = "t"
            rtu = { device = "/dev/x", unit = 0 }
            poll_groups = [{ name = "g", interval_ms = 10, points = ["ghost"] }]
            [[grms.controllers]]
            id = "b"
            location = "2"
            map = "t"
            rtu = { device = "/dev/x", unit = 5, baud = 19200 }
            [[grms.rules]]
            name = "r1"
            when = "ghost == 1"
            while = "temp"
            item = "x"
            [[grms.rules]]
            name = "r2"
            when = "temp >>> 1"
            item = "x"
            "#,
        )
        .unwrap();
        let errs = validate(&d.grms, &maps()).unwrap_err();
        let expect = [
            "controller `a`: location",
            "controller `a`: tcp/rtu",
            "controller `a`: map: no map named `nope`",
            "controller `a`: id: duplicate",
            "controller `a`: rtu.unit: 0",
            "controller `a`: poll_groups `g`: points: map `t` has no point `ghost`",
            "controller `b`: rtu: baud",
            "rule `r1`: when: no map has a point `ghost`",
            "rule `r1`: while: point `temp` must be of type bool",
            "rule `r2`: when:",
        ];
        for e in expect {
            assert!(errs.iter().any(|m| m.starts_with(e)), "missing {e:?} in {errs:#?}");
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = toml::from_str::<Daemon>("[grms]\nmpas = {}\n").err().unwrap();
        assert!(e.to_string().contains("mpas"), "{e}");
        let e = toml::from_str::<Daemon>("[[grms.rules]]\nname='x'\nwhen='a == 1'\nitem='i'\ndelay=3\n").err().unwrap();
        assert!(e.to_string().contains("delay"), "{e}");
    }

    #[test]
    fn loads_map_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.toml"), MAP).unwrap();
        let g: GrmsConfig = toml::from_str("maps = { t = 't.toml', u = 'missing.toml' }").unwrap();
        let errs = load_maps(&g, dir.path()).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("grms.maps.u"), "{errs:?}");
        let g: GrmsConfig = toml::from_str("maps = { t = 't.toml' }").unwrap();
        assert_eq!(load_maps(&g, dir.path()).unwrap()["t"].points.len(), 2);
    }
}
