//! Tests of parsing and validation: every error names file, key and line, and all are reported at once.

use super::*;

const MINIMAL: &str = r#"
[site]
code = "HTL1"
name = "Hotel"

[mqtt]
url = "mqtt://127.0.0.1:1883"

[storage]
data_dir = "/var/lib/bellhop"

[[departments]]
code = "housekeeping"
name = "Housekeeping"

[[catalog]]
code = "hk.towels"
category = "housekeeping"
department = "housekeeping"
priority = "low"
"#;

fn errors(text: &str) -> Vec<String> {
    parse(Path::new("b.toml"), text).unwrap_err().0.iter().map(ToString::to_string).collect()
}

#[test]
fn minimal_file_gets_defaults() {
    let config = parse(Path::new("/etc/bellhop/b.toml"), MINIMAL).unwrap();
    assert_eq!(config.mqtt.client_id, "bellhop-htl1");
    assert_eq!(config.mqtt.topic_root, "bellhop");
    assert_eq!(config.http.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(config.limits.max_open_per_location, 50);
    assert_eq!(config.catalog["hk.towels"].max_qty, 10);
    assert_eq!(config.site.time_zone, "UTC");
}

#[test]
fn shipped_example_is_valid() {
    let text = include_str!("../../../docs/examples/bellhop.toml");
    let config = parse(Path::new("docs/examples/bellhop.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.catalog.len() >= 8);
    assert!(config.catalog.values().any(|i| i.emergency));
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let text = MINIMAL.replace("priority = \"low\"", "priority = \"low\"\ncolour = \"red\"");
    let errors = errors(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("b.toml:21: catalog[0].colour: unknown field `colour`"), "{errors:?}");
}

#[test]
fn bad_enum_value_names_its_key() {
    let errors = errors(&MINIMAL.replace("\"low\"", "\"urgent\""));
    assert!(errors[0].starts_with("b.toml:20: catalog[0].priority: unknown variant `urgent`"), "{errors:?}");
}

#[test]
fn wrong_type_names_its_key() {
    let errors = errors(&MINIMAL.replace("priority = \"low\"", "priority = \"low\"\nmax_qty = \"five\""));
    assert!(errors[0].starts_with("b.toml:21: catalog[0].max_qty:"), "{errors:?}");
}

#[test]
fn syntax_error_has_a_line() {
    let errors = errors("[site\ncode = 1");
    assert!(errors[0].starts_with("b.toml:1"), "{errors:?}");
}

#[test]
fn every_semantic_error_is_reported_in_file_order() {
    let text = MINIMAL
        .replace("code = \"HTL1\"", "code = \"HTL-1\"")
        .replace("mqtt://127.0.0.1:1883", "http://x")
        .replace("department = \"housekeeping\"", "department = \"spa\"")
        + "\n[[locations]]\nid = \"101\"\nkind = \"room\"\n\n[[locations]]\nid = \"101\"\nkind = \"room\"\n";
    let errors = errors(&text);
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].starts_with("b.toml:3: site.code:"), "{errors:?}");
    assert!(errors[1].starts_with("b.toml:7: mqtt.url:"), "{errors:?}");
    assert!(errors[2].starts_with("b.toml:19: catalog[0].department: no [[departments]]"), "{errors:?}");
    assert!(errors[3].contains("locations[1].id: location \"101\" is defined twice"), "{errors:?}");
}

#[test]
fn time_zone_listen_and_password_are_checked() {
    let text = MINIMAL.replace("name = \"Hotel\"", "name = \"Hotel\"\ntime_zone = \"Mars/Olympus\"")
        + "\n[http]\nlisten = \"8080\"\n";
    let text = text.replace("url = \"mqtt://127.0.0.1:1883\"", "url = \"mqtt://h\"\npassword = \"x\"");
    let errors = errors(&text);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("site.time_zone")));
    assert!(errors.iter().any(|e| e.contains("mqtt.username: is required")));
    assert!(errors.iter().any(|e| e.contains("http.listen")));
}

#[test]
fn broker_urls() {
    assert_eq!(Broker::parse("mqtt://10.0.0.2").unwrap(), Broker { host: "10.0.0.2".into(), port: 1883 });
    assert_eq!(Broker::parse("mqtt://gw.local:1884/").unwrap().to_string(), "mqtt://gw.local:1884");
    assert_eq!(Broker::parse("mqtt://[::1]:1883").unwrap().to_string(), "mqtt://[::1]:1883");
    for bad in ["tcp://h", "mqtt://", "mqtt://u:p@h", "mqtt://h/x", "h:1883"] {
        assert!(Broker::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn menu_version_follows_the_catalog() {
    let a = parse(Path::new("b.toml"), MINIMAL).unwrap();
    let b =
        parse(Path::new("b.toml"), &MINIMAL.replace("priority = \"low\"", "priority = \"low\"\nmax_qty = 3")).unwrap();
    assert_eq!(a.menu().version, a.menu().version);
    assert_ne!(a.menu().version, b.menu().version);
}

#[test]
fn room_controller_rules_must_raise_catalog_items_at_known_locations() {
    let map = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/smt-131.toml");
    let text = MINIMAL.to_owned()
        + &format!(
            r#"
[[locations]]
id = "101"
kind = "room"

[grms.maps]
smt-131 = "{map}"

[[grms.controllers]]
id = "rc-9"
location = "909"
map = "smt-131"
tcp = {{ host = "10.0.0.9", unit = 1 }}

[[grms.rules]]
name = "sos"
when = "sos == true"
item = "grms.sos"
"#
        );
    let errors = errors(&text);
    assert!(
        errors.iter().any(|e| e.contains("grms.rules[0].item: no [[catalog]] item has code \"grms.sos\"")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("grms.controllers[0].location: no [[locations]] entry")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("grms.offline_item")), "{errors:?}");
    assert!(errors.iter().all(|e| e.starts_with("b.toml:")), "{errors:?}");
}

#[test]
fn device_settings_are_checked() {
    let text = MINIMAL.to_owned() + "\n[devices]\noffline_hours = \"07:00-07:00\"\noffline_item = \"eng.nothing\"\n";
    let errors = errors(&text);
    assert!(errors.iter().any(|e| e.contains("devices.offline_hours")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("devices.offline_item: no [[catalog]] item")), "{errors:?}");
}
