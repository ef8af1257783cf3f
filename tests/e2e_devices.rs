//! Devices end to end, with real mDNS on the host (the `bellhop simulate-device` reference device, a separate
//! process on a private mDNS port) and a real Mosquitto: discovery and binding (never to a location the property
//! does not know), one offline ticket per outage after the grace (goodbye and silent disappearance), wrong-room
//! requests refused and audited, payloads that repeat a key refused, the retained menu, each device's own status
//! under the shipped broker ACL, and a demo that adopts only its own TVs.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::*;
use tv_protocol::{AckResult, ErrorCode};

/// Devices on a private mDNS port, restricted to loopback, with a short grace and re-query for the test.
fn config(dir: &std::path::Path, broker: u16, mdns_port: u16) -> String {
    base_config(&dir.join("data"), broker, "")
        .replace(
            "[devices.mdns]\nenabled = false\n",
            &format!(
                "[devices]\noffline_grace_s = 1\nrequery_s = 1\noffline_item = \"eng.device_offline\"\n\n\
                 [devices.mdns]\nport = {mdns_port}\ninterfaces = [\"lo\"]\n"
            ),
        )
        + "\n[[catalog]]\ncode = \"eng.device_offline\"\ncategory = \"engineering\"\ndepartment = \"engineering\"\npriority = \"medium\"\n"
}

/// Starts `bellhop simulate-device`.
fn device(location: &str, id: &str, mdns_port: u16, mqtt: Option<u16>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bellhop"));
    command.args(["simulate-device", "--location", location, "--device", id, "--mdns-port", &mdns_port.to_string()]);
    if let Some(port) = mqtt {
        command.args(["--mqtt", &format!("mqtt://127.0.0.1:{port}")]);
    }
    command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start bellhop simulate-device")
}

async fn device_record(http: &str, token: &str, id: &str) -> Option<Value> {
    let (status, body) = get(http, &format!("/api/v1/devices/{id}"), token).await;
    (status == 200).then_some(body)
}

async fn wait_device(http: &str, token: &str, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let record = device_record(http, token, id).await;
        if let Some(record) = record.as_ref().filter(|r| check(r)) {
            return record.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {id} {what}; last: {record:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn offline_tickets(http: &str, token: &str, location: &str) -> Vec<Value> {
    let (_, body) = get(http, &format!("/api/v1/tickets?location={location}&limit=100"), token).await;
    body["tickets"].as_array().unwrap().iter().filter(|t| t["item"] == "eng.device_offline").cloned().collect()
}

async fn wait_offline_tickets(http: &str, token: &str, location: &str, n: usize) -> Vec<Value> {
    wait_until_async(Duration::from_secs(30), "the offline ticket", || async {
        let found = offline_tickets(http, token, location).await;
        (found.len() >= n).then_some(found)
    })
    .await
}

fn stop(child: &mut Child, signal: &str) {
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn discovered_devices_are_bound_and_each_outage_raises_one_ticket() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let mdns_port = free_port().unwrap();
    let daemon = Daemon::start(dir.path(), &config(dir.path(), broker.port, mdns_port));
    daemon.wait_mqtt_connected();
    let token = daemon.token("supervisor");
    let http = daemon.http.as_str();

    // Found over mDNS: in the inventory, bound to the room it claims, online.
    let mut tv = device("101", "tv-101", mdns_port, None);
    let record = wait_device(http, &token, "tv-101", "online", |d| d["online"] == true).await;
    assert_eq!(
        (record["bound"].as_str(), record["kind"].as_str(), record["state"].as_str()),
        (Some("101"), Some("tv"), Some("bound"))
    );

    // Goodbye: offline, and after the grace one ticket for the outage; back online, the ticket is annotated.
    stop(&mut tv, "TERM");
    wait_device(http, &token, "tv-101", "offline", |d| d["online"] == false).await;
    let tickets = wait_offline_tickets(http, &token, "101", 1).await;
    let number = tickets[0]["number"].as_str().unwrap().to_owned();
    let mut tv = device("101", "tv-101", mdns_port, None);
    wait_device(http, &token, "tv-101", "back online", |d| d["online"] == true && d["offline_ticket"].is_null()).await;
    let (_, body) = get(http, &format!("/api/v1/tickets/{number}"), &token).await;
    assert!(body["history"].as_array().unwrap().iter().any(|e| e["kind"] == "ticket_commented"), "{body}");
    assert_eq!(offline_tickets(http, &token, "101").await.len(), 1, "one outage, one ticket");

    // Silent disappearance (killed, no goodbye, its MQTT last will fires): found by re-query, one ticket.
    let mut other = device("102", "tv-102", mdns_port, Some(broker.port));
    wait_device(http, &token, "tv-102", "online with presence", |d| d["online"] == true && d["presence"] == true).await;
    stop(&mut other, "KILL");
    wait_device(http, &token, "tv-102", "offline", |d| d["online"] == false && d["mdns"] == false).await;
    wait_offline_tickets(http, &token, "102", 1).await;
    // Later observations of the same outage (the last will arriving) raise nothing more.
    wait_device(http, &token, "tv-102", "presence offline", |d| d["presence"] == false).await;
    assert_eq!(offline_tickets(http, &token, "102").await.len(), 1, "one outage, one ticket");
    stop(&mut tv, "TERM");
    assert_chain_verifies(&daemon.data_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_cannot_speak_for_another_room_and_installers_move_it() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, ""));
    daemon.wait_mqtt_connected();
    let mut tv = Device::connect(broker.port, "101", "tv-101", &[]).await;
    assert_eq!(tv.request(br#"{"id":"a","item":"hk.towels"}"#).await.result, AckResult::Accepted);

    // The same device id on another room's topic.
    let mut spoof = Device::connect(broker.port, "201", "tv-101", &[]).await;
    let ack = spoof.request(br#"{"id":"b","item":"hk.towels"}"#).await;
    assert_eq!(ack.error.map(|e| e.code), Some(ErrorCode::LocationMismatch));
    let db = open_db(&daemon.data_dir);
    let audited: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'request_rejected' AND actor = 'tv:tv-101'
             AND json_extract(payload, '$.code') = 'location_mismatch' AND json_extract(payload, '$.location') = '201'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);
    drop(spoof);

    // An installer moves it; now it speaks for 201 and no longer for 101.
    let installer = daemon.token("installer");
    let (status, body) =
        post_json(&daemon.http, "/api/v1/devices/tv-101/bind", &installer, serde_json::json!({"location": "201"}))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bound"], "201");
    let staff = daemon.token("staff");
    let (status, _) =
        post_json(&daemon.http, "/api/v1/devices/tv-101/bind", &staff, serde_json::json!({"location": "101"})).await;
    assert_eq!(status, 403);
    let ack = tv.request(br#"{"id":"c","item":"hk.pillows"}"#).await;
    assert_eq!(ack.error.map(|e| e.code), Some(ErrorCode::LocationMismatch));

    // The CLI lists it.
    let out = bellhop(&["devices", "list", "--data-dir", daemon.data_dir.to_str().unwrap()]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && listing.lines().any(|l| l.starts_with("tv-101") && l.contains("201")), "{listing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_devices_can_be_refused_by_configuration() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let text = base_config(&dir.path().join("data"), broker.port, "").replace(
        "[devices.mdns]\nenabled = false\n",
        "[devices]\nunknown = \"quarantine\"\n\n[devices.mdns]\nenabled = false\n",
    );
    let daemon = Daemon::start(dir.path(), &text);
    daemon.wait_mqtt_connected();
    let mut tv = Device::connect(broker.port, "103", "tv-103", &[]).await;
    let ack = tv.request(br#"{"id":"a","item":"hk.towels"}"#).await;
    assert_eq!(ack.error.map(|e| e.code), Some(ErrorCode::UnknownDevice));
    let installer = daemon.token("installer");
    let (_, listed) = get(&daemon.http, "/api/v1/devices?state=quarantined", &installer).await;
    assert_eq!(listed["devices"][0]["id"], "tv-103", "{listed}");
    let out = bellhop(&[
        "devices",
        "bind",
        "--config",
        daemon.config.to_str().unwrap(),
        "--data-dir",
        daemon.data_dir.to_str().unwrap(),
        "--device",
        "tv-103",
        "--location",
        "103",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tv.request(br#"{"id":"b","item":"hk.towels"}"#).await.result, AckResult::Accepted);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_menu_is_retained_and_follows_a_reload() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let internal = "\n[[catalog]]\ncode = \"eng.device_offline\"\ncategory = \"engineering\"\ndepartment = \"engineering\"\npriority = \"medium\"\nguest = false\n";
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, internal));
    daemon.wait_mqtt_connected();
    let menu_topic = "bellhop/v1/menu".to_string();
    // A TV that connects later still gets it: it is retained.
    let mut tv = Device::connect(broker.port, "104", "tv-104", std::slice::from_ref(&menu_topic)).await;
    let first = tv_protocol::decode_menu(&tv.next_on(&menu_topic).await).expect("a menu");
    assert!(first.items.iter().any(|i| i.code == "hk.towels" && i.labels["en"] == "Extra towels"), "{first:?}");
    // Items only Bellhop raises are neither on the menu nor accepted from a device.
    assert!(first.items.iter().all(|i| i.code != "eng.device_offline"), "{first:?}");
    let ack = tv.request(br#"{"id":"x","item":"eng.device_offline"}"#).await;
    assert_eq!(ack.error.map(|e| e.code), Some(ErrorCode::UnknownItem));
    std::fs::write(
        &daemon.config,
        std::fs::read_to_string(&daemon.config).unwrap()
            + "\n[[catalog]]\ncode = \"hk.iron\"\ncategory = \"housekeeping\"\ndepartment = \"housekeeping\"\npriority = \"low\"\nlabels = { en = \"Iron\" }\n",
    )
    .unwrap();
    let _ = Command::new("kill").arg("-HUP").arg(daemon.child.id().to_string()).status();
    let second = loop {
        let menu = tv_protocol::decode_menu(&tv.next_on(&menu_topic).await).expect("a menu");
        if menu.version != first.version {
            break menu;
        }
    };
    assert!(second.items.iter().any(|i| i.code == "hk.iron"), "{second:?}");
}

#[test]
fn the_gateway_advertisement_is_visible_to_a_browser() {
    let dir = scratch();
    let mdns_port = free_port().unwrap();
    let text = config(dir.path(), 1, mdns_port);
    let daemon = Daemon::start(dir.path(), &text);
    let browser = mdns_sd::ServiceDaemon::new_with_port(mdns_port).unwrap();
    let found = browser.browse(tv_protocol::GATEWAY_SERVICE).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let resolved = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match found.recv_timeout(left) {
            Ok(mdns_sd::ServiceEvent::ServiceResolved(info)) => break info,
            Ok(_) => continue,
            Err(_) => panic!("the gateway was not found over mDNS"),
        }
    };
    let port = daemon.http.rsplit(':').next().unwrap();
    assert_eq!(resolved.get_property_val_str("api"), Some(port));
    assert_eq!(resolved.get_property_val_str("site"), Some("E2E"));
    assert_eq!(resolved.get_property_val_str("proto"), Some("1"));
    assert_eq!(resolved.get_property_val_str("rev"), Some("2"));
    assert_eq!(resolved.get_property_val_str("mqtt"), Some("1"));
    let _ = browser.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_first_seen_on_an_unknown_location_is_not_bound_and_then_works_in_its_real_room() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, ""));
    daemon.wait_mqtt_connected();
    let token = daemon.token("installer");

    // First seen on a location the property does not list: refused, recorded unbound with the reason, logged.
    let mut misconfigured = Device::connect(broker.port, "999", "tv-105", &[]).await;
    let ack = misconfigured.request(br#"{"id":"a","item":"hk.towels"}"#).await;
    let error = ack.error.expect("rejected");
    assert_eq!(error.code, ErrorCode::LocationMismatch);
    assert!(error.message.contains("999"), "{}", error.message);
    let record = device_record(&daemon.http, &token, "tv-105").await.expect("recorded");
    assert_eq!(
        (record["bound"].as_str(), record["state"].as_str(), record["claim"].as_str()),
        (None, Some("unbound"), Some("999")),
        "{record}"
    );
    let db = open_db(&daemon.data_dir);
    let reason: String = db
        .query_row(
            "SELECT json_extract(payload, '$.reason') FROM events WHERE kind = 'device_bound'
             AND json_extract(payload, '$.device') = 'tv-105'",
            [],
            |r| r.get(0),
        )
        .expect("one device_bound event with a reason");
    assert!(reason.contains("location 999 is not one this property knows"), "{reason}");
    wait_until(Duration::from_secs(10), "the log line", || {
        daemon.log_text().contains("claims a location this property does not know").then_some(())
    });
    drop(misconfigured);

    // Re-configured for its real room: bound there at its first request, which is accepted.
    let mut tv = Device::connect(broker.port, "105", "tv-105", &[]).await;
    let ack = tv.request(br#"{"id":"b","item":"hk.towels"}"#).await;
    assert_eq!(ack.result, AckResult::Accepted, "{ack:?}");
    let record = device_record(&daemon.http, &token, "tv-105").await.expect("recorded");
    assert_eq!((record["bound"].as_str(), record["state"].as_str()), (Some("105"), Some("bound")), "{record}");
    let tickets: i64 = db.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0)).unwrap();
    assert_eq!(tickets, 1, "only the request in its real room raised a ticket");
    assert_chain_verifies(&daemon.data_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payload_that_repeats_a_key_is_bad_payload_and_raises_nothing() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, ""));
    daemon.wait_mqtt_connected();
    let mut tv = Device::connect(broker.port, "106", "tv-106", &[]).await;

    // Whichever value would win, nothing is raised: the whole payload is refused.
    let ack = tv.request(br#"{"id":"r1","item":"hk.towels","item":"eng.ac"}"#).await;
    assert_eq!((ack.result, ack.id.as_str()), (AckResult::Rejected, ""), "{ack:?}");
    let error = ack.error.expect("an error");
    assert_eq!(error.code, ErrorCode::BadPayload);
    assert!(error.message.contains("duplicate key \"item\""), "{}", error.message);
    let ack = tv.feedback(br#"{"id":"f1","ticket":"E2E-1","kind":"rating","kind":"cancel","stars":5}"#).await;
    assert_eq!(ack.error.map(|e| e.code), Some(ErrorCode::BadPayload));

    // The same request without the repeat is taken: the device and the gateway are otherwise fine.
    let ack = tv.request(br#"{"id":"r2","item":"hk.towels"}"#).await;
    assert_eq!(ack.result, AckResult::Accepted, "{ack:?}");
    let db = open_db(&daemon.data_dir);
    let items: Vec<String> = db
        .prepare("SELECT item FROM tickets")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(items, ["hk.towels"], "the repeated-key request raised nothing");
    let rejected: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'request_rejected' AND json_extract(payload, '$.code') = 'bad_payload'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rejected, 2, "both refusals are journaled");
}

/// The shipped Mosquitto ACL, as the package installs it.
const SHIPPED_ACL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deb/mosquitto/bellhop.acl.example");

/// A Mosquitto password file with `users` (name, password), made with `mosquitto_passwd` as an installer does.
fn password_file(dir: &std::path::Path, users: &[(&str, &str)]) -> std::path::PathBuf {
    let file = dir.join("bellhop.passwd");
    for (i, (user, password)) in users.iter().enumerate() {
        let mut command = Command::new("mosquitto_passwd");
        if i == 0 {
            command.arg("-c");
        }
        let status = command.arg("-b").arg(&file).args([user, password]).status().expect("run mosquitto_passwd");
        assert!(status.success(), "mosquitto_passwd {user}");
    }
    file
}

fn decode(payload: &[u8]) -> tv_protocol::LocationStatus {
    tv_protocol::decode_status(payload).expect("a well-formed status")
}

#[tokio::test(flavor = "multi_thread")]
async fn under_the_shipped_acl_a_device_reads_its_own_rooms_status_and_no_other() {
    let dir = scratch();
    let users = [
        ("bellhop", "gateway-secret"),
        ("monitor", "monitor-secret"),
        ("tv-101", "secret-101"),
        ("tv-102", "secret-102"),
    ];
    let passwd = password_file(dir.path(), &users);
    let broker = LocalBroker::start_secured(&dir.path().join("mosquitto"), &passwd, std::path::Path::new(SHIPPED_ACL))
        .expect("start mosquitto with the shipped ACL");
    let text = base_config(&dir.path().join("data"), broker.port, "").replace(
        "client_id = \"bellhop-e2e\"\n",
        "client_id = \"bellhop-e2e\"\nusername = \"bellhop\"\npassword = \"gateway-secret\"\n",
    );
    let daemon = Daemon::start(dir.path(), &text);
    daemon.wait_mqtt_connected();
    let topics = tv_protocol::Topics::new("bellhop").unwrap();

    // Room 102's TV raises a ticket and sees it in its own status.
    let own_102 = topics.device_status("tv-102");
    let login_102 = Some(("tv-102", "secret-102"));
    let mut tv_102 = Device::connect_as(broker.port, "102", "tv-102", std::slice::from_ref(&own_102), login_102).await;
    let ack = tv_102.request(br#"{"id":"a","item":"eng.ac"}"#).await;
    let secret_ticket = ack.ticket.expect("accepted");
    let status = loop {
        let status = decode(&tv_102.next_on(&own_102).await);
        if status.tickets.iter().any(|t| t.ticket == secret_ticket) {
            break status;
        }
    };
    assert_eq!(status.location, "102");
    // It is on the location's topic too, retained, for the monitor user.
    let room_102 = topics.status("102");
    let login = Some(("monitor", "monitor-secret"));
    let mut monitor = Device::connect_as(broker.port, "lobby", "monitor", std::slice::from_ref(&room_102), login).await;
    while !decode(&monitor.next_on(&room_102).await).tickets.iter().any(|t| t.ticket == secret_ticket) {}

    // Room 101's TV asks for room 102's status every way it can, and for everything under the root.
    let own_101 = topics.device_status("tv-101");
    let prying = [
        own_101.clone(),
        room_102.clone(),
        own_102.clone(),
        "bellhop/v1/loc/+/status".to_string(),
        "bellhop/v1/dev/+/status".to_string(),
        "bellhop/#".to_string(),
    ];
    let login_101 = Some(("tv-101", "secret-101"));
    let mut tv_101 = Device::connect_as(broker.port, "101", "tv-101", &prying, login_101).await;
    tv_101.publish_request(br#"{"id":"b","item":"hk.towels"}"#).await;
    // Everything it was sent up to its ack: the retained messages its subscriptions matched came before.
    let received = tv_101.everything_until(&topics.ack("101", "tv-101")).await;
    let topics_seen: Vec<&str> = received.iter().map(|(t, _)| t.as_str()).collect();
    assert!(topics_seen.contains(&"bellhop/v1/menu"), "the retained menu arrives: {topics_seen:?}");
    for (topic, payload) in &received {
        assert!(
            topic != &room_102 && topic != &own_102 && !String::from_utf8_lossy(payload).contains(&secret_ticket),
            "room 101's TV was sent room 102's status on {topic}"
        );
    }
    let ack = tv_protocol::decode_ack(&received.last().expect("the ack").1).unwrap();
    let own_ticket = ack.ticket.expect("accepted");
    // Its own status: room 101's, with its ticket.
    let status = loop {
        let status = decode(&tv_101.next_on(&own_101).await);
        if status.tickets.iter().any(|t| t.ticket == own_ticket) {
            break status;
        }
    };
    assert_eq!(status.location, "101");
    assert!(status.tickets.iter().all(|t| t.ticket != secret_ticket));

    // An installer moves room 101's TV to 103: its status follows the binding.
    let installer = daemon.token("installer");
    let (code, body) =
        post_json(&daemon.http, "/api/v1/devices/tv-101/bind", &installer, serde_json::json!({"location": "103"}))
            .await;
    assert_eq!(code, 200, "{body}");
    while decode(&tv_101.next_on(&own_101).await).location != "103" {}
}

/// `bellhop demo` as a child process, interrupted (so it stops its broker) when dropped.
struct Demo {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Demo {
    fn start(dir: &std::path::Path) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bellhop"))
            .args(["demo", "--rooms", "2", "--rate", "0.5", "--http", "127.0.0.1:0", "--dir"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bellhop demo");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Demo { child, lines }
    }

    /// The first line the demo prints that `pick` accepts, within 60 s.
    fn find<T>(&self, what: &str, pick: impl Fn(&str) -> Option<T>) -> T {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("the demo did not print {what}"));
            if let Some(found) = pick(&line) {
                return found;
            }
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        if !poll_until(Duration::from_secs(20), || matches!(self.child.try_wait(), Ok(Some(_)))) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_adopts_only_its_own_tvs() {
    let dir = scratch();
    let demo = Demo::start(dir.path());
    let port: u16 = demo.find("the broker's port", |l| {
        l.strip_prefix("Mosquitto is listening on mqtt://127.0.0.1:").and_then(|p| p.trim().parse().ok())
    });
    let (http, token) = demo.find("the API and its token", |l| {
        let rest = l.strip_prefix("The staff API is at http://")?;
        let (http, token) = rest.split_once("  (token for this demo: ")?;
        Some((http.to_owned(), token.trim_end_matches(')').to_owned()))
    });

    // Another process's device on the demo's broker, claiming one of its rooms: quarantined, never bound.
    let mut stranger = Device::connect(port, "101", "stranger-tv", &[]).await;
    let ack = stranger.request(br#"{"id":"s1","item":"hk.towels"}"#).await;
    assert_eq!(ack.error.map(|e| e.code), Some(ErrorCode::UnknownDevice));
    let record = device_record(&http, &token, "stranger-tv").await.expect("recorded");
    assert_eq!((record["bound"].as_str(), record["state"].as_str()), (None, Some("quarantined")), "{record}");

    // The demo's own TV in that room is bound and its requests are taken.
    let own = device_record(&http, &token, "tv-101").await.expect("the demo's TV");
    assert_eq!((own["bound"].as_str(), own["state"].as_str()), (Some("101"), Some("bound")), "{own}");
    demo.find("an accepted request from its own TVs", |l| l.contains("-> accepted").then_some(()));
    drop(stranger);
}
