//! End to end: the HTTP API of the real binary: life cycle, filters and paging, and a clear 4xx for every client
//! mistake.

mod support;

use serde_json::{json, Value};
use support::*;

struct Rig {
    _dir: tempfile::TempDir,
    _broker: LocalBroker,
    daemon: Daemon,
    staff: String,
}

fn rig() -> Rig {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, ""));
    let staff = daemon.token("staff");
    Rig { _dir: dir, _broker: broker, daemon, staff }
}

async fn create(rig: &Rig, item: &str, location: &str) -> String {
    let (status, body) =
        post_json(&rig.daemon.http, "/api/v1/tickets", &rig.staff, json!({"item": item, "location": location})).await;
    assert_eq!(status, 201, "{body}");
    body["number"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_walks_its_life_cycle_and_illegal_steps_are_409() {
    let rig = rig();
    let http = &rig.daemon.http;
    let number = create(&rig, "eng.ac", "201").await;
    let steps = [
        ("acknowledge", 200, "acknowledged"),
        ("start", 200, "in_progress"),
        ("hold", 200, "on_hold"),
        ("acknowledge", 409, "on_hold"),
        ("resume", 200, "in_progress"),
        ("resolve", 200, "resolved"),
        ("resolve", 409, "resolved"),
        ("reopen", 200, "reopened"),
        ("resolve", 200, "resolved"),
        ("close", 200, "closed"),
        ("cancel", 409, "closed"),
    ];
    for (action, want, status_after) in steps {
        let (status, body) =
            post_json(http, &format!("/api/v1/tickets/{number}/{action}"), &rig.staff, json!({"reason": "test"})).await;
        assert_eq!(status, want, "{action}: {body}");
        if want == 409 {
            assert_eq!(body["error"]["code"], "conflict", "{body}");
        }
        let (_, now) = get(http, &format!("/api/v1/tickets/{number}"), &rig.staff).await;
        assert_eq!(now["ticket"]["status"], status_after, "after {action}");
    }
    let (status, body) =
        post_json(http, &format!("/api/v1/tickets/{number}/comments"), &rig.staff, json!({"text": "fan replaced"}))
            .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = get(http, &format!("/api/v1/tickets/{number}"), &rig.staff).await;
    let history = body["history"].as_array().unwrap();
    assert_eq!(history.len(), 3 + 8 + 1, "raised, routed, queued, eight status changes, one comment: {body}");
    assert_eq!(history.last().unwrap()["text"], "fan replaced");
    let kinds: Vec<&str> = history.iter().take(3).map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ticket_raised", "ticket_routed", "ticket_assigned"], "{body}");
    assert!(history.iter().skip(3).all(|e| e["actor"].as_str().unwrap().starts_with("token:")));
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_filters_and_pages() {
    let rig = rig();
    let http = &rig.daemon.http;
    for room in ["101", "102", "103", "104", "105"] {
        create(&rig, "hk.towels", room).await;
        create(&rig, "eng.ac", room).await;
    }
    let (status, body) = get(http, "/api/v1/tickets?department=engineering", &rig.staff).await;
    assert_eq!(status, 200);
    assert_eq!(body["tickets"].as_array().unwrap().len(), 5);
    let (_, body) = get(http, "/api/v1/tickets?location=103", &rig.staff).await;
    assert_eq!(body["tickets"].as_array().unwrap().len(), 2);
    post_json(http, "/api/v1/tickets/E2E-1/resolve", &rig.staff, json!({})).await;
    let (_, body) = get(http, "/api/v1/tickets?status=resolved", &rig.staff).await;
    assert_eq!(body["tickets"].as_array().unwrap().len(), 1);
    let (_, body) = get(http, "/api/v1/tickets?status=open", &rig.staff).await;
    assert_eq!(body["tickets"].as_array().unwrap().len(), 9);

    // Paging: 10 tickets, 4 per page, newest first, no overlap, nothing missed.
    let mut seen = Vec::new();
    let mut path = "/api/v1/tickets?limit=4".to_owned();
    loop {
        let (status, body) = get(http, &path, &rig.staff).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(body["tickets"].as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap().to_owned()));
        match body["next_before"].as_u64() {
            Some(before) => path = format!("/api/v1/tickets?limit=4&before={before}"),
            None => break,
        }
    }
    let want: Vec<String> = (1..=10).rev().map(|n| format!("E2E-{n}")).collect();
    assert_eq!(seen, want);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_mistakes_are_4xx_with_a_json_error() {
    let rig = rig();
    let base = &rig.daemon.http;
    let installer = rig.daemon.token("installer");
    let number = create(&rig, "hk.towels", "101").await;
    let ticket_path = format!("/api/v1/tickets/{number}");
    let json_ct = [("content-type", "application/json")];
    type Case<'a> = (&'a str, &'a str, String, Option<&'a str>, Vec<(&'a str, &'a str)>, Option<Vec<u8>>, u16);
    let cases: Vec<Case<'_>> = vec![
        ("no token", "GET", "/api/v1/tickets".into(), None, vec![], None, 401),
        ("bad token", "GET", "/api/v1/tickets".into(), Some("bh_nope"), vec![], None, 401),
        ("role not allowed", "GET", "/api/v1/tickets".into(), Some(&installer), vec![], None, 403),
        ("unknown ticket", "GET", "/api/v1/tickets/E2E-999".into(), Some(&rig.staff), vec![], None, 404),
        ("unknown endpoint", "GET", "/api/v1/nothing".into(), Some(&rig.staff), vec![], None, 404),
        ("unknown action", "POST", format!("{ticket_path}/explode"), Some(&rig.staff), vec![], None, 404),
        ("bad filter", "GET", "/api/v1/tickets?status=sleeping".into(), Some(&rig.staff), vec![], None, 400),
        ("bad limit", "GET", "/api/v1/tickets?limit=0".into(), Some(&rig.staff), vec![], None, 400),
        ("not json", "POST", "/api/v1/tickets".into(), Some(&rig.staff), json_ct.to_vec(), Some(b"{".to_vec()), 400),
        (
            "unknown field",
            "POST",
            "/api/v1/tickets".into(),
            Some(&rig.staff),
            json_ct.to_vec(),
            Some(br#"{"item":"hk.towels","location":"101","colour":"red"}"#.to_vec()),
            400,
        ),
        (
            "wrong content type",
            "POST",
            "/api/v1/tickets".into(),
            Some(&rig.staff),
            vec![("content-type", "text/plain")],
            Some(br#"{"item":"hk.towels","location":"101"}"#.to_vec()),
            415,
        ),
        (
            "too large",
            "POST",
            "/api/v1/tickets".into(),
            Some(&rig.staff),
            json_ct.to_vec(),
            Some(vec![b' '; 70 * 1024]),
            413,
        ),
        (
            "unknown item",
            "POST",
            "/api/v1/tickets".into(),
            Some(&rig.staff),
            json_ct.to_vec(),
            Some(br#"{"item":"hk.unicorn","location":"101"}"#.to_vec()),
            422,
        ),
        ("illegal step", "POST", format!("{ticket_path}/close"), Some(&rig.staff), vec![], None, 409),
        ("wrong method", "DELETE", ticket_path.clone(), Some(&rig.staff), vec![], None, 405),
    ];
    for (name, method, path, token, headers, body, want) in cases {
        let (status, body) = http(base, method, &path, token, &headers, body).await.expect("HTTP");
        assert_eq!(status, want, "{name}: {body}");
        assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{name}: {body}");
    }
    // Nothing above changed the ticket.
    let (_, body) = get(base, &ticket_path, &rig.staff).await;
    assert_eq!(body["ticket"]["status"], "new");
    assert_eq!(body["history"].as_array().map(Vec::len), Some(3), "raised, routed, queued: {body}");
    let (status, body) = http(base, "GET", "/healthz", None, &[], None).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["site"], "E2E");
    let _: &Value = &body;
}
