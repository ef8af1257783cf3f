//! The configuration: one TOML file, parsed strictly and validated whole, with every error naming file, key and line.

mod errors;
pub mod notify;
mod people;
mod pms;
mod policies;
mod raw;
mod shape;
pub mod signin;
pub mod sync;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use errors::{ConfigError, ConfigErrors};
pub use people::{Contact, People, StaffMember};
pub use pms::{LinkMode, Pms};
pub use policies::{parse_duration, LevelTarget, Policies, Selectors, SlaFacts, SlaPolicy};
pub use signin::{RolePolicy, Signin};

use crate::vocab::{CatalogItem, Location};
use errors::SourceMap;
use raw::RawConfig;

/// The validated configuration of one property's gateway.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// The property.
    pub site: Site,
    /// The broker connection.
    pub mqtt: Mqtt,
    /// Where the journal lives.
    pub storage: Storage,
    /// The HTTP API.
    pub http: Http,
    /// Logging.
    pub log: Log,
    /// Flood limits.
    pub limits: Limits,
    /// Departments in file order.
    pub departments: Vec<Department>,
    /// The request catalog by code.
    pub catalog: BTreeMap<String, CatalogItem>,
    /// Locations by id; when empty, any valid location id is accepted.
    pub locations: BTreeMap<String, Location>,
    /// Room controllers, when the property has them.
    pub grms: Option<Grms>,
    /// Devices: binding, liveness and discovery.
    pub devices: Devices,
    /// Upload of the journal to head office, when configured.
    pub sync: Option<sync::SyncConfig>,
    /// Shifts, staff and outside contacts.
    pub people: People,
    /// Routing rules, SLA policies and escalation ladders.
    pub policies: Policies,
    /// Notices beyond the MQTT staff topic: channels, each recipient's wishes, summaries (empty when not set up).
    pub notifications: notify::Notifications,
    /// Monitoring alerts that raise tickets, when set up.
    pub alerts: Option<notify::Alerts>,
    /// How people sign in.
    pub signin: Signin,
    /// The PMS link (`[pms]`), when the property has one.
    pub pms: Option<Pms>,
}

/// How devices are discovered, bound and watched.
#[derive(Debug, Clone)]
pub struct Devices {
    /// Binding and unknown-device policy.
    pub policy: crate::engine::devices::Policy,
    /// How long a device may be offline before a ticket is raised.
    pub offline_grace: std::time::Duration,
    /// The local hours (site time zone) during which offline tickets are raised; always when `None`.
    pub offline_hours: Option<crate::engine::shifts::Window>,
    /// The catalog item of the offline ticket; no tickets when `None`.
    pub offline_item: Option<String>,
    /// How long a device may stay silent before mDNS is asked whether it is still there.
    pub requery: std::time::Duration,
    /// mDNS.
    pub mdns: Mdns,
}

impl Devices {
    /// The rules the outage decision follows.
    pub fn outage_rules(&self) -> crate::engine::outage::Rules {
        crate::engine::outage::Rules { grace: self.offline_grace, hours: self.offline_hours }
    }
}

/// mDNS advertising and browsing.
#[derive(Debug, Clone)]
pub struct Mdns {
    /// Whether mDNS runs at all.
    pub enabled: bool,
    /// Whether the gateway advertises `_bellhop-gw._tcp`.
    pub advertise: bool,
    /// The interfaces to use (names such as `eth0`); all when empty.
    pub interfaces: Vec<String>,
    /// Service types browsed besides `_bellhop-dev._tcp`.
    pub extra_service_types: Vec<String>,
    /// The UDP port (5353; others only for tests).
    pub port: u16,
    /// The instance name advertised.
    pub instance: String,
    /// The broker port advertised as TXT `mqtt`; the broker's port (after `--mqtt`) when not set.
    pub mqtt_port: Option<u16>,
}

/// The room-controller bridge's configuration with its register maps loaded and its rules compiled.
#[derive(Debug, Clone)]
pub struct Grms {
    /// The `[grms]` section.
    pub config: firmware_bridge::GrmsConfig,
    /// The register maps by name.
    pub maps: firmware_bridge::Maps,
    /// The alarm rules.
    pub rules: Vec<firmware_bridge::Rule>,
}

/// The property.
#[derive(Debug, Clone)]
pub struct Site {
    /// The site code, the prefix of every ticket number (`HTL1-42`).
    pub code: String,
    /// The property's name.
    pub name: String,
    /// The property's IANA time zone, parsed once; every local time (shifts, opening hours, offline hours) is in it.
    pub time_zone: jiff::tz::TimeZone,
}

/// The broker connection.
#[derive(Debug, Clone)]
pub struct Mqtt {
    /// Where the broker listens.
    pub broker: Broker,
    /// The stable client id that keeps the persistent session.
    pub client_id: String,
    /// The user name, when the broker wants one.
    pub username: Option<String>,
    /// The password (read from `password_file` when that is given).
    pub password: Option<String>,
    /// The first level(s) of every topic.
    pub topic_root: String,
    /// The MQTT keep-alive.
    pub keep_alive_s: u16,
}

/// A broker address from an `mqtt://HOST[:PORT]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// Host name or address.
    pub host: String,
    /// TCP port, 1883 when the URL has none.
    pub port: u16,
}

impl Broker {
    /// Parses `mqtt://HOST[:PORT]`.
    pub fn parse(url: &str) -> Result<Broker, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if parsed.scheme() != "mqtt" {
            return Err(format!("{url:?} must start with mqtt://"));
        }
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || !parsed.username().is_empty() {
            return Err(format!("{url:?} must be mqtt://HOST[:PORT]; put credentials in username and password"));
        }
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| format!("{url:?} has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        Ok(Broker { host, port: parsed.port().unwrap_or(1883) })
    }
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "mqtt://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "mqtt://{}:{}", self.host, self.port)
        }
    }
}

/// Where the journal lives.
#[derive(Debug, Clone)]
pub struct Storage {
    /// The data directory: the journal and its write-ahead log.
    pub data_dir: PathBuf,
}

/// The HTTP API.
#[derive(Debug, Clone)]
pub struct Http {
    /// The address and port to listen on.
    pub listen: SocketAddr,
    /// How long a client has to send a complete request head, from connecting or from the end of the previous
    /// response.
    pub header_timeout: Duration,
    /// How long a client has to send a request body, from the end of its head.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may sit with no traffic before it is closed.
    pub idle_timeout: Duration,
    /// The most connections served at once; more are answered 503 and closed.
    pub max_connections: u32,
}

/// Logging.
#[derive(Debug, Clone)]
pub struct Log {
    /// A level (`info`) or a tracing filter (`info,bellhop::mqtt=debug`); `RUST_LOG` overrides it.
    pub level: String,
}

/// Flood limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The most tickets open at one location; further device requests are rejected `rate_limited`.
    pub max_open_per_location: u32,
    /// Requests one device may make per minute, on average, and in a burst.
    pub device: crate::engine::flood::Rate,
    /// Requests one location's devices may make together per minute, on average, and in a burst.
    pub location: crate::engine::flood::Rate,
}

/// A department that owns tickets.
#[derive(Debug, Clone)]
pub struct Department {
    /// Its code, used by catalog items.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The hours its SLA clocks run in (around the clock unless it keeps hours).
    pub calendar: crate::engine::calendar::Calendar,
    /// Whether do-not-disturb at a location pauses the clocks of its tickets there (housekeeping).
    pub pause_on_dnd: bool,
}

impl Config {
    /// The menu devices show: every catalog item with its labels, with a version that changes with the catalog.
    pub fn menu(&self) -> tv_protocol::Menu {
        let items: Vec<tv_protocol::MenuItem> = self
            .catalog
            .values()
            .filter(|item| item.guest)
            .map(|item| tv_protocol::MenuItem {
                code: item.code.clone(),
                category: item.category.clone(),
                labels: item.labels.clone(),
                max_qty: item.max_qty,
            })
            .collect();
        let digest = ring::digest::digest(&ring::digest::SHA256, &serde_json::to_vec(&items).unwrap_or_default());
        tv_protocol::Menu { version: hex::encode(&digest.as_ref()[..6]), items }
    }
}

/// Reads and validates a configuration file (alone: see [`load_layered`] for imported and head office's sections).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    parse(path, &read(path)?)
}

/// Validates configuration text; `path` names the file in errors and resolves relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    parse_layered(path, text, &[])
}

/// The file, inside the data directory, that holds the last good configuration from head office.
pub const MANAGED_FILE: &str = "managed.toml";

/// The file, inside the data directory, that holds what `bellhop import` brought in (locations, staff).
pub const IMPORTED_FILE: &str = "imported.toml";

/// Reads the local file and layers over it, in order, the imported sections (`{data_dir}/imported.toml`) and head
/// office's configuration (`{data_dir}/managed.toml`): each section a layer has replaces the one below before
/// validation. `data_dir` overrides the file's `storage.data_dir` (as `--data-dir` does). Errors in a layer's
/// sections name that file and its lines.
pub fn load_layered(path: &Path, data_dir: Option<&Path>) -> Result<Config, ConfigErrors> {
    load_with_layer(path, data_dir, None)
}

/// Like [`load_layered`], with `candidate` (a file name in the data directory and its text) standing in for that
/// layer: how an import or a configuration from head office is checked before it replaces its file.
pub fn load_with_layer(
    path: &Path,
    data_dir: Option<&Path>,
    candidate: Option<(&str, &str)>,
) -> Result<Config, ConfigErrors> {
    let text = read(path)?;
    let data_dir = match data_dir {
        Some(dir) => dir.to_owned(),
        None => match toml::from_str::<RawConfig>(&text) {
            Ok(raw) => relative_to(path, &raw.storage.data_dir),
            // The local file's own errors come first.
            Err(_) => return parse(path, &text),
        },
    };
    let mut layers = Vec::new();
    for name in [IMPORTED_FILE, MANAGED_FILE] {
        let file = data_dir.join(name);
        match candidate {
            Some((candidate_name, document)) if candidate_name == name => layers.push((file, document.to_owned())),
            _ => match std::fs::read_to_string(&file) {
                Ok(document) => layers.push((file, document)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(ConfigErrors(vec![ConfigError {
                        file,
                        line: None,
                        key: String::new(),
                        message: format!("cannot read the file: {error}"),
                    }]))
                }
            },
        }
    }
    let layers: Vec<(&Path, &str)> = layers.iter().map(|(file, text)| (file.as_path(), text.as_str())).collect();
    parse_layered(path, &text, &layers)
}

fn read(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            line: None,
            key: String::new(),
            message: format!("cannot read the file: {e}"),
        }])
    })
}

/// Replaces the sections of `raw` that `layer` has; returns their names.
fn apply_layer(raw: &mut RawConfig, layer: raw::RawManaged) -> Vec<&'static str> {
    let mut sections = Vec::new();
    macro_rules! replace {
        ($($field:ident),*) => {$(
            if let Some(value) = layer.$field {
                raw.$field = value;
                sections.push(stringify!($field));
            }
        )*};
    }
    replace!(departments, catalog, locations, limits, shifts, staff, contacts, rules, sla, escalations);
    sections
}

fn parse_layered(path: &Path, text: &str, layers: &[(&Path, &str)]) -> Result<Config, ConfigErrors> {
    // Mistakes of shape (unknown keys, missing keys, wrong types and values) in every file, all of them; then the
    // validation of the values, which says nothing about keys that were cut out or stood in for.
    let mut shape_errors = Vec::new();
    let mut patched: Vec<(&Path, Vec<String>)> = Vec::new();
    let file = shape::read::<RawConfig>(path, text, &SourceMap::new(path, text));
    shape_errors.extend(file.errors);
    patched.push((path, file.patched));
    let mut raw = file.value;
    let mut parsed = Vec::new();
    for (file, document) in layers {
        let map = SourceMap::new(file, document);
        let layer = shape::read::<raw::RawManaged>(file, document, &map);
        shape_errors.extend(layer.errors);
        patched.push((file, layer.patched));
        if let (Some(raw), Some(layer)) = (raw.as_mut(), layer.value) {
            let sections = apply_layer(raw, layer);
            parsed.push((map, sections));
        } else {
            raw = None;
        }
    }
    let Some(raw) = raw else { return Err(sorted(shape_errors)) };
    // Errors in a layer's sections are found in that layer's file: each map hands the sections of the layers above
    // it to them, so the top-most layer that has a section answers for it.
    let mut overlay: Option<(SourceMap<'_>, Vec<&'static str>)> = None;
    for (map, sections) in parsed.into_iter().rev() {
        overlay = Some(match overlay {
            Some((above, above_sections)) => {
                let mut all = sections;
                all.extend(above_sections.iter().copied());
                (map.with_overlay(above, above_sections), all)
            }
            None => (map, sections),
        });
    }
    let mut map = SourceMap::new(path, text);
    if let Some((above, sections)) = overlay {
        map = map.with_overlay(above, sections);
    }
    let mut errors = Vec::new();
    let config = validate(path, raw, &map, &mut errors);
    errors.retain(|e| !patched.iter().any(|(file, keys)| e.file == *file && keys.iter().any(|k| under(&e.key, k))));
    errors.extend(shape_errors);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(sorted(errors))
    }
}

/// Whether `key` is `prefix` or inside it (`catalog[2].code` is inside `catalog` and `catalog[2]`).
fn under(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Errors in file order: by file, then by line.
fn sorted(mut errors: Vec<ConfigError>) -> ConfigErrors {
    errors.sort_by_key(|e: &ConfigError| (e.file.clone(), e.line.unwrap_or(usize::MAX)));
    ConfigErrors(errors)
}

fn check_id(map: &SourceMap<'_>, errors: &mut Vec<ConfigError>, key: &str, value: &str) {
    if let Err(e) = tv_protocol::validate_id(value) {
        errors.push(map.at(key, format!("{value:?} {e}")));
    }
}

fn validate(path: &Path, raw: RawConfig, map: &SourceMap<'_>, errors: &mut Vec<ConfigError>) -> Config {
    let site = &raw.site;
    if site.code.is_empty() || site.code.len() > 16 || !site.code.chars().all(|c| c.is_ascii_alphanumeric()) {
        errors.push(map.at("site.code", "must be 1-16 letters or digits (it starts every ticket number)"));
    }
    if site.name.trim().is_empty() {
        errors.push(map.at("site.name", "must not be empty"));
    }
    let time_zone =
        jiff::tz::TimeZone::get(&site.time_zone)
            .map_err(|_| {
                errors.push(map.at(
                    "site.time_zone",
                    format!("{:?} is not an IANA time zone such as Europe/Lisbon", site.time_zone),
                ));
            })
            .ok();

    let mqtt = &raw.mqtt;
    let broker = Broker::parse(&mqtt.url).unwrap_or_else(|e| {
        errors.push(map.at("mqtt.url", e));
        Broker { host: "invalid".into(), port: 0 }
    });
    let client_id = mqtt.client_id.clone().unwrap_or_else(|| format!("bellhop-{}", site.code.to_ascii_lowercase()));
    check_id(map, errors, "mqtt.client_id", &client_id);
    if let Err(e) = tv_protocol::Topics::new(&mqtt.topic_root) {
        errors.push(map.at("mqtt.topic_root", e.to_string()));
    }
    if !(5..=3600).contains(&mqtt.keep_alive_s) {
        errors.push(map.at("mqtt.keep_alive_s", "must be from 5 to 3600 seconds"));
    }
    let password = match (&mqtt.password, &mqtt.password_file) {
        (Some(_), Some(_)) => {
            errors.push(map.at("mqtt.password_file", "give password or password_file, not both"));
            None
        }
        (Some(password), None) => Some(password.clone()),
        (None, Some(file)) => {
            let file = relative_to(path, file);
            match std::fs::read_to_string(&file) {
                Ok(text) => Some(text.trim_end_matches(['\r', '\n']).to_owned()),
                Err(e) => {
                    errors.push(map.at("mqtt.password_file", format!("cannot read {}: {e}", file.display())));
                    None
                }
            }
        }
        (None, None) => None,
    };
    if password.is_some() && mqtt.username.is_none() {
        errors.push(map.at("mqtt.username", "is required when a password is given"));
    }

    let listen = raw.http.listen.parse::<SocketAddr>().unwrap_or_else(|_| {
        errors.push(map.at("http.listen", format!("{:?} is not ADDRESS:PORT such as 0.0.0.0:8080", raw.http.listen)));
        SocketAddr::from(([127, 0, 0, 1], 0))
    });
    let http_raw = &raw.http;
    for (key, value, range) in [
        ("http.header_timeout_s", http_raw.header_timeout_s, 1..=300),
        ("http.body_timeout_s", http_raw.body_timeout_s, 1..=600),
        ("http.idle_timeout_s", http_raw.idle_timeout_s, 1..=300),
    ] {
        if !range.contains(&value) {
            errors.push(map.at(key, format!("must be from {} to {} seconds", range.start(), range.end())));
        }
    }
    if http_raw.idle_timeout_s > http_raw.header_timeout_s {
        errors.push(map.at("http.idle_timeout_s", "must not be longer than http.header_timeout_s"));
    }
    if !(1..=65_536).contains(&http_raw.max_connections) {
        errors.push(map.at("http.max_connections", "must be from 1 to 65536"));
    }
    if tracing_subscriber::EnvFilter::try_new(&raw.log.level).is_err() {
        errors
            .push(map.at("log.level", format!("{:?} is not a level (error, warn, info, debug, trace)", raw.log.level)));
    }
    let limits = &raw.limits;
    for (key, value) in [
        ("limits.max_open_per_location", limits.max_open_per_location),
        ("limits.device_per_minute", limits.device_per_minute),
        ("limits.device_burst", limits.device_burst),
        ("limits.location_per_minute", limits.location_per_minute),
        ("limits.location_burst", limits.location_burst),
    ] {
        if value == 0 {
            errors.push(map.at(key, "must be at least 1"));
        }
    }

    let mut departments = Vec::new();
    let mut department_codes = BTreeSet::new();
    for (i, d) in raw.departments.into_iter().enumerate() {
        check_id(map, errors, &format!("departments[{i}].code"), &d.code);
        if !department_codes.insert(d.code.clone()) {
            errors.push(map.at(&format!("departments[{i}].code"), format!("department {:?} is defined twice", d.code)));
        }
        let calendar = policies::calendar(&d, i, time_zone.as_ref(), map, errors);
        departments.push(Department { code: d.code, name: d.name, calendar, pause_on_dnd: d.pause_on_dnd });
    }

    let mut catalog = BTreeMap::new();
    let mut catalog_order = Vec::new();
    for (i, item) in raw.catalog.into_iter().enumerate() {
        catalog_order.push(item.code.clone());
        let key = |field: &str| format!("catalog[{i}].{field}");
        check_id(map, errors, &key("code"), &item.code);
        check_id(map, errors, &key("category"), &item.category);
        if !department_codes.contains(&item.department) {
            errors.push(map.at(&key("department"), format!("no [[departments]] entry has code {:?}", item.department)));
        }
        if !(1..=tv_protocol::MAX_QTY).contains(&item.max_qty) {
            errors.push(map.at(&key("max_qty"), format!("must be from 1 to {}", tv_protocol::MAX_QTY)));
        }
        if item.eta_min.is_some_and(|m| m > 7 * 24 * 60) {
            errors.push(map.at(&key("eta_min"), "must be at most a week (10080 minutes)"));
        }
        for (lang, label) in &item.labels {
            if label.trim().is_empty() {
                errors.push(map.at(&format!("catalog[{i}].labels.{lang}"), "must not be empty"));
            }
        }
        let code = item.code.clone();
        let parsed = CatalogItem {
            code: item.code,
            category: item.category,
            department: item.department,
            priority: item.priority,
            eta_min: item.eta_min,
            max_qty: item.max_qty,
            sla: item.sla,
            skill: item.skill,
            emergency: item.emergency,
            guest: item.guest,
            labels: item.labels,
        };
        if catalog.insert(code.clone(), parsed).is_some() {
            errors.push(map.at(&key("code"), format!("item {code:?} is defined twice")));
        }
    }
    if catalog.is_empty() {
        errors.push(map.at("catalog", "at least one [[catalog]] item is needed, or no request can be accepted"));
    }

    let mut locations = BTreeMap::new();
    for (i, l) in raw.locations.into_iter().enumerate() {
        let key = format!("locations[{i}].id");
        check_id(map, errors, &key, &l.id);
        let id = l.id.clone();
        let location =
            Location { id: l.id, kind: l.kind, building: l.building, wing: l.wing, floor: l.floor, class: l.class };
        if locations.insert(id.clone(), location).is_some() {
            errors.push(map.at(&key, format!("location {id:?} is defined twice")));
        }
    }

    let people = people::validate(raw.shifts, raw.staff, raw.contacts, &department_codes, map, errors);
    let known = policies::Known {
        departments: &department_codes,
        catalog: &catalog,
        catalog_order: &catalog_order,
        people: &people,
    };
    let policies = policies::validate(raw.rules, raw.sla, raw.escalations, &known, map, errors);
    let signin = signin::validate(raw.signin, map, errors);

    let notifications = notify::validate_notifications(path, raw.notifications, &people, map, errors);
    let alerts = notify::validate_alerts(path, raw.alerts, &catalog, &department_codes, &locations, map, errors);
    let pms = raw.pms.map(|pms| pms::validate(pms, &catalog, &locations, map, errors));
    let grms = raw.grms.and_then(|grms| validate_grms(path, grms, map, &catalog, &locations, errors));
    let devices = validate_devices(raw.devices, &raw.site.name, map, &catalog, errors);
    let sync = raw.sync.map(|mut sync| {
        sync.secret_file = relative_to(path, &sync.secret_file);
        sync.ca_file = sync.ca_file.map(|f| relative_to(path, &f));
        sync.client_cert_file = sync.client_cert_file.map(|f| relative_to(path, &f));
        sync.client_key_file = sync.client_key_file.map(|f| relative_to(path, &f));
        sync
    });
    if let Some(sync) = &sync {
        let problems = sync.validate().err().into_iter().chain(sync.check_files().err()).flatten();
        for problem in problems {
            let key = problem.split(':').next().unwrap_or("sync").to_owned();
            let message = problem.split_once(": ").map_or(problem.as_str(), |(_, m)| m).to_owned();
            errors.push(map.at(&key, message));
        }
    }

    Config {
        path: path.to_owned(),
        site: Site {
            code: raw.site.code,
            name: raw.site.name,
            // Without a zone the configuration has an error and is refused; UTC here is never used.
            time_zone: time_zone.unwrap_or(jiff::tz::TimeZone::UTC),
        },
        mqtt: Mqtt {
            broker,
            client_id,
            username: raw.mqtt.username,
            password,
            topic_root: raw.mqtt.topic_root,
            keep_alive_s: raw.mqtt.keep_alive_s,
        },
        storage: Storage { data_dir: relative_to(path, &raw.storage.data_dir) },
        http: Http {
            listen,
            header_timeout: Duration::from_secs(raw.http.header_timeout_s),
            body_timeout: Duration::from_secs(raw.http.body_timeout_s),
            idle_timeout: Duration::from_secs(raw.http.idle_timeout_s),
            max_connections: raw.http.max_connections,
        },
        log: Log { level: raw.log.level },
        limits: Limits {
            max_open_per_location: raw.limits.max_open_per_location,
            device: crate::engine::flood::Rate {
                per_minute: raw.limits.device_per_minute,
                burst: raw.limits.device_burst,
            },
            location: crate::engine::flood::Rate {
                per_minute: raw.limits.location_per_minute,
                burst: raw.limits.location_burst,
            },
        },
        departments,
        catalog,
        locations,
        grms,
        devices,
        sync,
        people,
        policies,
        notifications,
        alerts,
        signin,
        pms,
    }
}

fn validate_devices(
    raw: raw::RawDevices,
    site_name: &str,
    map: &SourceMap<'_>,
    catalog: &BTreeMap<String, CatalogItem>,
    errors: &mut Vec<ConfigError>,
) -> Devices {
    if let Some(item) = &raw.offline_item {
        if !catalog.contains_key(item) {
            errors.push(map.at("devices.offline_item", format!("no [[catalog]] item has code {item:?}")));
        }
    }
    let offline_hours = raw.offline_hours.as_deref().and_then(|hours| {
        let parsed = crate::engine::shifts::Window::parse(hours).ok();
        if parsed.is_none() {
            errors.push(map.at(
                "devices.offline_hours",
                format!("{hours:?} is not a range of two different times such as \"07:00-23:00\""),
            ));
        }
        parsed
    });
    if raw.requery_s == 0 {
        errors.push(map.at("devices.requery_s", "must be at least 1"));
    }
    for (i, ty) in raw.mdns.extra_service_types.iter().enumerate() {
        if !(ty.starts_with('_') && (ty.ends_with("._tcp.local.") || ty.ends_with("._udp.local."))) {
            errors.push(map.at(
                &format!("devices.mdns.extra_service_types[{i}]"),
                format!("{ty:?} is not a service type such as \"_example._tcp.local.\""),
            ));
        }
    }
    Devices {
        policy: crate::engine::devices::Policy { binding: raw.binding, unknown: raw.unknown },
        offline_grace: std::time::Duration::from_secs(raw.offline_grace_s),
        offline_hours,
        offline_item: raw.offline_item,
        requery: std::time::Duration::from_secs(raw.requery_s.max(1)),
        mdns: Mdns {
            enabled: raw.mdns.enabled,
            advertise: raw.mdns.advertise,
            interfaces: raw.mdns.interfaces,
            extra_service_types: raw.mdns.extra_service_types,
            port: raw.mdns.port,
            instance: raw.mdns.instance.unwrap_or_else(|| format!("Bellhop {site_name}")),
            mqtt_port: raw.mdns.mqtt_port,
        },
    }
}

/// Loads the maps and compiles the rules of `[grms]`, and checks that every item it raises is in the catalog and
/// every controller's location is known.
fn validate_grms(
    path: &Path,
    config: firmware_bridge::GrmsConfig,
    map: &SourceMap<'_>,
    catalog: &BTreeMap<String, CatalogItem>,
    locations: &BTreeMap<String, Location>,
    errors: &mut Vec<ConfigError>,
) -> Option<Grms> {
    let before = errors.len();
    let mut report = |key: String, message: String| errors.push(map.at(&key, message));
    let base = path.parent().unwrap_or(Path::new("."));
    let maps = firmware_bridge::load_maps(&config, base).unwrap_or_else(|problems| {
        problems.into_iter().for_each(|p| report("grms.maps".into(), p));
        Default::default()
    });
    let rules = firmware_bridge::compile_rules(&config).unwrap_or_else(|problems| {
        problems.into_iter().for_each(|p| report("grms.rules".into(), p));
        Vec::new()
    });
    if let Err(problems) = firmware_bridge::validate(&config, &maps) {
        problems.into_iter().for_each(|p| report("grms".into(), p));
    }
    for (i, rule) in config.rules.iter().enumerate() {
        if rule.name == "offline" {
            report(
                format!("grms.rules[{i}].name"),
                "\"offline\" is reserved for controller outages; choose another name".into(),
            );
        }
        if !catalog.contains_key(&rule.item) {
            report(format!("grms.rules[{i}].item"), format!("no [[catalog]] item has code {:?}", rule.item));
        }
    }
    if !config.controllers.is_empty() {
        for (key, item) in [("offline_item", &config.offline_item), ("make_up_room_item", &config.make_up_room_item)] {
            if !catalog.contains_key(item) {
                report(format!("grms.{key}"), format!("no [[catalog]] item has code {item:?}"));
            }
        }
    }
    for (i, controller) in config.controllers.iter().enumerate() {
        if !locations.is_empty() && !locations.contains_key(&controller.location) {
            report(
                format!("grms.controllers[{i}].location"),
                format!("no [[locations]] entry has id {:?}", controller.location),
            );
        }
    }
    (errors.len() == before).then_some(Grms { config, maps, rules })
}

/// A path from the file, taken relative to the file's directory when it is not absolute.
fn relative_to(config: &Path, path: &Path) -> PathBuf {
    match config.parent() {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests;
