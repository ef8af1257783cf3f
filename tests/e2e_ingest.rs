//! End to end: requests published to a real Mosquitto reach the real `bellhop` binary, become tickets, and are
//! answered per `docs/tv-protocol.md`.

mod support;

use serde_json::json;
use support::*;
use tv_protocol::{AckResult, ErrorCode};

struct Rig {
    _dir: tempfile::TempDir,
    broker: LocalBroker,
    daemon: Daemon,
}

fn rig(extra: &str) -> Rig {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let config = base_config(&dir.path().join("data"), broker.port, extra);
    let daemon = Daemon::start(dir.path(), &config);
    daemon.wait_mqtt_connected();
    Rig { _dir: dir, broker, daemon }
}

#[tokio::test(flavor = "multi_thread")]
async fn request_is_acked_with_a_ticket_that_the_api_shows_with_its_history() {
    let rig = rig("");
    let status_topic = "bellhop/v1/loc/101/status".to_string();
    let mut tv = Device::connect(rig.broker.port, "101", "tv-101", std::slice::from_ref(&status_topic)).await;
    let ack = tv.request(br#"{"id":"r-0001","item":"hk.towels","qty":2,"note":"two please","future_field":1}"#).await;
    assert_eq!(ack.result, AckResult::Accepted, "{ack:?}");
    assert_eq!(ack.id, "r-0001");
    assert_eq!(ack.eta_s, Some(15 * 60));
    let number = ack.ticket.expect("ticket number");
    assert!(number.starts_with("E2E-"), "{number}");

    let token = rig.daemon.token("staff");
    let (status, body) = get(&rig.daemon.http, &format!("/api/v1/tickets/{number}"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ticket"]["location"], "101");
    assert_eq!(body["ticket"]["item"], "hk.towels");
    assert_eq!(body["ticket"]["department"], "housekeeping");
    assert_eq!(body["ticket"]["qty"], 2);
    assert_eq!(body["ticket"]["status"], "new");
    assert_eq!(body["ticket"]["source"], "tv");
    let history = body["history"].as_array().expect("history");
    assert_eq!(history[0]["kind"], "ticket_raised");
    assert_eq!(history[0]["actor"], "tv:tv-101");

    // The retained status for the room lists the open ticket.
    // (`next_on` fails the test when nothing arrives within its deadline.)
    let status = loop {
        let status = tv_protocol::decode_status(&tv.next_on(&status_topic).await).expect("a well-formed status");
        if status.tickets.iter().any(|t| t.ticket == number) {
            break status;
        }
    };
    assert_eq!(status.location, "101");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_with_the_same_id_is_a_duplicate_with_the_same_ticket() {
    let rig = rig("");
    let mut tv = Device::connect(rig.broker.port, "102", "tv-102", &[]).await;
    let first = tv.request(br#"{"id":"r-1","item":"eng.ac"}"#).await;
    let again = tv.request(br#"{"id":"r-1","item":"eng.ac"}"#).await;
    assert_eq!(first.result, AckResult::Accepted);
    assert_eq!(again.result, AckResult::Duplicate);
    assert_eq!(again.ticket, first.ticket);
    let db = open_db(&rig.daemon.data_dir);
    let tickets: i64 = db.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0)).unwrap();
    assert_eq!(tickets, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_item_open_at_the_location_is_merged_and_recorded() {
    let rig = rig("");
    let mut tv = Device::connect(rig.broker.port, "103", "tv-103", &[]).await;
    let mut tablet = Device::connect(rig.broker.port, "103", "tab-103", &[]).await;
    let first = tv.request(br#"{"id":"a","item":"hk.towels"}"#).await;
    let second = tablet.request(br#"{"id":"b","item":"hk.towels","qty":3}"#).await;
    assert_eq!(second.result, AckResult::Merged);
    assert_eq!(second.ticket, first.ticket);
    // A retry of the merged request is a duplicate of the same ticket.
    let retry = tablet.request(br#"{"id":"b","item":"hk.towels","qty":3}"#).await;
    assert_eq!(retry.result, AckResult::Duplicate);
    assert_eq!(retry.ticket, first.ticket);

    let token = rig.daemon.token("staff");
    let number = first.ticket.unwrap();
    let (_, body) = get(&rig.daemon.http, &format!("/api/v1/tickets/{number}"), &token).await;
    assert_eq!(body["ticket"]["repeats"], 1);
    let kinds: Vec<&str> = body["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ticket_raised", "ticket_routed", "ticket_assigned", "request_merged"]);
    assert_eq!(body["history"][3]["actor"], "tv:tab-103");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_rejection_is_answered_with_its_code_and_recorded() {
    let rig = rig("");
    let mut tv = Device::connect(rig.broker.port, "104", "tv-104", &[]).await;
    let big = format!(r#"{{"id":"big","item":"hk.towels","note":"{}"}}"#, "x".repeat(5000));
    let cases: Vec<(&str, Vec<u8>, ErrorCode, &str)> = vec![
        ("not json", b"towels please".to_vec(), ErrorCode::BadPayload, ""),
        ("missing item", br#"{"id":"m1"}"#.to_vec(), ErrorCode::BadPayload, "m1"),
        ("qty 0", br#"{"id":"q0","item":"hk.towels","qty":0}"#.to_vec(), ErrorCode::BadPayload, "q0"),
        ("qty over item max", br#"{"id":"q11","item":"hk.towels","qty":11}"#.to_vec(), ErrorCode::BadPayload, "q11"),
        ("bad id", br#"{"id":"has space","item":"hk.towels"}"#.to_vec(), ErrorCode::BadPayload, ""),
        ("too large", big.into_bytes(), ErrorCode::TooLarge, ""),
        ("unknown item", br#"{"id":"u1","item":"hk.unicorn"}"#.to_vec(), ErrorCode::UnknownItem, "u1"),
    ];
    for (name, payload, code, id) in &cases {
        let ack = tv.request(payload).await;
        assert_eq!(ack.result, AckResult::Rejected, "{name}: {ack:?}");
        assert_eq!(ack.error.as_ref().map(|e| e.code), Some(*code), "{name}: {ack:?}");
        assert_eq!(ack.ticket, None, "{name}");
        if !id.is_empty() {
            assert_eq!(&ack.id, id, "{name}");
        }
    }

    // A location the property does not know.
    let mut stranger = Device::connect(rig.broker.port, "999", "tv-999", &[]).await;
    let ack = stranger.request(br#"{"id":"x","item":"hk.towels"}"#).await;
    assert_eq!(ack.error.map(|e| e.code), Some(ErrorCode::LocationMismatch));

    let db = open_db(&rig.daemon.data_dir);
    let recorded: i64 =
        db.query_row("SELECT count(*) FROM events WHERE kind = 'request_rejected'", [], |r| r.get(0)).unwrap();
    assert_eq!(recorded as usize, cases.len() + 1, "every rejection is journaled");
    let tickets: i64 = db.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0)).unwrap();
    assert_eq!(tickets, 0, "no rejected request made a ticket");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_location_over_its_open_limit_is_rate_limited() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let config = base_config(&dir.path().join("data"), broker.port, "")
        .replace("max_open_per_location = 20", "max_open_per_location = 2");
    let daemon = Daemon::start(dir.path(), &config);
    daemon.wait_mqtt_connected();
    let mut tv = Device::connect(broker.port, "105", "tv-105", &[]).await;
    assert_eq!(tv.request(br#"{"id":"1","item":"hk.towels"}"#).await.result, AckResult::Accepted);
    assert_eq!(tv.request(br#"{"id":"2","item":"hk.pillows"}"#).await.result, AckResult::Accepted);
    let ack = tv.request(br#"{"id":"3","item":"eng.ac"}"#).await;
    assert_eq!(ack.error.map(|e| e.code), Some(ErrorCode::RateLimited));
    // A repeat of an item already open still merges: the guest is told it is on its way.
    assert_eq!(tv.request(br#"{"id":"4","item":"hk.towels"}"#).await.result, AckResult::Merged);
    // Once one is resolved, the location has room again.
    let token = daemon.token("staff");
    let (status, body) = post_json(&daemon.http, "/api/v1/tickets/E2E-1/resolve", &token, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(tv.request(br#"{"id":"5","item":"eng.ac"}"#).await.result, AckResult::Accepted);
}

#[test]
fn mosquitto_clients_can_follow_the_protocol_doc() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let config = base_config(&dir.path().join("data"), broker.port, "");
    let daemon = Daemon::start(dir.path(), &config);
    daemon.wait_mqtt_connected();
    let port = broker.port.to_string();
    let sub = std::process::Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-q",
            "1",
            "-C",
            "1",
            "-W",
            "20",
            "-t",
            "bellhop/v1/loc/201/dev/tv-201/ack",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mosquitto_sub (install mosquitto-clients)");
    // mosquitto_sub has no ready signal: publish until its answer arrives (the same id is answered once, then as
    // a duplicate, both carrying the same ticket).
    let output = std::thread::scope(|s| {
        let waiter = s.spawn(|| sub.wait_with_output().expect("mosquitto_sub output"));
        for _ in 0..30 {
            if waiter.is_finished() {
                break;
            }
            let status = std::process::Command::new("mosquitto_pub")
                .args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-t", "bellhop/v1/loc/201/dev/tv-201/request"])
                .args(["-m", r#"{"id":"r-0001","item":"hk.towels","qty":2}"#])
                .status()
                .expect("mosquitto_pub");
            assert!(status.success());
            // Like a TV: wait a moment for the ack, then send the same id again.
            poll_until(std::time::Duration::from_secs(1), || waiter.is_finished());
        }
        waiter.join().unwrap()
    });
    assert!(output.status.success(), "mosquitto_sub got no ack");
    let ack: serde_json::Value = serde_json::from_slice(&output.stdout).expect("ack is JSON");
    assert_eq!(ack["id"], "r-0001");
    assert!(ack["result"] == "accepted" || ack["result"] == "duplicate", "{ack}");
    assert_eq!(ack["ticket"], "E2E-1");
    assert_eq!(ack["eta_s"], 900);
}

#[tokio::test(flavor = "multi_thread")]
async fn guests_rate_resolved_tickets_once_and_cancel_open_ones() {
    let rig = rig("");
    let mut tv = Device::connect(rig.broker.port, "105", "tv-105", &[]).await;
    let towels = tv.request(br#"{"id":"t1","item":"hk.towels"}"#).await.ticket.unwrap();
    let ac = tv.request(br#"{"id":"t2","item":"eng.ac"}"#).await.ticket.unwrap();

    // Rating an open ticket is refused; the guest may cancel it instead, once.
    let early = tv.feedback(format!(r#"{{"id":"f1","ticket":"{towels}","kind":"rating","stars":5}}"#).as_bytes()).await;
    assert_eq!(early.error.map(|e| e.code), Some(ErrorCode::BadPayload));
    let cancel = format!(r#"{{"id":"f2","ticket":"{ac}","kind":"cancel"}}"#);
    assert_eq!(tv.feedback(cancel.as_bytes()).await.result, AckResult::Accepted);
    assert_eq!(tv.feedback(cancel.as_bytes()).await.result, AckResult::Duplicate);

    // Once resolved, a rating is accepted; its retry is a duplicate and records nothing more.
    let token = rig.daemon.token("staff");
    let (status, body) =
        post_json(&rig.daemon.http, &format!("/api/v1/tickets/{towels}/resolve"), &token, serde_json::json!({})).await;
    assert_eq!(status, 200, "{body}");
    let rating = format!(r#"{{"id":"f3","ticket":"{towels}","kind":"rating","stars":4,"comment":"quick"}}"#);
    assert_eq!(tv.feedback(rating.as_bytes()).await.result, AckResult::Accepted);
    assert_eq!(tv.feedback(rating.as_bytes()).await.result, AckResult::Duplicate);

    // Another room's device may not give feedback on this room's ticket.
    let mut other = Device::connect(rig.broker.port, "106", "tv-106", &[]).await;
    let foreign =
        other.feedback(format!(r#"{{"id":"x","ticket":"{towels}","kind":"rating","stars":1}}"#).as_bytes()).await;
    assert_eq!(foreign.error.map(|e| e.code), Some(ErrorCode::LocationMismatch));

    let (_, body) = get(&rig.daemon.http, &format!("/api/v1/tickets/{towels}"), &token).await;
    let ratings = body["history"].as_array().unwrap().iter().filter(|e| e["kind"] == "ticket_rated").count();
    assert_eq!(ratings, 1, "{body}");
    let (_, body) = get(&rig.daemon.http, &format!("/api/v1/tickets/{ac}"), &token).await;
    assert_eq!(body["ticket"]["status"], "cancelled");
}
