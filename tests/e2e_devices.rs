//! Devices end to end, with real mDNS on the host (the `bellhop simulate-device` reference device, a separate
//! process on a private mDNS port) and a real Mosquitto: discovery and binding, one offline ticket per outage after
//! the grace (goodbye and silent disappearance), wrong-room requests refused and audited, the retained menu.

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
