//! Routing and assignment end to end: guests' TVs publish requests to a real Mosquitto, the real `bellhop` binary
//! routes them, shares them out among the housekeepers on duty, hands them on at clock-out, queues them (and tells the
//! supervisor) while nobody is on duty, routes by guest tier, refuses a bad reload without a change, and throttles a
//! flooding device.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use tv_protocol::{AckResult, ErrorCode, NoticeKind, Topics};

/// Two housekeepers without shifts (they clock in by hand), a supervisor scheduled around the clock (so queued
/// tickets reach them, though they are never on duty to take tickets), a second towel item, and a rule that sends VIP
/// guests' towel requests to staff with the `vip_service` skill at high priority.
const ROUTING: &str = r#"
[[catalog]]
code = "hk.pool_towels"
category = "housekeeping"
department = "housekeeping"
priority = "low"
eta_min = 15
labels = { en = "Pool towels" }

[[shifts]]
name = "allday"
hours = "00:00-24:00"

[[staff]]
id = "ana"
name = "Ana"
departments = ["housekeeping"]
max_open = 100

[[staff]]
id = "bea"
name = "Bea"
departments = ["housekeeping"]
skills = ["vip_service"]
max_open = 100

[[staff]]
id = "sam"
name = "Sam"
role = "supervisor"
departments = ["housekeeping"]
shifts = ["allday"]

[[rules]]
name = "vip-towels"
items = ["hk.towels"]
guest_tiers = ["vip"]
priority = "high"
skill = "vip_service"
"#;

/// Every room of [`base_config`].
fn rooms() -> Vec<String> {
    (1..=2).flat_map(|floor| (1..=10).map(move |room| format!("{floor}{room:02}"))).collect()
}

struct Rig {
    _dir: tempfile::TempDir,
    broker: LocalBroker,
    daemon: Daemon,
    /// The configuration file's text as started.
    config: String,
    staff: String,
}

fn rig() -> Rig {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let config = base_config(&dir.path().join("data"), broker.port, ROUTING);
    let daemon = Daemon::start(dir.path(), &config);
    daemon.wait_mqtt_connected();
    let staff = daemon.token("manager");
    Rig { _dir: dir, broker, daemon, config, staff }
}

impl Rig {
    async fn duty(&self, staff: &str, duty: &str) {
        let (status, body) =
            post_json(&self.daemon.http, &format!("/api/v1/staff/{staff}/duty"), &self.staff, json!({ "duty": duty }))
                .await;
        assert_eq!(status, 200, "{staff} {duty}: {body}");
        assert_eq!(body["duty"], duty, "{body}");
    }

    /// The numbers of the tickets a listing query returns (one page of up to 500).
    async fn listed(&self, query: &str) -> Vec<String> {
        let (status, body) = get(&self.daemon.http, &format!("/api/v1/tickets?limit=500&{query}"), &self.staff).await;
        assert_eq!(status, 200, "{query}: {body}");
        body["tickets"].as_array().expect("tickets").iter().map(|t| t["number"].as_str().unwrap().to_owned()).collect()
    }

    async fn ticket(&self, number: &str) -> Value {
        let (status, body) = get(&self.daemon.http, &format!("/api/v1/tickets/{number}"), &self.staff).await;
        assert_eq!(status, 200, "{number}: {body}");
        body["ticket"].clone()
    }

    async fn routing(&self, number: &str) -> Value {
        let (status, body) = get(&self.daemon.http, &format!("/api/v1/tickets/{number}/routing"), &self.staff).await;
        assert_eq!(status, 200, "{number}: {body}");
        body
    }

    /// Open tickets per member of staff, as the roster reports them.
    async fn roster_open(&self) -> Vec<(String, u64, String)> {
        let (status, body) = get(&self.daemon.http, "/api/v1/staff", &self.staff).await;
        assert_eq!(status, 200, "{body}");
        body["staff"]
            .as_array()
            .expect("staff")
            .iter()
            .map(|s| {
                (s["id"].as_str().unwrap().to_owned(), s["open"].as_u64().unwrap(), s["duty"].as_str().unwrap().into())
            })
            .collect()
    }

    /// One request from a fresh TV in `room`; returns the ticket number of an accepted ack.
    async fn request(&self, room: &str, device: &str, id: &str, item: &str) -> String {
        let mut tv = Device::connect(self.broker.port, room, device, &[]).await;
        let ack = tv.request(json!({ "id": id, "item": item }).to_string().as_bytes()).await;
        assert_eq!(ack.result, AckResult::Accepted, "{ack:?}");
        ack.ticket.expect("an accepted ack names its ticket")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forty_requests_are_shared_evenly_and_handed_on_at_clock_out() {
    let rig = rig();
    rig.duty("ana", "on").await;
    rig.duty("bea", "on").await;

    // Twenty rooms, each with its own TV, ask for towels and pool towels at the same time.
    let mut tasks = Vec::new();
    for room in rooms() {
        let port = rig.broker.port;
        tasks.push(tokio::spawn(async move {
            let mut tv = Device::connect(port, &room, &format!("tv-{room}"), &[]).await;
            let mut acks = Vec::new();
            for (id, item) in [("r1", "hk.towels"), ("r2", "hk.pool_towels")] {
                acks.push(tv.request(json!({ "id": id, "item": item }).to_string().as_bytes()).await);
            }
            (room, acks)
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        let (room, acks) = task.await.expect("room task");
        for ack in acks {
            assert_eq!(ack.result, AckResult::Accepted, "{room}: {ack:?}");
            numbers.push(ack.ticket.expect("ticket"));
        }
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 40, "forty distinct tickets");

    let ana = rig.listed("assignee=ana&status=open").await;
    let bea = rig.listed("assignee=bea&status=open").await;
    assert_eq!((ana.len(), bea.len()), (20, 20), "least-loaded assignment shares them out evenly");
    assert!(rig.listed("queued=true").await.is_empty(), "nothing waits while two can take tickets");
    let roster = rig.roster_open().await;
    assert!(roster.contains(&("ana".into(), 20, "on".into())), "{roster:?}");
    assert!(roster.contains(&("bea".into(), 20, "on".into())), "{roster:?}");
    assert!(roster.contains(&("sam".into(), 0, "off".into())), "the supervisor is not given work: {roster:?}");
    let sample = rig.ticket(&ana[0]).await;
    assert_eq!((sample["status"].as_str(), sample["assignee"].as_str()), (Some("assigned"), Some("ana")), "{sample}");

    // Ana clocks out: every one of her open tickets goes to Bea.
    rig.duty("ana", "off").await;
    assert!(rig.listed("assignee=ana&status=open").await.is_empty(), "Ana keeps nothing");
    let mut now_bea = rig.listed("assignee=bea&status=open").await;
    now_bea.sort();
    assert_eq!(now_bea, numbers, "Bea has all forty");
    let roster = rig.roster_open().await;
    assert!(roster.contains(&("ana".into(), 0, "off".into())), "{roster:?}");
    assert!(roster.contains(&("bea".into(), 40, "on".into())), "{roster:?}");

    let routing = rig.routing(&ana[0]).await;
    let assignments = routing["assignments"].as_array().expect("assignments");
    assert_eq!(assignments.len(), 2, "{routing}");
    assert_eq!((assignments[0]["how"].as_str(), assignments[0]["staff"].as_str()), (Some("auto"), Some("ana")));
    let handoff = &assignments[1];
    assert_eq!(handoff["how"], "handoff", "{routing}");
    assert_eq!(handoff["previous"], "ana", "{routing}");
    assert_eq!(handoff["staff"], "bea", "{routing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_reload_is_refused_whole_and_routing_goes_on_as_before() {
    let rig = rig();
    let admin = rig.daemon.token("admin");
    rig.duty("ana", "on").await;
    let before = rig.request("101", "tv-101", "r1", "hk.towels").await;
    let before = rig.ticket(&before).await;
    assert_eq!((before["priority"].as_str(), before["assignee"].as_str()), (Some("low"), Some("ana")), "{before}");

    // A valid rule that would change towels, and a rule naming a department that does not exist.
    let bad = format!(
        "{}{}",
        rig.config,
        r#"
[[rules]]
name = "towels-urgent"
items = ["hk.towels"]
priority = "critical"

[[rules]]
name = "to-laundry"
items = ["hk.pillows"]
department = "laundry"
"#
    );
    let line = bad.lines().position(|l| l == r#"department = "laundry""#).expect("the bad line") + 1;
    std::fs::write(&rig.daemon.config, &bad).expect("rewrite the configuration");

    let (status, body) = post_json(&rig.daemon.http, "/api/v1/admin/reload", &admin, json!({})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_config", "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    let place = format!("{}:{line}: rules[2].department", rig.daemon.config.display());
    assert!(message.contains(&place), "the error names file, line and key ({place}): {message}");
    assert!(message.contains("laundry"), "{message}");
    let (status, _) = post_json(&rig.daemon.http, "/api/v1/admin/reload", &rig.staff, json!({})).await;
    assert_eq!(status, 403, "only an admin may reload");

    // SIGHUP takes the same path and is refused the same way.
    let hup = std::process::Command::new("kill").arg("-HUP").arg(rig.daemon.child.id().to_string()).status();
    assert!(hup.expect("kill -HUP").success());
    wait_until(Duration::from_secs(10), "the SIGHUP reload to be refused", || {
        let (_, text) = http_get_text_blocking(&rig.daemon.http, "/metrics", Some(&rig.staff)).ok()?;
        text.lines().any(|l| l == "bellhop_config_reload_failures_total 2").then_some(())
    });

    // Routing is unchanged: towels are still low priority and go to whoever is on duty.
    let after = rig.request("102", "tv-102", "r1", "hk.towels").await;
    let after = rig.ticket(&after).await;
    assert_eq!(after["department"], "housekeeping", "{after}");
    assert_eq!((after["priority"].as_str(), after["assignee"].as_str()), (Some("low"), Some("ana")), "{after}");
    let routing = rig.routing(after["number"].as_str().unwrap()).await;
    assert_eq!(routing["routing"]["rule"], Value::Null, "no rule of the refused file applies: {routing}");

    // The same change without the mistake is taken, so the refusal above was about the mistake.
    let good = bad.replace(r#"department = "laundry""#, r#"department = "engineering""#);
    std::fs::write(&rig.daemon.config, &good).expect("rewrite the configuration");
    let (status, body) = post_json(&rig.daemon.http, "/api/v1/admin/reload", &admin, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let urgent = rig.request("103", "tv-103", "r1", "hk.towels").await;
    let urgent = rig.ticket(&urgent).await;
    assert_eq!(urgent["priority"], "critical", "{urgent}");
    let routing = rig.routing(urgent["number"].as_str().unwrap()).await;
    assert_eq!(routing["routing"]["rule"], "towels-urgent", "{routing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_nobody_on_duty_a_ticket_waits_and_the_supervisor_is_told() {
    let rig = rig();
    let topics = Topics::new("bellhop").unwrap();
    let (sam_topic, ana_topic) = (topics.staff_notify("sam"), topics.staff_notify("ana"));
    let mut handheld =
        Device::connect(rig.broker.port, "lobby", "handhelds", &[sam_topic.clone(), ana_topic.clone()]).await;

    let number = rig.request("104", "tv-104", "r1", "hk.towels").await;
    let ticket = rig.ticket(&number).await;
    assert_eq!(ticket["assignee"], Value::Null, "{ticket}");
    assert_eq!(ticket["status"], "new", "{ticket}");
    assert_eq!(rig.listed("queued=true").await, std::slice::from_ref(&number));

    let notice = tv_protocol::decode_notice(&handheld.next_on(&sam_topic).await).expect("a well-formed notice");
    assert_eq!(notice.kind, NoticeKind::Queued, "{notice:?}");
    assert_eq!(
        (notice.ticket.as_str(), notice.item.as_str(), notice.location.as_str(), notice.department.as_str()),
        (number.as_str(), "hk.towels", "104", "housekeeping")
    );
    let routing = rig.routing(&number).await;
    assert_eq!(routing["assignments"][0]["how"], "queued", "{routing}");
    assert_eq!(routing["assignments"][0]["considered"]["flagged"], json!(["sam"]), "{routing}");

    // Ana clocks in and takes what waits.
    rig.duty("ana", "on").await;
    let ticket = rig.ticket(&number).await;
    assert_eq!((ticket["assignee"].as_str(), ticket["status"].as_str()), (Some("ana"), Some("assigned")), "{ticket}");
    assert!(rig.listed("queued=true").await.is_empty());
    let notice = tv_protocol::decode_notice(&handheld.next_on(&ana_topic).await).expect("a well-formed notice");
    assert_eq!((notice.kind, notice.ticket.as_str()), (NoticeKind::Assigned, number.as_str()), "{notice:?}");
    let routing = rig.routing(&number).await;
    let last = routing["assignments"].as_array().and_then(|a| a.last()).cloned().unwrap_or_default();
    assert_eq!((last["how"].as_str(), last["staff"].as_str()), (Some("auto"), Some("ana")), "{routing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vip_guests_request_follows_the_tier_rule_to_the_skilled_housekeeper() {
    let rig = rig();
    // Bea is on duty first and takes an ordinary request, so Ana (on duty next) is the less loaded.
    rig.duty("bea", "on").await;
    let ordinary = rig.request("106", "tv-106", "r1", "hk.towels").await;
    assert_eq!(rig.ticket(&ordinary).await["assignee"], "bea");
    rig.duty("ana", "on").await;

    let (status, body) = http(
        &rig.daemon.http,
        "PUT",
        "/api/v1/locations/105/guest-tier",
        Some(&rig.staff),
        &[("content-type", "application/json")],
        Some(json!({ "tier": "vip" }).to_string().into_bytes()),
    )
    .await
    .expect("HTTP");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["guest_tier"], "vip", "{body}");

    let vip = rig.request("105", "tv-105", "r1", "hk.towels").await;
    let ticket = rig.ticket(&vip).await;
    assert_eq!(ticket["priority"], "high", "{ticket}");
    assert_eq!(ticket["skill"], "vip_service", "{ticket}");
    assert_eq!(ticket["assignee"], "bea", "only Bea has the skill, though Ana is less loaded: {ticket}");
    let routing = rig.routing(&vip).await;
    assert_eq!(routing["routing"]["rule"], "vip-towels", "{routing}");
    assert_eq!(routing["routing"]["priority"], "high", "{routing}");
    assert_eq!(routing["routing"]["explanation"]["guest_tier"], "vip", "{routing}");
    let considered = &routing["assignments"][0]["considered"]["considered"];
    assert!(
        considered.as_array().unwrap().contains(&json!({ "staff": "ana", "excluded": "lacks the skill" })),
        "{routing}"
    );

    // The same item from a standard room takes no rule and goes to the less loaded.
    let standard = rig.request("107", "tv-107", "r1", "hk.towels").await;
    let ticket = rig.ticket(&standard).await;
    assert_eq!((ticket["priority"].as_str(), ticket["assignee"].as_str()), (Some("low"), Some("ana")), "{ticket}");
    assert_eq!(ticket["skill"], Value::Null, "{ticket}");
    assert_eq!(rig.routing(&standard).await["routing"]["rule"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flooding_device_is_rate_limited_and_raises_nothing_more() {
    let rig = rig();
    let mut tv = Device::connect(rig.broker.port, "110", "tv-110", &[]).await;
    // The default burst is 10 per device: the first raises a ticket, the next nine are merged into it (merges count
    // too), and the rest are refused.
    let mut acks = Vec::new();
    for n in 1..=13 {
        acks.push(tv.request(json!({ "id": format!("f{n}"), "item": "hk.towels" }).to_string().as_bytes()).await);
    }
    assert_eq!(acks[0].result, AckResult::Accepted, "{:?}", acks[0]);
    let number = acks[0].ticket.clone().expect("ticket");
    for ack in &acks[1..10] {
        assert_eq!((ack.result, ack.ticket.as_deref()), (AckResult::Merged, Some(number.as_str())), "{ack:?}");
    }
    for (n, ack) in acks.iter().enumerate().skip(10) {
        assert_eq!(ack.result, AckResult::Rejected, "{ack:?}");
        assert_eq!(ack.id, format!("f{}", n + 1));
        assert_eq!(ack.ticket, None, "{ack:?}");
        assert_eq!(ack.error.as_ref().map(|e| e.code), Some(ErrorCode::RateLimited), "{ack:?}");
    }

    // Another device in the same room still gets through: the limit was this device's.
    let other = rig.request("110", "tv-110b", "o1", "hk.pillows").await;
    assert_ne!(other, number);

    let at_110 = rig.listed("location=110").await;
    assert_eq!(at_110.len(), 2, "{at_110:?}");
    assert_eq!(rig.ticket(&number).await["repeats"], 9, "the refused requests were not merged either");
    let db = open_db(&rig.daemon.data_dir);
    let refused: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'request_rejected' AND payload LIKE '%rate_limited%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(refused, 3, "every refusal is journaled");
}

/// A reload that takes someone off the roster hands their open tickets on by the same rule.
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_removes_someone_hands_their_tickets_on() {
    let rig = rig();
    let admin = rig.daemon.token("admin");
    rig.duty("ana", "on").await;
    rig.duty("bea", "on").await;
    let first = rig.request("101", "tv-101", "r1", "hk.towels").await;
    let second = rig.request("102", "tv-102", "r1", "hk.towels").await;
    let held_by_bea = if rig.ticket(&first).await["assignee"] == "bea" { first } else { second };
    assert_eq!(rig.ticket(&held_by_bea).await["assignee"], "bea");

    let without_bea = rig.config.replace(
        "[[staff]]\nid = \"bea\"\nname = \"Bea\"\ndepartments = [\"housekeeping\"]\nskills = [\"vip_service\"]\nmax_open = 100\n",
        "",
    );
    assert_ne!(without_bea, rig.config, "Bea is in the configuration");
    std::fs::write(&rig.daemon.config, &without_bea).unwrap();
    let (status, body) = post_json(&rig.daemon.http, "/api/v1/admin/reload", &admin, json!({})).await;
    assert_eq!(status, 200, "{body}");
    // The writer applies the new roster with its next batch: any request.
    rig.request("103", "tv-103", "r1", "hk.pillows").await;
    let moved = rig.ticket(&held_by_bea).await;
    assert_eq!(moved["assignee"], "ana", "{moved}");
    let routing = rig.routing(&held_by_bea).await;
    let last = routing["assignments"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["how"].as_str(), last["previous"].as_str()), (Some("handoff"), Some("bea")), "{routing}");
}
