//! Register maps: what each point of a controller model is, and where it lives.
//!
//! A map is one TOML file per controller model:
//!
//! ```toml
//! model = "SMT-131"
//!
//! [[points]]
//! name = "setpoint"
//! kind = "holding_register"   # coil | discrete_input | input_register | holding_register
//! address = 8                 # 0-based protocol address: register 40009 is `address = 8`
//! type = "u16"                # bool | u16 | i16 | u32 | i32 | f32
//! scale = 0.1                 # value = raw * scale + offset
//! unit = "°C"
//! writable = true
//! ```
//!
//! **Addresses are always the 0-based number sent on the wire.** Vendor sheets often use the
//! "Modicon" convention (coils 00001…, discrete inputs 10001…, input registers 30001…,
//! holding registers 40001…); subtract the block base and one: holding 40004 → `address = 3`,
//! input 30001 → `address = 0`, coil 00017 → `address = 16`. The `kind` names the block.

use std::collections::HashSet;

use serde::Deserialize;

/// Which Modbus data table a point lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Read/write single bits (function codes 1, 5).
    Coil,
    /// Read-only single bits (function code 2).
    DiscreteInput,
    /// Read-only 16-bit registers (function code 4).
    InputRegister,
    /// Read/write 16-bit registers (function codes 3, 6, 16).
    HoldingRegister,
}

impl Kind {
    /// True for coils and discrete inputs (one bit per address).
    pub fn is_bits(self) -> bool {
        matches!(self, Kind::Coil | Kind::DiscreteInput)
    }

    /// True for the tables a client may write.
    pub fn is_writable(self) -> bool {
        matches!(self, Kind::Coil | Kind::HoldingRegister)
    }
}

/// How the raw register contents are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// A bit (coil, discrete input), a whole register (non-zero = true), or one `bit` of a register.
    Bool,
    /// Unsigned 16-bit register.
    U16,
    /// Signed 16-bit register.
    I16,
    /// Unsigned 32-bit value in two registers.
    U32,
    /// Signed 32-bit value in two registers.
    I32,
    /// IEEE-754 single precision in two registers.
    F32,
}

impl DataType {
    /// Number of registers the type occupies.
    pub fn words(self) -> u16 {
        match self {
            DataType::U32 | DataType::I32 | DataType::F32 => 2,
            _ => 1,
        }
    }
}

/// Order of the two registers of a 32-bit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WordOrder {
    /// High word at the lower address (Modbus convention, "ABCD").
    #[default]
    Big,
    /// Low word at the lower address ("CDAB").
    Little,
}

/// One named value of a controller.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Identifier used by rules and events (`[A-Za-z_][A-Za-z0-9_]*`).
    pub name: String,
    /// Data table.
    pub kind: Kind,
    /// 0-based protocol address (see the module docs).
    pub address: u16,
    /// Interpretation of the raw data.
    #[serde(rename = "type")]
    pub data_type: DataType,
    /// Register order of 32-bit types.
    #[serde(default)]
    pub word_order: WordOrder,
    /// For `type = "bool"` on a register: which bit (0 = least significant).
    #[serde(default)]
    pub bit: Option<u8>,
    /// Multiplier applied to the raw number.
    #[serde(default = "one")]
    pub scale: f64,
    /// Added after scaling.
    #[serde(default)]
    pub offset: f64,
    /// Engineering unit, for display only.
    #[serde(default)]
    pub unit: String,
    /// Whether `write_point` may write this point.
    #[serde(default)]
    pub writable: bool,
}

fn one() -> f64 {
    1.0
}

impl Point {
    /// Number of addresses (bits or registers) the point occupies.
    pub fn width(&self) -> u16 {
        if self.kind.is_bits() {
            1
        } else {
            self.data_type.words()
        }
    }
}

/// Model-specific mapping of the door station (make-up-room / do-not-disturb panel).
///
/// With `*_value` set, the point means "pressed" when it equals that number (an enum register
/// such as 0 none, 1 make-up-room, 2 do-not-disturb); without it, when it is true / non-zero.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoorStation {
    /// Point whose press edge raises `MakeUpRoom`.
    #[serde(default)]
    pub mur_point: Option<String>,
    /// Value of `mur_point` meaning make-up-room.
    #[serde(default)]
    pub mur_value: Option<f64>,
    /// Point whose changes raise `DoNotDisturb(on)`.
    #[serde(default)]
    pub dnd_point: Option<String>,
    /// Value of `dnd_point` meaning do-not-disturb.
    #[serde(default)]
    pub dnd_value: Option<f64>,
}

/// A validated register map.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterMap {
    /// Controller model, e.g. `SMT-131`.
    pub model: String,
    /// Optional door-station mapping.
    #[serde(default)]
    pub door_station: Option<DoorStation>,
    /// The points, in file order.
    #[serde(default)]
    pub points: Vec<Point>,
}

impl RegisterMap {
    /// Looks a point up by name.
    pub fn point(&self, name: &str) -> Option<&Point> {
        self.points.iter().find(|p| p.name == name)
    }
}

/// Why a map was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MapError {
    /// Not TOML, or not the expected shape (unknown key, wrong type).
    #[error("register map: {0}")]
    Parse(String),
    /// Well-formed but inconsistent; every problem is listed.
    #[error("register map: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<MapIssue>),
}

/// One validation problem, naming the point and key.
#[derive(Debug, Clone, PartialEq)]
pub struct MapIssue {
    /// Point name (or `-` for map-level keys).
    pub point: String,
    /// Offending key.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for MapIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "point `{}`: `{}`: {}", self.point, self.key, self.message)
    }
}

/// Parses and validates a register map.
pub fn parse_map(text: &str) -> Result<RegisterMap, MapError> {
    let map: RegisterMap = toml::from_str(text).map_err(|e| MapError::Parse(e.to_string()))?;
    let issues = validate_map(&map);
    if issues.is_empty() {
        Ok(map)
    } else {
        Err(MapError::Invalid(issues))
    }
}

/// True when `s` can be used as a point name in a rule condition.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn validate_map(map: &RegisterMap) -> Vec<MapIssue> {
    let mut issues = Vec::new();
    let mut issue = |point: &str, key: &'static str, message: String| {
        issues.push(MapIssue { point: point.to_string(), key, message });
    };
    if map.model.trim().is_empty() {
        issue("-", "model", "must not be empty".into());
    }
    let mut seen = HashSet::new();
    for p in &map.points {
        let n = p.name.as_str();
        if !is_identifier(n) {
            issue(n, "name", "must be a letter or `_` followed by letters, digits or `_`".into());
        }
        if !seen.insert(n) {
            issue(n, "name", "duplicate point name".into());
        }
        if p.kind.is_bits() {
            if p.data_type != DataType::Bool {
                issue(n, "type", format!("{:?} points are single bits: type must be `bool`", p.kind));
            }
            if p.bit.is_some() {
                issue(n, "bit", "only registers have bits; a coil or discrete input is already one bit".into());
            }
        }
        if let Some(bit) = p.bit {
            if bit > 15 {
                issue(n, "bit", format!("{bit} is out of range 0-15"));
            }
            if p.data_type != DataType::Bool {
                issue(n, "bit", "requires `type = \"bool\"`".into());
            }
            if p.writable {
                issue(n, "writable", "writing a single bit of a register is not supported".into());
            }
        }
        if u32::from(p.address) + u32::from(p.width()) > 65536 {
            issue(n, "address", "the value runs past address 65535".into());
        }
        if !p.scale.is_finite() || p.scale == 0.0 {
            issue(n, "scale", "must be a finite, non-zero number".into());
        }
        if !p.offset.is_finite() {
            issue(n, "offset", "must be a finite number".into());
        }
        if p.data_type == DataType::Bool && (p.scale != 1.0 || p.offset != 0.0) {
            issue(n, "scale", "`scale` and `offset` do not apply to `bool` points".into());
        }
        if p.writable && !p.kind.is_writable() {
            issue(n, "writable", format!("{:?} points are read-only in Modbus", p.kind));
        }
    }
    if let Some(door) = &map.door_station {
        for (key, name) in [("mur_point", &door.mur_point), ("dnd_point", &door.dnd_point)] {
            if let Some(name) = name {
                if map.point(name).is_none() {
                    issue("door_station", key, format!("no point named `{name}`"));
                }
            }
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(text: &str) -> Vec<String> {
        match parse_map(text) {
            Err(MapError::Invalid(v)) => v.iter().map(ToString::to_string).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn parses_defaults() {
        let m = parse_map(
            r#"model = "X"
            [[points]]
            name = "t"
            kind = "input_register"
            address = 3
            type = "i16""#,
        )
        .unwrap();
        let p = &m.points[0];
        assert_eq!((p.scale, p.offset, p.writable, p.word_order, p.bit), (1.0, 0.0, false, WordOrder::Big, None));
        assert_eq!(p.width(), 1);
    }

    #[test]
    fn unknown_key_is_rejected() {
        let e = parse_map(
            r#"model = "X"
            [[points]]
            name = "t"
            kind = "coil"
            address = 0
            type = "bool"
            colour = "red""#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn names_point_and_key() {
        let v = issues(
            r#"model = "X"
            [[points]]
            name = "a"
            kind = "coil"
            address = 0
            type = "u32"
            [[points]]
            name = "a"
            kind = "coil"
            address = 1
            type = "bool"
            bit = 3
            [[points]]
            name = "b"
            kind = "input_register"
            address = 65535
            type = "f32"
            writable = true
            [[points]]
            name = "c"
            kind = "holding_register"
            address = 1
            type = "u16"
            bit = 16
            [[points]]
            name = "d"
            kind = "holding_register"
            address = 1
            type = "bool"
            scale = 0.1"#,
        );
        let expect = [
            "point `a`: `type`",
            "point `a`: `name`: duplicate",
            "point `a`: `bit`",
            "point `b`: `address`",
            "point `b`: `writable`",
            "point `c`: `bit`: 16 is out of range",
            "point `c`: `bit`: requires",
            "point `d`: `scale`",
        ];
        for e in expect {
            assert!(v.iter().any(|i| i.starts_with(e)), "missing {e:?} in {v:#?}");
        }
    }

    #[test]
    fn door_station_points_must_exist() {
        let v = issues(
            r#"model = "X"
            door_station = { mur_point = "nope" }"#,
        );
        assert_eq!(v, ["point `door_station`: `mur_point`: no point named `nope`"]);
    }
}
