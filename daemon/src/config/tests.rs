//! Tests of parsing and validation: every error names file, key and line, and all are reported at once.

use super::*;
use crate::vocab::{GuestTier, Priority, Role};

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
    assert_eq!(config.site.time_zone.iana_name(), Some("UTC"));
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
    assert!(errors[0].starts_with("b.toml:21: catalog[0].colour: unknown key; the keys here are"), "{errors:?}");
}

#[test]
fn bad_enum_value_names_its_key_and_the_words_it_takes() {
    let errors = errors(&MINIMAL.replace("\"low\"", "\"lwo\""));
    assert_eq!(
        errors,
        [
            r#"b.toml:20: catalog[0].priority: must be one of "critical", "high", "medium" or "low", not "lwo"; did you mean "low"?"#
        ]
    );
}

#[test]
fn wrong_type_names_its_key() {
    let errors = errors(&MINIMAL.replace("priority = \"low\"", "priority = \"low\"\nmax_qty = \"five\""));
    assert_eq!(errors, [r#"b.toml:21: catalog[0].max_qty: must be a whole number from 0 to 255, not "five""#]);
}

/// Five mistakes of shape, each of which used to stop the check on its own.
const FIVE_MISTAKES: [(&str, &str); 5] = [
    ("name = \"Hotel\"", "nmae = \"Hotel\""),
    ("url = \"mqtt://127.0.0.1:1883\"", "url = \"mqtt://127.0.0.1:1883\"\nkeep_alive_s = \"30s\""),
    ("data_dir = \"/var/lib/bellhop\"", "data_dir = \"/var/lib/bellhop\"\n\n[limits]\ndevice_burst = -1"),
    ("name = \"Housekeeping\"", "name = \"Housekeeping\"\npause_on_dnd = \"yes\""),
    ("priority = \"low\"", "priority = \"urgent\""),
];

#[test]
fn every_mistake_of_shape_is_reported_in_one_run() {
    let text = FIVE_MISTAKES.iter().fold(MINIMAL.to_owned(), |text, (from, to)| text.replacen(from, to, 1));
    let errors = errors(&text);
    assert_eq!(
        errors,
        [
            r#"b.toml:4: site.nmae: unknown key; did you mean "name"?"#,
            r#"b.toml:8: mqtt.keep_alive_s: must be a whole number from 0 to 65535, not "30s""#,
            "b.toml:14: limits.device_burst: must be a whole number from 0 to 4294967295, not -1",
            r#"b.toml:19: departments[0].pause_on_dnd: must be true or false, not "yes""#,
            r#"b.toml:25: catalog[0].priority: must be one of "critical", "high", "medium" or "low", not "urgent""#,
        ]
    );
}

#[test]
fn missing_keys_and_sections_are_each_reported_once() {
    let text = MINIMAL.replace("[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n", "").replace("priority = \"low\"\n", "");
    let errors = errors(&text);
    assert_eq!(errors, ["b.toml:1: mqtt: is required", "b.toml:14: catalog[0].priority: is required"]);
}

#[test]
fn an_empty_file_is_told_everything_it_needs() {
    assert_eq!(
        errors(""),
        [
            "b.toml:1: site: is required",
            "b.toml:1: mqtt: is required",
            "b.toml:1: storage: is required",
            "b.toml: catalog: at least one [[catalog]] item is needed, or no request can be accepted",
        ]
    );
    let errors = errors("mqtt = []\n");
    assert!(errors.contains(&"b.toml:1: mqtt: must be a table, not a list".to_owned()), "{errors:?}");
}

#[test]
fn a_mistake_made_many_times_is_reported_up_to_a_limit() {
    let rooms: String = (0..80).map(|i| format!("\n[[locations]]\nid = \"{i}\"\nkind = \"rom\"\n")).collect();
    let errors = errors(&format!("{MINIMAL}{rooms}"));
    assert_eq!(errors.len(), shape::MAX_MISTAKES + 1, "{errors:?}");
    assert!(errors[0].starts_with("b.toml:24: locations[0].kind: must be one of"), "{errors:?}");
    assert_eq!(errors[shape::MAX_MISTAKES], "b.toml: more mistakes may follow the first 50; fix these and check again");
}

#[test]
fn list_elements_are_named_by_their_position_as_written() {
    let text = MINIMAL.to_owned()
        + "\n[[rules]]\nname = \"r\"\nkinds = [\"rom\", \"room\", \"are\", 7]\npriority = \"high\"\n\n[[rules]]\nname = 5\n";
    let errors = errors(&text);
    assert_eq!(
        errors,
        [
            r#"b.toml:24: rules[0].kinds[0]: must be one of "room" or "area", not "rom"; did you mean "room"?"#,
            r#"b.toml:24: rules[0].kinds[2]: must be one of "room" or "area", not "are"; did you mean "area"?"#,
            r#"b.toml:24: rules[0].kinds[3]: must be one of "room" or "area", not 7"#,
            "b.toml:28: rules[1].name: must be text in quotes, not 5",
        ]
    );
}

#[test]
fn a_table_where_a_list_belongs_says_how_to_write_it() {
    let text = MINIMAL.replace("[[catalog]]", "[catalog]");
    let found = errors(&text);
    assert_eq!(found, ["b.toml:16: catalog: must be a list: write [[catalog]] before each entry, not [catalog]"]);
    let text = MINIMAL.to_owned() + "\n[grms.controllers]\nid = \"rc-1\"\n";
    assert_eq!(
        errors(&text),
        ["b.toml:22: grms.controllers: must be a list: write [[grms.controllers]] before each entry, not [grms.controllers]"]
    );
    let inline = format!("catalog = {{ code = \"x\" }}\n{}", MINIMAL.split("[[catalog]]").next().unwrap());
    let found = errors(&inline);
    assert!(found.iter().any(|e| e.contains("catalog: must be a list in square brackets, not a table")), "{found:?}");
}

#[test]
fn unknown_sections_and_values_are_reported_with_the_checks_of_the_rest() {
    let text = MINIMAL.replace("department = \"housekeeping\"", "department = \"spa\"") + "\n[surprise]\nkey = 1\n";
    let errors = errors(&text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("b.toml:19: catalog[0].department: no [[departments]] entry"), "{errors:?}");
    assert!(errors[1].starts_with("b.toml:22: surprise: unknown section; the keys here are \"site\""), "{errors:?}");
}

#[test]
fn values_standing_in_for_missing_ones_raise_no_errors_of_their_own() {
    // A required code missing and the department of the only item wrong: the item's checks still run, the stand-in
    // code ("") is not reported as a bad id.
    let text = MINIMAL.replace("code = \"hk.towels\"\n", "");
    assert_eq!(errors(&text), ["b.toml:16: catalog[0].code: is required"]);
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
fn http_timeouts_and_the_connection_limit_are_checked() {
    let text = MINIMAL.to_owned() + "\n[http]\nheader_timeout_s = 20\nmax_connections = 9\n";
    let config = parse(Path::new("b.toml"), &text).unwrap();
    assert_eq!(config.http.header_timeout, std::time::Duration::from_secs(20));
    assert_eq!(config.http.body_timeout, std::time::Duration::from_secs(30));
    assert_eq!(config.http.max_connections, 9);
    let text = MINIMAL.to_owned() + "\n[http]\nheader_timeout_s = 0\nidle_timeout_s = 20\nmax_connections = 0\n";
    let errors = errors(&text);
    assert!(errors.iter().any(|e| e.contains("http.header_timeout_s: must be from 1 to 300")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("http.idle_timeout_s: must not be longer")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("http.max_connections")), "{errors:?}");
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

const STAFFED: &str = r#"
[[departments]]
code = "engineering"
name = "Engineering"
hours = { mon = "08:00-18:00", tue = "08:00-18:00" }
holidays = ["2026-12-25"]

[[shifts]]
name = "day"
days = ["mon", "tue"]
hours = "07:00-15:00"

[[staff]]
id = "ana"
name = "Ana"
departments = ["housekeeping"]
shifts = ["day"]
exceptions = [{ date = "2026-12-24", off = true }]

[[staff]]
id = "rui"
name = "Rui"
role = "supervisor"
departments = ["housekeeping"]

[[contacts]]
id = "security-desk"
name = "Security desk"

[[sla]]
name = "vip"
response = "5m"
resolution = "30m"
escalation = "fast"
guest_tiers = ["vip"]
priorities = ["low"]

[[sla]]
name = "low-any"
response = "20m"
resolution = "3h"
priorities = ["low"]

[[escalations]]
name = "fast"
levels = [{ after = "2m", to = "supervisor" }, { after = "0m", from = "resolution", to = "contact:security-desk" }]

[[rules]]
name = "vip-floor"
floors = [7]
hours = "22:00-06:00"
priority = "high"
"#;

#[test]
fn roster_rules_and_sla_policies_are_validated_and_chosen_by_precedence() {
    let config = parse(Path::new("b.toml"), &format!("{MINIMAL}{STAFFED}")).unwrap();
    assert_eq!(config.people.staff["rui"].role, Role::Supervisor);
    assert_eq!(config.people.staff["ana"].max_open, 10);
    assert_eq!(config.policies.rules[0].name, "vip-floor");
    assert_eq!(config.limits.device, crate::engine::flood::Rate { per_minute: 6, burst: 10 });
    assert!(!config.departments[1].calendar.is_always_open());
    let vip = config.policies.sla["vip"].clone();
    assert_eq!(vip.targets[1], LevelTarget::Contact("security-desk".into()));
    assert_eq!(vip.clock.levels[1].until, crate::engine::sla::Until::Resolved, "resolution levels last until resolved");
    let facts = |tier| SlaFacts {
        occupancy: crate::engine::routing::Occupancy::Unknown,
        priority: Priority::Low,
        category: "housekeeping",
        department: "housekeeping",
        guest_tier: tier,
        class: None,
        source: crate::vocab::Source::Tv,
    };

    let policies = &config.policies;
    assert_eq!(policies.sla_for(None, &facts(GuestTier::Vip)).name, "vip", "the more specific policy wins");
    assert_eq!(policies.sla_for(None, &facts(GuestTier::Standard)).name, "low-any");
    assert_eq!(policies.sla_for(Some("vip"), &facts(GuestTier::Standard)).name, "vip", "a named policy comes first");
    let high = SlaFacts { priority: Priority::High, ..facts(GuestTier::Standard) };
    assert_eq!(policies.sla_for(None, &high).name, "default-high");
    assert_eq!(policies.sla["default-high"].clock.response_ms, 10 * 60_000);
}

#[test]
fn roster_and_policy_mistakes_name_their_lines() {
    let bad = STAFFED
        .replace(
            "departments = [\"housekeeping\"]\nshifts = [\"day\"]",
            "departments = [\"kitchen\"]\nshifts = [\"night\"]",
        )
        .replace("to = \"contact:security-desk\"", "to = \"contact:nobody\"")
        .replace("floors = [7]", "floors = [7]\ndepartment = \"spa\"")
        .replace("hours = { mon = \"08:00-18:00\", tue = \"08:00-18:00\" }", "hours = { mon = \"closed\" }");
    let found = errors(&format!("{MINIMAL}{bad}"));
    let text = found.join("\n");
    for expected in [
        "departments[1].hours: an empty calendar",
        "staff[0].departments: no [[departments]] entry has code \"kitchen\"",
        "staff[0].shifts: no [[shifts]] entry is named \"night\"",
        "escalations[0].levels[1].to: \"contact:nobody\" is not a role",
        "rules[0].department: no [[departments]] entry has code \"spa\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(found.iter().all(|e| e.starts_with("b.toml:")), "every error has its line: {text}");
}

#[test]
fn imported_and_managed_layers_name_their_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("b.toml");
    std::fs::write(&config, MINIMAL.replace("/var/lib/bellhop", &dir.path().display().to_string())).unwrap();
    std::fs::write(dir.path().join(IMPORTED_FILE), "[[locations]]\nid = \"101\"\nkind = \"room\"\n").unwrap();
    std::fs::write(dir.path().join(MANAGED_FILE), "[[staff]]\nid = \"ana\"\nname = \"Ana\"\ndepartments = [\"x\"]\n")
        .unwrap();
    let errors = load_layered(&config, None).unwrap_err().to_string();
    assert!(errors.contains("managed.toml:4: staff[0].departments"), "{errors}");
    std::fs::remove_file(dir.path().join(MANAGED_FILE)).unwrap();
    let loaded = load_layered(&config, None).unwrap();
    assert!(loaded.locations.contains_key("101"), "the imported layer applies");
    let candidate = "[[locations]]\nid = \"bad id!\"\nkind = \"room\"\n";
    let errors = load_with_layer(&config, None, Some((IMPORTED_FILE, candidate))).unwrap_err().to_string();
    assert!(errors.contains("imported.toml:2: locations[0].id"), "{errors}");
}

#[test]
fn the_errors_shown_in_the_configuration_reference_are_the_real_ones() {
    let example = include_str!("../../../docs/examples/bellhop.toml");
    let broken = [
        ("time_zone = \"Europe/Lisbon\"", "time_zone = \"Europe/Lisbin\""),
        ("keep_alive_s = 30", "keep_alive_s = 2"),
        ("listen = \"0.0.0.0:8080\"", "listne = \"0.0.0.0:8080\""),
        ("max_qty = 4", "max_qty = \"four\""),
        ("priority = \"high\"", "priority = \"urgent\""),
        ("department = \"fnb\"", "department = \"food\""),
    ]
    .iter()
    .fold(example.to_owned(), |text, (from, to)| text.replacen(from, to, 1));
    let reference = include_str!("../../../docs/configuration.md");
    let shown: Vec<&str> = reference
        .split("$ bellhop check-config --config broken.toml\n")
        .nth(1)
        .and_then(|rest| rest.split("\n$ echo $?").next())
        .expect("the reference shows check-config's output for broken.toml")
        .lines()
        .collect();
    let real = parse(Path::new("broken.toml"), &broken).unwrap_err().to_string();
    assert_eq!(shown, real.lines().collect::<Vec<_>>());
}

#[test]
fn the_documents_list_the_sections_head_office_may_send() {
    // The sections a layer may hold, as the deserializer lists them for a key it does not know.
    let refused = toml::from_str::<raw::RawManaged>("nothing = 1").unwrap_err();
    let mut sections: Vec<&str> = refused.message().split('`').skip(3).step_by(2).collect();
    sections.sort_unstable();
    assert_eq!(sections.len(), 10, "{sections:?}");
    let names = |text: &str, from: &str, to: &str| -> Vec<String> {
        let listed = text.split(from).nth(1).and_then(|rest| rest.split(to).next()).expect(from);
        let mut names: Vec<String> =
            listed.split('`').skip(1).step_by(2).map(|s| s.trim_matches(['[', ']']).to_owned()).collect();
        names.sort_unstable();
        names
    };
    let sync = include_str!("../../../docs/cloud-sync.md");
    assert_eq!(
        names(sync, "Head office can manage ten sections of a gateway's configuration:", "written as"),
        sections
    );
    let reference = include_str!("../../../docs/configuration.md");
    assert_eq!(names(reference, "Each may hold the sections", ". A section"), sections);
}

#[test]
fn pms_section_is_validated_and_maps_vip_codes() {
    let good = format!(
        "{MINIMAL}\n[pms]\nmode = \"server\"\naddress = \"0.0.0.0:5010\"\nvip_codes = {{ VIP1 = \"vip\", LTS = \"long_stay\" }}\n\
         departure_item = \"hk.towels\"\n"
    );
    let config = parse(Path::new("b.toml"), &good).unwrap();
    let pms = config.pms.expect("a [pms] section");
    assert_eq!(pms.mode, LinkMode::Server);
    assert_eq!(pms.tier_for(Some("VIP1")), GuestTier::Vip);
    assert_eq!(pms.tier_for(Some(" LTS ")), GuestTier::LongStay);
    assert_eq!(pms.tier_for(Some("GOLD")), GuestTier::Standard);
    assert_eq!(pms.tier_for(None), GuestTier::Standard);
    assert_eq!(pms.retain, std::time::Duration::from_secs(30 * 86_400));

    let bad = format!(
        "{MINIMAL}\n[pms]\nmode = \"client\"\naddress = \"pms-host\"\ninterface_family = \"W\"\nkeep_alive_s = 0\n\
         outage_item = \"fo.nothing\"\ndeparture_item = \"hk.nothing\"\nretain_days = 5000\n"
    );
    let found = errors(&bad);
    for expected in [
        "pms.address",
        "pms.interface_family",
        "pms.keep_alive_s",
        "pms.outage_item",
        "pms.outage_location",
        "pms.departure_item",
        "pms.retain_days",
    ] {
        assert!(found.iter().any(|e| e.contains(expected)), "no error for {expected}: {found:?}");
    }
    assert!(errors(&format!("{MINIMAL}\n[pms]\nmode = \"sideways\"\naddress = \"h:1\"\n"))
        .iter()
        .any(|e| e.contains("pms.mode")));
}
