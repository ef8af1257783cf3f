//! The PMS link end to end: the real `bellhop` binary against a PMS simulator the tests own (`pms_sim.rs`, written
//! from docs/pms.md), in client and server mode. Check-in (with the resync at link start), VIP tier raised on open
//! tickets, stale requests closed, occupancy in routing, room move, check-out with departure cleaning, room status
//! sent back as RE, garbage between frames, the link dropping and returning (resync again, one outage ticket,
//! resolved on return), a PMS that never answers the link start, and guest data pruned and erased with the chain
//! still verifying.

#[path = "pms_sim.rs"]
mod pms_sim;
mod support;

use std::time::Duration;

use pms_sim::Pms;
use serde_json::{json, Value};
use support::*;

const LIMIT: Duration = Duration::from_secs(15);

/// A front office owning the link's outage ticket, a departure-cleaning item, a VIP SLA policy, and a rule that
/// makes pillows urgent in rooms due out.
const HOTEL: &str = r#"
[[departments]]
code = "front_office"
name = "Front office"

[[catalog]]
code = "fo.pms_link"
category = "front_office"
department = "front_office"
priority = "high"
guest = false
labels = { en = "PMS link down" }

[[catalog]]
code = "hk.departure"
category = "housekeeping"
department = "housekeeping"
priority = "medium"
guest = false
labels = { en = "Departure cleaning" }

[[sla]]
name = "vip-fast"
response = "5m"
resolution = "30m"
guest_tiers = ["vip"]

[[rules]]
name = "due-out-pillows"
items = ["hk.pillows"]
occupancy = ["due_out"]
priority = "high"
"#;

fn pms_section(mode: &str, address: &str, extra: &str) -> String {
    format!(
        r#"
[pms]
mode = "{mode}"
address = "{address}"
keep_alive_s = 1
answer_timeout_s = 2
reconnect_max_s = 1
outage_after_s = 2
outage_item = "fo.pms_link"
outage_location = "lobby"
vip_codes = {{ VIP1 = "vip", LS = "long_stay" }}
departure_item = "hk.departure"
close_stale_on_check_in = true
{extra}
"#
    )
}

/// Today in the property's time zone, as FIAS writes dates (`yyMMdd`).
fn today_fias() -> String {
    let output = std::process::Command::new("date").env("TZ", "Europe/Lisbon").arg("+%y%m%d").output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn events(data_dir: &std::path::Path, kind: &str) -> Vec<Value> {
    let db = open_db(data_dir);
    let mut statement = db.prepare("SELECT payload FROM events WHERE kind = ?1 ORDER BY seq").unwrap();
    let rows = statement.query_map([kind], |r| r.get::<_, String>(0)).unwrap();
    rows.map(|p| serde_json::from_str(&p.unwrap()).unwrap()).collect()
}

fn wait_events(data_dir: &std::path::Path, kind: &str, n: usize) -> Vec<Value> {
    wait_until(LIMIT, &format!("{n} {kind} events"), || {
        let found = events(data_dir, kind);
        (found.len() >= n).then_some(found)
    })
}

fn room(data_dir: &std::path::Path, location: &str) -> Option<(String, Option<String>)> {
    let db = open_db(data_dir);
    db.query_row("SELECT occupancy, guest FROM rooms WHERE location = ?1", [location], |r| Ok((r.get(0)?, r.get(1)?)))
        .ok()
}

fn health_pms(http: &str) -> Value {
    http_get_blocking(http, "/healthz", None).map(|(_, body)| body["pms"].clone()).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn check_in_vip_move_check_out_and_room_status_over_a_client_link() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let (listener, port) = pms_sim::listen();
    let extra = format!("{HOTEL}{}", pms_section("client", &format!("127.0.0.1:{port}"), ""));
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, &extra));
    daemon.wait_mqtt_connected();
    let data = daemon.data_dir.clone();
    let staff = daemon.token("staff");

    // The link start: LS, LD and one LR per record type, LA, then a full resync that finds room 102 occupied.
    let mut pms = Pms::accept(&listener, LIMIT);
    let wanted = pms.start_link();
    for kind in ["GI", "GO", "GC", "RE"] {
        assert!(wanted.iter().any(|w| w == kind), "no LR for {kind}: {wanted:?}");
    }
    pms.resync(&["GI|RN102|G#R-2|GNJones|GLGE|GA261120|GD301231|"]);
    let checked_in = wait_events(&data, "guest_checked_in", 1);
    assert_eq!(checked_in[0]["location"], "102");
    assert_eq!(checked_in[0]["resync"], true);
    assert_eq!(room(&data, "102").map(|r| r.0), Some("occupied".into()));
    wait_until(LIMIT, "the link up in /healthz", || (health_pms(&daemon.http)["state"] == "up").then_some(()));

    // Room 101, still vacant: a TV asks for towels and staff raise an item for it.
    let mut tv = Device::connect(broker.port, "101", "tv-101", &[]).await;
    let ack = tv.request(br#"{"id":"r-1","item":"hk.towels","qty":1}"#).await;
    let tv_ticket = ack.ticket.clone().expect("a ticket for the TV");
    let (status, staff_ticket) =
        post_json(&daemon.http, "/api/v1/tickets", &staff, json!({"item": "hk.pillows", "location": "101"})).await;
    assert_eq!(status, 201, "{staff_ticket}");
    let staff_ticket = staff_ticket["number"].as_str().unwrap().to_owned();
    assert_eq!(
        events(&data, "ticket_routed").last().unwrap()["rule"],
        Value::Null,
        "a vacant room's pillows are not due-out pillows"
    );

    // A VIP checks in to 101, due out today: the TV's request left from before is cancelled, the staff ticket's
    // tier is raised and its SLA policy becomes the VIP one.
    let today = today_fias();
    pms.send(&format!("GI|RN101|G#R-1|GNSmith|GFAnn|GLEA|GVVIP1|GA{today}|GD{today}|"));
    let raised = wait_events(&data, "ticket_tier_raised", 1);
    assert_eq!(raised[0]["ticket"], staff_ticket.as_str());
    assert_eq!(raised[0]["tier"], "vip");
    assert_eq!(raised[0]["sla"], "vip-fast");
    let db = open_db(&data);
    let policy: String =
        db.query_row("SELECT sla_policy FROM tickets WHERE number = ?1", [&staff_ticket], |r| r.get(0)).unwrap();
    assert_eq!(policy, "vip-fast");
    let tv_status: String =
        db.query_row("SELECT status FROM tickets WHERE number = ?1", [&tv_ticket], |r| r.get(0)).unwrap();
    assert_eq!(tv_status, "cancelled", "the previous guest's request is closed at check-in");
    let tier: String =
        db.query_row("SELECT guest_tier FROM location_flags WHERE location = '101'", [], |r| r.get(0)).unwrap();
    assert_eq!(tier, "vip");

    // A new request in the occupied, due-out room: routed by occupancy, and it carries the guest's language.
    let (status, _) =
        post_json(&daemon.http, "/api/v1/tickets", &staff, json!({"item": "hk.pillows", "location": "101", "qty": 2}))
            .await;
    assert!(status == 201 || status == 200);
    let raised = events(&data, "ticket_raised");
    assert_eq!(raised.last().unwrap()["language"], "EA");
    let routed = events(&data, "ticket_routed");
    let last = routed.last().unwrap();
    assert_eq!(last["rule"], "due-out-pillows");
    assert_eq!(last["explanation"]["occupancy"], "due_out");

    // Garbage on the line is skipped; the next record is read.
    pms.send_raw(b"\r\nnoise\x02GI|RN1\x01|\x03\x02not a record\x03");
    // The guest moves from 101 to 103.
    pms.send("GC|RN103|RO101|G#R-1|");
    let moved = wait_events(&data, "guest_moved", 1);
    assert_eq!((moved[0]["from"].as_str(), moved[0]["to"].as_str()), (Some("101"), Some("103")));
    assert_eq!(room(&data, "101").map(|r| r.0), Some("vacant".into()));
    let (occupancy, guest) = room(&data, "103").unwrap();
    assert_eq!(occupancy, "occupied");
    assert_eq!(guest.as_deref(), moved[0]["guest"].as_str());

    // Check-out: the room is vacant and housekeeping gets its departure cleaning.
    pms.send("GO|RN103|G#R-1|");
    let out = wait_events(&data, "guest_checked_out", 1);
    assert_eq!(out[0]["location"], "103");
    let departure: i64 = wait_until(LIMIT, "a departure-cleaning ticket", || {
        let n: i64 = open_db(&data)
            .query_row("SELECT COUNT(*) FROM tickets WHERE item = 'hk.departure' AND location = '103'", [], |r| {
                r.get(0)
            })
            .unwrap();
        (n > 0).then_some(n)
    });
    assert_eq!(departure, 1);

    // Housekeeping inspects 103: the PMS receives RE with maid status 5 (inspected, vacant).
    let (status, body) = http(
        &daemon.http,
        "PUT",
        "/api/v1/locations/103/room-status",
        Some(&staff),
        &[("content-type", "application/json")],
        Some(br#"{"status":"inspected"}"#.to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let re = pms.expect("RE", LIMIT);
    assert!(re.contains("RN103") && re.contains("RS5"), "{re}");

    // The personal data is in the guests table, never in the journal.
    let db = open_db(&data);
    let name: String = db.query_row("SELECT name FROM guests WHERE reservation = 'R-1'", [], |r| r.get(0)).unwrap();
    assert_eq!(name, "Smith");
    let leaks: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM events WHERE instr(payload, 'Smith') OR instr(payload, 'Jones') OR instr(payload, 'R-1')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaks, 0, "no name or reservation number in the journal");
    let (_, metrics) = http_get_text_blocking(&daemon.http, "/metrics", Some(&staff)).unwrap();
    let garbage = metrics.lines().find_map(|l| l.strip_prefix("bellhop_pms_garbage_total ")).unwrap();
    assert!(garbage.parse::<u64>().unwrap() >= 2, "{metrics}");
    assert!(metrics.contains("bellhop_pms_link_up 1"));
    assert_chain_verifies(&data);
}

#[test]
fn server_mode_drop_and_return_resyncs_and_raises_one_outage_ticket() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let port = free_port().unwrap();
    let address = format!("127.0.0.1:{port}");
    let extra = format!("{HOTEL}{}", pms_section("server", &address, ""));
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, &extra));
    let data = daemon.data_dir.clone();

    let mut pms = Pms::connect(&address, LIMIT);
    pms.start_link();
    pms.resync(&["GI|RN101|G#A|GNAlpha|", "GI|RN102|G#B|GNBravo|"]);
    wait_events(&data, "guest_checked_in", 2);
    wait_until(LIMIT, "the link up", || (health_pms(&daemon.http)["state"] == "up").then_some(()));

    // The PMS goes away for longer than outage_after_s: one ticket for the front office.
    drop(pms);
    let outage = |data: &std::path::Path| -> Vec<(String, String)> {
        let db = open_db(data);
        let mut statement = db.prepare("SELECT number, status FROM tickets WHERE item = 'fo.pms_link'").unwrap();
        statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    wait_until(LIMIT, "the outage ticket", || (!outage(&data).is_empty()).then_some(()));
    let (_, health) = http_get_blocking(&daemon.http, "/healthz", None).unwrap();
    assert_eq!(health["status"], "degraded");
    assert_ne!(health["pms"]["state"], "up");
    // Still down for longer than outage_after_s again: still one ticket.
    assert!(!poll_until(Duration::from_millis(2500), || outage(&data).len() > 1), "a second outage ticket");

    // The PMS returns: a new link start, a new resync (102 has left meanwhile), and the ticket is resolved.
    let mut pms = Pms::connect(&address, LIMIT);
    pms.start_link();
    pms.resync(&["GI|RN101|G#A|GNAlpha|"]);
    let out = wait_events(&data, "guest_checked_out", 1);
    assert_eq!(out[0]["location"], "102");
    assert_eq!(out[0]["resync"], true);
    assert_eq!(events(&data, "guest_checked_in").len(), 2, "101's guest, reported again, is not checked in twice");
    wait_until(LIMIT, "the outage ticket resolved", || {
        let tickets = outage(&data);
        (tickets.len() == 1 && tickets[0].1 == "resolved").then_some(())
    });
    let snapshot = health_pms(&daemon.http);
    assert_eq!(snapshot["state"], "up");
    assert!(snapshot["resyncs"].as_u64().unwrap() >= 2, "{snapshot}");
    assert!(snapshot["reconnects"].as_u64().unwrap() >= 1, "{snapshot}");
    assert_chain_verifies(&data);
}

#[test]
fn client_mode_link_drop_and_return_starts_and_resyncs_again() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let (listener, port) = pms_sim::listen();
    let extra = format!("{HOTEL}{}", pms_section("client", &format!("127.0.0.1:{port}"), ""));
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, &extra));
    let data = daemon.data_dir.clone();

    let mut pms = Pms::accept(&listener, LIMIT);
    pms.start_link();
    pms.resync(&["GI|RN104|G#C|"]);
    wait_events(&data, "guest_checked_in", 1);
    // The PMS ends the link; Bellhop connects again, starts the link and asks for a resync.
    pms.send("LE|");
    let mut pms = Pms::accept(&listener, LIMIT);
    pms.start_link();
    pms.resync(&["GI|RN104|G#C|", "GI|RN105|G#D|"]);
    let checked_in = wait_events(&data, "guest_checked_in", 2);
    assert_eq!(checked_in[1]["location"], "105");
    // Keep-alive: with keep_alive_s = 1 Bellhop sends LA while the link is up.
    pms.expect("LA", LIMIT);
    assert!(health_pms(&daemon.http)["reconnects"].as_u64().unwrap() >= 1);
}

#[test]
fn a_pms_that_never_answers_the_link_start_is_dropped_and_tried_again() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let (listener, port) = pms_sim::listen();
    let extra = format!("{HOTEL}{}", pms_section("client", &format!("127.0.0.1:{port}"), ""));
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, &extra));

    let mut silent = Pms::accept(&listener, LIMIT);
    silent.expect("LS", LIMIT);
    assert!(silent.closed_within(Duration::from_secs(6)), "the daemon waits forever for an answer to LS");
    let pms = health_pms(&daemon.http);
    assert_ne!(pms["state"], "up");
    assert!(pms["last_error"].as_str().unwrap_or_default().contains("did not answer"), "{pms}");
    // It tries again, and a PMS that answers gets the link.
    let mut answering = Pms::accept(&listener, LIMIT);
    answering.start_link();
    wait_until(LIMIT, "the link up", || (health_pms(&daemon.http)["state"] == "up").then_some(()));
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_data_is_pruned_after_retention_and_erased_on_request_and_the_chain_still_verifies() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let (listener, port) = pms_sim::listen();
    let extra =
        format!("{HOTEL}{}", pms_section("client", &format!("127.0.0.1:{port}"), "retain_days = 0\nprune_every_s = 1"));
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, &extra));
    let data = daemon.data_dir.clone();
    let manager = daemon.token("manager");
    let staff = daemon.token("staff");

    let mut pms = Pms::accept(&listener, LIMIT);
    pms.start_link();
    pms.resync(&[]);
    pms.send("GI|RN106|G#KEEP|GNKeeper|GFKim|");
    pms.send("GI|RN107|G#GONE|GNLeaver|");
    pms.send("GI|RN108|G#CLI|GNCommand|");
    wait_events(&data, "guest_checked_in", 3);

    // Export: everything held about a guest, for a manager; not for staff.
    let (status, body) = get(&daemon.http, "/api/v1/guests/KEEP", &manager).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["guests"][0]["name"], "Keeper");
    assert_eq!(body["guests"][0]["first_name"], "Kim");
    let (status, _) = get(&daemon.http, "/api/v1/guests/KEEP", &staff).await;
    assert_eq!(status, 403);

    // Retention: 107 checks out, and with retain_days = 0 its data goes at the next pass.
    pms.send("GO|RN107|G#GONE|");
    let deleted = wait_events(&data, "guest_data_deleted", 1);
    assert_eq!(deleted[0]["reason"], "retention");
    let gone: i64 =
        open_db(&data).query_row("SELECT COUNT(*) FROM guests WHERE reservation = 'GONE'", [], |r| r.get(0)).unwrap();
    assert_eq!(gone, 0);

    // Erasure on request over the API, and from the command line.
    let tickets_before: i64 = open_db(&data).query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0)).unwrap();
    let (status, body) = http(&daemon.http, "DELETE", "/api/v1/guests/KEEP", Some(&manager), &[], None).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["erased"].as_array().unwrap().len(), 1);
    let (status, _) = get(&daemon.http, "/api/v1/guests/KEEP", &manager).await;
    assert_eq!(status, 404);
    let out = bellhop(&[
        "guest",
        "erase",
        "CLI",
        "--config",
        daemon.config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bellhop(&["guest", "show", "CLI", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(66), "nothing is held any more");
    let erasures: Vec<Value> =
        events(&data, "guest_data_deleted").into_iter().filter(|e| e["reason"] == "erasure").collect();
    assert_eq!(erasures.len(), 2);

    // Nothing of the names is left anywhere in the file's tables; the chain verifies; the figures add up.
    let db = open_db(&data);
    let names: i64 = db
        .query_row("SELECT COUNT(*) FROM guests WHERE name IN ('Keeper', 'Leaver', 'Command')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(names, 0);
    assert_chain_verifies(&data);
    assert_eq!(events(&data, "guest_checked_in").len(), 3, "the stays are still counted");
    let tickets_after: i64 = db.query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0)).unwrap();
    assert_eq!(tickets_after, tickets_before);
    // Rooms still show their (anonymous) stays.
    assert_eq!(room(&data, "106").map(|r| r.0), Some("occupied".into()));
}
