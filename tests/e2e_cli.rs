//! End to end: the command line an installer meets first: `check-config`, a refused configuration, `verify`.

mod support;

use support::*;

#[test]
fn the_shipped_example_configuration_is_accepted() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/bellhop.toml");
    let out = bellhop(&["check-config", "--config", example]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_bad_configuration_exits_64_naming_file_key_and_line_before_binding() {
    let dir = scratch();
    // Hold the HTTP port: had the daemon tried to bind it first, it would fail with a bind error, not 64.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let mut text = base_config(&dir.path().join("data"), 1, "");
    text = text.replacen("department = \"engineering\"", "department = \"plumbing\"", 1);
    text += "\n[surprise]\nkey = 1\n";
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, &text).unwrap();
    let out = bellhop(&["run", "--config", config.to_str().unwrap(), "--http", &format!("127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml:"), "{stderr}");
    assert!(stderr.contains("surprise") || stderr.contains("plumbing"), "{stderr}");
    let check = bellhop(&["check-config", "--config", config.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(64));
}

#[test]
fn check_config_reports_five_mistakes_of_shape_in_one_run_in_plain_words() {
    let dir = scratch();
    let planted = [
        ("time_zone = ", "timezone = "),
        ("max_open_per_location = 20", "max_open_per_location = \"twenty\""),
        ("enabled = false", "enabled = \"no\""),
        ("max_qty = 10", "max_qty = 300"),
        ("kind = \"room\"", "kind = \"rom\""),
    ];
    let text = planted
        .iter()
        .fold(base_config(&dir.path().join("data"), 1, ""), |text, (from, to)| text.replacen(from, to, 1));
    let config = dir.path().join("five.toml");
    std::fs::write(&config, &text).unwrap();
    let out = bellhop(&["check-config", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let expected = [
        ("site.timezone", "unknown key; did you mean \"time_zone\"?"),
        ("limits.max_open_per_location", "must be a whole number from 0 to 4294967295, not \"twenty\""),
        ("devices.mdns.enabled", "must be true or false, not \"no\""),
        ("catalog[0].max_qty", "must be a whole number from 0 to 255, not 300"),
        ("locations[0].kind", "must be one of \"room\" or \"area\", not \"rom\"; did you mean \"room\"?"),
    ];
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, (key, message)) in lines.iter().zip(expected) {
        // FILE:LINE: KEY: MESSAGE, and the line is the one the mistake is on.
        let rest = line.strip_prefix(&format!("{}:", config.display())).unwrap_or_else(|| panic!("{line}"));
        let (number, rest) = rest.split_once(": ").unwrap();
        assert_eq!(rest, format!("{key}: {message}"));
        let written = text.lines().nth(number.parse::<usize>().unwrap() - 1).unwrap();
        let field = key.rsplit('.').next().unwrap();
        assert!(written.starts_with(field), "line {number} is {written:?}, not the line of {key}");
    }
}

#[test]
fn verify_finds_an_edited_event() {
    let dir = scratch();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for role in ["admin", "staff", "analytics"] {
        let out = bellhop(&["token", "create", "--role", role, "--data-dir", data.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_chain_verifies(&data);
    let db = rusqlite::Connection::open(data.join("bellhop.db")).unwrap();
    db.execute("UPDATE events SET payload = replace(payload, 'staff', 'admin') WHERE seq = 2", []).unwrap();
    drop(db);
    let out = bellhop(&["verify", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sequence 2"), "{stderr}");
    let bad_role = bellhop(&["token", "create", "--role", "root", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(bad_role.status.code(), Some(64));
}
