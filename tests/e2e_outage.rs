//! SLA time in virtual time, on the daemon run in-process with a virtual clock. A 72-hour WAN outage: head office
//! refuses every upload while guests keep asking and staff keep working; every escalation fires on time, exactly
//! once, in order, and when head office comes back every event of the three days reaches it once, in order. Also:
//! clock steps, and a policy change that clears a breach that no longer holds.

#[path = "support/receiver.rs"]
mod receiver;
mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bellhop::clock::{format_time, Clock, VirtualClock};
use receiver::{Fake, Options, Receiver};
use serde_json::json;
use support::*;

const GATEWAY: &str = "hotel-72";
const SECRET: &[u8] = b"hotel-72-secret-0123456789abcdef";
const MINUTE: i64 = 60_000;
const HOURS: i64 = 72;

/// Tickets whose SLA clocks are due at or before `now` (the scheduler has not handled them yet).
fn due_now(db: &rusqlite::Connection, now: jiff::Timestamp) -> i64 {
    db.query_row(
        "SELECT count(*) FROM tickets WHERE sla_due_ms IS NOT NULL AND sla_due_ms <= ?1",
        [now.as_millisecond()],
        |r| r.get(0),
    )
    .unwrap()
}

/// Escalation events as (ticket, level, at, due_at), in journal order.
fn escalations(db: &rusqlite::Connection) -> Vec<(String, u64, String, String)> {
    let mut stmt = db.prepare("SELECT at, payload FROM events WHERE kind = 'ticket_escalated' ORDER BY seq").unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|row| {
            let (at, payload) = row.unwrap();
            let event: serde_json::Value = serde_json::from_str(&payload).unwrap();
            let ticket = event["ticket"].as_str().unwrap().to_owned();
            (ticket, event["level"].as_u64().unwrap(), at, event["due_at"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// A property run in-process on a virtual clock that starts on a whole minute, so every deadline falls on a step of
/// the clock; with a private Mosquitto and an admin token.
struct Property {
    _dir: tempfile::TempDir,
    _broker: LocalBroker,
    data_dir: std::path::PathBuf,
    config_path: std::path::PathBuf,
    /// The configuration file as first written.
    text: String,
    token: String,
    start: jiff::Timestamp,
    clock: Arc<VirtualClock>,
}

impl Property {
    /// Writes the configuration: the test hotel, the escalation ladder, and whatever `extra` adds (given the
    /// property's directory, for files the extra sections name).
    fn new(extra: impl FnOnce(&std::path::Path) -> String) -> Property {
        let dir = scratch();
        let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
        let data_dir = dir.path().join("data");
        let config_path = dir.path().join("bellhop.toml");
        let text = base_config(&data_dir, broker.port, &(extra(dir.path()) + &ladder()));
        std::fs::write(&config_path, &text).unwrap();
        let token = bellhop::cli::issue_token(&data_dir, bellhop::vocab::Role::Admin, "virtual time").unwrap();
        let start = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() / 60 * 60).unwrap();
        let clock = Arc::new(VirtualClock::new(start));
        Property { _dir: dir, _broker: broker, data_dir, config_path, text, token, start, clock }
    }

    /// Starts the daemon on the configuration file as it is now; returns it and its API address.
    async fn start(&self) -> (bellhop::app::Running, String) {
        let config = bellhop::config::load(&self.config_path).expect("valid config");
        let running = bellhop::app::start_with_clock(config, self.clock.clone()).await.expect("daemon starts");
        let http = running.http.to_string();
        (running, http)
    }

    /// Raises a towels ticket at `room` through the API; returns its number.
    async fn raise(&self, http: &str, room: &str) -> String {
        let (status, body) =
            post_json(http, "/api/v1/tickets", &self.token, json!({ "item": "hk.towels", "location": room })).await;
        assert_eq!(status, 201, "{body}");
        body["number"].as_str().unwrap().to_owned()
    }
}

/// NTP steps the system clock an hour forward, then an hour back: no burst of escalations at the forward step, no
/// frozen clock after the backward one; each level fires after the time that really passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_step_neither_bursts_nor_freezes_escalations() {
    let property = Property::new(|_| String::new());
    let (running, http) = property.start().await;
    let (clock, start) = (&property.clock, property.start);
    let db = open_db(&property.data_dir);
    property.raise(&http, "101").await;

    // Ten minutes pass, then the clock jumps an hour ahead: the 45-minute level is not due, 10 minutes have passed.
    clock.advance(Duration::from_secs(600));
    clock.step(60 * MINUTE);
    let stepped = clock.now();
    wait_until(Duration::from_secs(10), "the step to be noticed", || {
        let steps: i64 =
            db.query_row("SELECT count(*) FROM events WHERE kind = 'clock_stepped'", [], |r| r.get(0)).unwrap();
        (steps == 1).then_some(())
    });
    assert_eq!(due_now(&db, stepped), 0, "nothing is due after the step");
    assert!(escalations(&db).is_empty(), "no burst at the step");

    // 34 more minutes: still not due (44 minutes have really passed).
    clock.advance(Duration::from_secs(34 * 60));
    wait_until(Duration::from_secs(10), "the scheduler", || (due_now(&db, clock.now()) == 0).then_some(()));
    assert!(escalations(&db).is_empty(), "not early");
    // The 45th minute: level 1 fires, due an hour (the step) after the original deadline.
    clock.advance(Duration::from_secs(60));
    let fired = wait_until(Duration::from_secs(10), "level 1", || {
        let fired = escalations(&db);
        (!fired.is_empty()).then_some(fired)
    });
    let due = format_time(start + jiff::SignedDuration::from_mins(45 + 60));
    assert_eq!(fired, vec![("E2E-1".to_owned(), 1, due.clone(), due)]);

    // Now back an hour: the clock keeps running (not frozen for an hour): level 2 comes after 75 more real minutes.
    clock.step(-60 * MINUTE);
    clock.advance(Duration::from_secs(74 * 60));
    wait_until(Duration::from_secs(10), "the scheduler", || (due_now(&db, clock.now()) == 0).then_some(()));
    assert_eq!(escalations(&db).len(), 1, "level 2 not early");
    clock.advance(Duration::from_secs(60));
    let fired = wait_until(Duration::from_secs(10), "level 2", || {
        let fired = escalations(&db);
        (fired.len() == 2).then_some(fired)
    });
    assert_eq!(fired[1].1, 2);
    assert_eq!(fired[1].2, fired[1].3, "on time");
    assert_eq!(fired[1].2, format_time(start + jiff::SignedDuration::from_mins(120)));
    running.stop().await.unwrap();
}

/// The gateway's clock runs a day ahead when a ticket is raised, and NTP then puts it right. The ticket's created
/// time moves back with its deadlines, so no deadline shows before the ticket was raised, and the SLA clock keeps
/// the ten minutes that really passed; the journal keeps the time as the clock read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_corrected_a_day_back_moves_created_times_with_deadlines() {
    const DAY: i64 = 24 * 60 * MINUTE;
    let property = Property::new(|_| String::new());
    let (clock, start, token) = (&property.clock, property.start, &property.token);
    let after = |minutes: i64| format_time(start + jiff::SignedDuration::from_mins(minutes));
    // The daemon starts on the wrong clock: nothing tells it the clock is wrong yet.
    clock.step(DAY);
    let (running, http) = property.start().await;
    let number = property.raise(&http, "101").await;
    let (_, raised) = get(&http, &format!("/api/v1/tickets/{number}"), token).await;
    assert_eq!(raised["ticket"]["created_at"], after(24 * 60), "{raised}");
    assert_eq!(raised["ticket"]["sla"]["response_due"], after(24 * 60 + 30), "{raised}");

    clock.advance(Duration::from_secs(600));
    clock.step(-DAY);
    let db = open_db(&property.data_dir);
    wait_until(Duration::from_secs(10), "the step to be noticed", || {
        let steps: i64 =
            db.query_row("SELECT count(*) FROM events WHERE kind = 'clock_stepped'", [], |r| r.get(0)).unwrap();
        (steps == 1).then_some(())
    });
    let (_, ticket) = get(&http, &format!("/api/v1/tickets/{number}"), token).await;
    let ticket_now = &ticket["ticket"];
    assert_eq!(ticket_now["created_at"], after(0), "moved back with the clock: {ticket}");
    assert_eq!(ticket_now["sla"]["response_due"], after(30), "30 minutes after it was raised: {ticket}");
    assert_eq!(ticket_now["sla"]["resolution_due"], after(240), "{ticket}");
    assert!(ticket_now["updated_at"].as_str() >= ticket_now["created_at"].as_str(), "{ticket}");
    assert!(ticket_now["sla"]["response_due"].as_str() > ticket_now["created_at"].as_str(), "{ticket}");
    let history = ticket["history"].as_array().unwrap();
    let raised_event = history.iter().find(|e| e["kind"] == "ticket_raised").expect("ticket_raised");
    assert_eq!(raised_event["at"], after(24 * 60), "the journal keeps what the clock read");

    // The clock kept running across the correction: the response target falls 20 minutes later, not a day later.
    clock.advance(Duration::from_secs(20 * 60));
    wait_until(Duration::from_secs(10), "the response breach", || {
        let (_, ticket) = http_get_blocking(&http, &format!("/api/v1/tickets/{number}"), Some(token)).unwrap();
        (ticket["ticket"]["sla"]["flag"] == "red").then_some(())
    });
    running.stop().await.unwrap();
}

/// A reload that lengthens the response target recomputes the open ticket: its breach is cleared and its flag
/// goes back from red.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_clears_a_breach_that_no_longer_holds() {
    let property = Property::new(|_| String::new());
    let (running, http) = property.start().await;
    let (clock, start, token) = (&property.clock, property.start, &property.token);
    let db = open_db(&property.data_dir);
    property.raise(&http, "101").await;
    clock.advance(Duration::from_secs(35 * 60));
    let sla = wait_until(Duration::from_secs(10), "the response breach", || {
        let (_, ticket) = http_get_blocking(&http, "/api/v1/tickets/E2E-1", Some(token)).unwrap();
        (ticket["ticket"]["sla"]["flag"] == "red").then(|| ticket["ticket"]["sla"].clone())
    });
    assert_eq!(sla["measures"]["response_breached"], true);

    std::fs::write(&property.config_path, property.text.replace("response = \"30m\"", "response = \"1h\"")).unwrap();
    running.reload().expect("the new policy is valid");
    // The writer recomputes open clocks with its next batch: the scheduler's next look, or any command.
    clock.advance(Duration::from_secs(60));
    let sla = wait_until(Duration::from_secs(10), "the breach to clear", || {
        let (_, ticket) = http_get_blocking(&http, "/api/v1/tickets/E2E-1", Some(token)).unwrap();
        (ticket["ticket"]["sla"]["flag"] != "red").then(|| ticket["ticket"]["sla"].clone())
    });
    assert_eq!(sla["flag"], "green", "36 of 60 minutes is under the 75 % mark: {sla}");
    assert_eq!(sla["response_due"], format_time(start + jiff::SignedDuration::from_mins(60)), "{sla}");
    assert_eq!(sla["measures"]["response_breached"], false, "{sla}");
    let cleared: i64 =
        db.query_row("SELECT count(*) FROM events WHERE kind = 'sla_breach_cleared'", [], |r| r.get(0)).unwrap();
    assert_eq!(cleared, 1);
    running.stop().await.unwrap();
}

/// Deadlines live in the store: the daemon stops ten minutes after a request and starts again three hours later;
/// each missed level fires once, in order, with the time it was due. An edit to the policy made while it was
/// stopped applies to the open clock when it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_missed_levels_fire_once_in_order_and_an_edited_policy_applies() {
    let property = Property::new(|_| String::new());
    let (running, http) = property.start().await;
    let (clock, start, token) = (&property.clock, property.start, &property.token);
    for room in ["101", "102"] {
        property.raise(&http, room).await;
    }
    clock.advance(Duration::from_secs(600));
    running.stop().await.unwrap();

    // While it is stopped the resolution target of the towels policy goes from 4 hours to 2 hours 30 minutes.
    std::fs::write(&property.config_path, property.text.replace("resolution = \"4h\"", "resolution = \"2h 30m\""))
        .unwrap();
    clock.advance(Duration::from_secs(3 * 3600));
    let (running, http) = property.start().await;
    let db = open_db(&property.data_dir);
    let fired = wait_until(Duration::from_secs(10), "the missed levels", || {
        let fired = escalations(&db);
        (fired.len() == 4).then_some(fired)
    });
    let at = |minutes| format_time(start + jiff::SignedDuration::from_mins(minutes));
    let restarted = format_time(clock.now());
    let summary: Vec<(String, u64, String, String)> = fired.clone();
    assert_eq!(
        summary,
        vec![
            ("E2E-1".to_owned(), 1, restarted.clone(), at(45)),
            ("E2E-1".to_owned(), 2, restarted.clone(), at(120)),
            ("E2E-2".to_owned(), 1, restarted.clone(), at(45)),
            ("E2E-2".to_owned(), 2, restarted.clone(), at(120)),
        ],
        "each level once, in order, with the time it was due"
    );
    let (_, ticket) = get(&http, "/api/v1/tickets/E2E-1", token).await;
    assert_eq!(
        ticket["ticket"]["sla"]["measures"]["resolution_breached"], true,
        "the 2 h 30 min target applies: {ticket}"
    );
    // Nothing fires twice: another look by the scheduler adds nothing.
    clock.advance(Duration::from_secs(60));
    wait_until(Duration::from_secs(10), "the scheduler", || (due_now(&db, clock.now()) == 0).then_some(()));
    assert_eq!(escalations(&db).len(), 4);
    running.stop().await.unwrap();
}

/// Supervisor and manager on shift around the clock, and a ladder for low-priority requests: the supervisor after
/// 45 minutes unless acknowledged, the manager after two hours unless resolved.
fn ladder() -> String {
    r#"
[[shifts]]
name = "always"
hours = "00:00-24:00"

[[staff]]
id = "sam"
name = "Sam"
role = "supervisor"
departments = ["housekeeping"]
shifts = ["always"]

[[staff]]
id = "mia"
name = "Mia"
role = "manager"
departments = ["housekeeping"]
shifts = ["always"]

[[sla]]
name = "towels"
response = "30m"
resolution = "4h"
escalation = "ladder"
priorities = ["low"]

[[escalations]]
name = "ladder"
levels = [
  { after = "45m", to = "supervisor" },
  { after = "2h", to = "manager", until = "resolved" },
]
"#
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalations_go_on_through_a_72_hour_outage_and_every_event_syncs_once_afterwards() {
    let receiver =
        Receiver::start(Options { gateways: vec![(GATEWAY.into(), SECRET.to_vec())], ..Options::default() }).await;
    receiver.fake(Fake::Fail500, 1_000_000);
    let property = Property::new(|dir| {
        std::fs::write(dir.join("sync.secret"), SECRET).unwrap();
        std::fs::write(dir.join("ho-ca.pem"), receiver.ca_pem()).unwrap();
        format!(
            "\n[sync]\nurl = \"{}\"\ngateway_id = \"{GATEWAY}\"\nsecret_file = \"sync.secret\"\nca_file = \"ho-ca.pem\"\n\
             backoff_max_s = 1\nconfig_poll_s = 0\n",
            receiver.url()
        )
    });
    let (running, http) = property.start().await;
    let (clock, start, token, data_dir) = (&property.clock, property.start, &property.token, &property.data_dir);
    let db = open_db(data_dir);

    // One request an hour; every third is acknowledged after 10 minutes, every fourth resolved after an hour.
    let mut tickets: Vec<(String, i64)> = Vec::new();
    let mut expected = BTreeSet::new();
    for minute in 0..=HOURS * 60 {
        let now = start + jiff::SignedDuration::from_millis(minute * MINUTE);
        if minute % 60 == 0 && minute < HOURS * 60 {
            let i = tickets.len();
            let room = format!("{}{:02}", 1 + i % 2, 1 + i % 10);
            let number = property.raise(&http, &room).await;
            let acknowledged = i.is_multiple_of(3);
            let resolved = i.is_multiple_of(4);
            // Level 1 (45 minutes, until acknowledged) comes before the resolution at one hour; level 2 (two
            // hours, until resolved) only for tickets still open then, and within the 72 hours.
            if !acknowledged {
                expected.insert((number.clone(), 1, format_time(now + jiff::SignedDuration::from_mins(45))));
            }
            if !resolved && minute + 120 <= HOURS * 60 {
                expected.insert((number.clone(), 2, format_time(now + jiff::SignedDuration::from_mins(120))));
            }
            tickets.push((number, minute));
        }
        for (i, (number, raised)) in tickets.iter().enumerate() {
            if i.is_multiple_of(3) && minute == raised + 10 {
                let (status, body) =
                    post_json(&http, &format!("/api/v1/tickets/{number}/acknowledge"), token, json!({})).await;
                assert_eq!(status, 200, "{body}");
            }
            if i.is_multiple_of(4) && minute == raised + 60 {
                let (status, body) =
                    post_json(&http, &format!("/api/v1/tickets/{number}/resolve"), token, json!({})).await;
                assert_eq!(status, 200, "{body}");
            }
        }
        // Let the scheduler handle whatever is due at this minute before time moves on.
        wait_until(Duration::from_secs(10), &format!("the scheduler at minute {minute}"), || {
            (due_now(&db, now) == 0).then_some(())
        });
        if minute < HOURS * 60 {
            clock.advance(Duration::from_secs(60));
        }
    }

    // Every escalation fired exactly once, at its due time to the minute, to the right people, in order.
    let mut stmt =
        db.prepare("SELECT seq, at, payload FROM events WHERE kind = 'ticket_escalated' ORDER BY seq").unwrap();
    let fired: Vec<(u64, String, serde_json::Value)> = stmt
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, serde_json::from_str(&r.get::<_, String>(2)?).unwrap()))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut seen = BTreeSet::new();
    let mut last_due = String::new();
    for (_, at, event) in &fired {
        let due = event["due_at"].as_str().unwrap().to_owned();
        assert_eq!(at, &due, "fired on time: {event}");
        assert!(due >= last_due, "in order: {event}");
        last_due = due.clone();
        let level = event["level"].as_u64().unwrap();
        let who = if level == 1 { "sam" } else { "mia" };
        assert_eq!(event["recipients"], json!([who]), "{event}");
        assert!(seen.insert((event["ticket"].as_str().unwrap().to_owned(), level, due)), "exactly once: {event}");
    }
    assert_eq!(seen, expected, "the escalations that were due, and no others");
    assert!(expected.len() > 60, "the scenario escalates: {}", expected.len());

    // Head office saw nothing during the outage, though the gateway kept trying.
    assert_eq!(receiver.stored_through(GATEWAY), 0);
    assert!(receiver.requests() > 0, "the uploader kept trying");

    // Head office comes back: everything arrives once, in order, and the chain verifies.
    receiver.clear_fakes();
    let last: u64 = db.query_row("SELECT max(seq) FROM events", [], |r| r.get::<_, i64>(0)).unwrap() as u64;
    wait_until(Duration::from_secs(60), "head office to catch up", || {
        (receiver.stored_through(GATEWAY) >= last).then_some(())
    });
    let events = receiver.events(GATEWAY);
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=last).collect::<Vec<_>>());
    receiver::verify_chain(&events).unwrap();
    // The measures kept for reports: business time to respond and resolve, and which targets were missed.
    let (_, first) = get(&http, "/api/v1/tickets/E2E-1", token).await;
    let measures = &first["ticket"]["sla"]["measures"];
    assert_eq!(measures["response_ms"], 10 * MINUTE, "{first}");
    assert_eq!(measures["resolution_ms"], 60 * MINUTE, "{first}");
    assert_eq!(
        (measures["response_breached"].as_bool(), measures["resolution_breached"].as_bool()),
        (Some(false), Some(false))
    );
    let (_, second) = get(&http, "/api/v1/tickets/E2E-2", token).await;
    let measures = &second["ticket"]["sla"]["measures"];
    assert_eq!(
        (measures["response_breached"].as_bool(), measures["resolution_breached"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(second["ticket"]["sla"]["flag"], "red", "{second}");
    running.stop().await.unwrap();
    assert_chain_verifies(data_dir);
}

/// `/metrics` as the daemon serves it.
async fn scrape(http: &str, token: &str) -> String {
    let (http, token) = (http.to_owned(), token.to_owned());
    let (status, text) =
        tokio::task::spawn_blocking(move || http_get_text_blocking(&http, "/metrics", Some(&token)).unwrap())
            .await
            .unwrap();
    assert_eq!(status, 200, "{text}");
    text
}

/// A property with head office sync (so the sync figures are exported too), on which two towels requests were
/// raised: the first left alone, the second escalated by hand and acknowledged at once. 46 minutes later the first
/// has breached its 30-minute response target and reached level 1 of its ladder (45 minutes). Two TVs have said
/// they are online over MQTT; one has since gone offline. Returns the /metrics text.
async fn metrics_of_a_busy_property() -> String {
    let receiver =
        Receiver::start(Options { gateways: vec![(GATEWAY.into(), SECRET.to_vec())], ..Options::default() }).await;
    let property = Property::new(|dir| {
        std::fs::write(dir.join("sync.secret"), SECRET).unwrap();
        std::fs::write(dir.join("ho-ca.pem"), receiver.ca_pem()).unwrap();
        format!(
            "\n[sync]\nurl = \"{}\"\ngateway_id = \"{GATEWAY}\"\nsecret_file = \"sync.secret\"\nca_file = \"ho-ca.pem\"\n\
             backoff_max_s = 1\nconfig_poll_s = 0\n",
            receiver.url()
        )
    });
    let (running, http) = property.start().await;
    let (clock, token) = (&property.clock, &property.token);
    let first = property.raise(&http, "101").await;
    let second = property.raise(&http, "102").await;
    let (status, body) = post_json(&http, &format!("/api/v1/tickets/{second}/escalate"), token, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_json(&http, &format!("/api/v1/tickets/{second}/acknowledge"), token, json!({})).await;
    assert_eq!(status, 200, "{body}");

    let topics = tv_protocol::Topics::new("bellhop").unwrap();
    let tv = Device::connect(property._broker.port, "105", "tv-105", &[]).await;
    tv.publish(&topics.presence("105", "tv-105"), b"online").await;
    let other = Device::connect(property._broker.port, "106", "tv-106", &[]).await;
    other.publish(&topics.presence("106", "tv-106"), b"online").await;
    other.publish(&topics.presence("106", "tv-106"), b"offline").await;

    clock.advance(Duration::from_secs(46 * 60));
    let text = wait_until_async(Duration::from_secs(10), "the breach, the level and the devices", || async {
        let (_, ticket) = get(&http, &format!("/api/v1/tickets/{first}"), token).await;
        let escalated = ticket["history"].as_array()?.iter().any(|e| e["kind"] == "ticket_escalated");
        let text = scrape(&http, token).await;
        // Counted as the writer commits: the scrape may come a moment after the history shows the level.
        let counted = text.lines().any(|l| l == "bellhop_sla_escalations_total{level=\"1\"} 2");
        let devices = text.lines().any(|l| l == "bellhop_devices_offline{kind=\"unknown\"} 1")
            && text.lines().any(|l| l == "bellhop_devices_bound{kind=\"unknown\"} 2");
        (escalated && counted && devices).then_some(text)
    })
    .await;
    running.stop().await.unwrap();
    text
}

/// What monitoring needs is on `/metrics` after tickets were raised, breached and escalated: breaches by target,
/// escalations by level, open tickets by department and flag, devices offline by kind, and the build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_sla_breaches_escalations_open_tickets_and_devices() {
    let text = metrics_of_a_busy_property().await;
    for line in [
        format!("bellhop_build_info{{version=\"{}\"", env!("CARGO_PKG_VERSION")),
        "bellhop_sla_breaches_total{target=\"response\"} 1".into(),
        "bellhop_sla_breaches_total{target=\"resolution\"} 0".into(),
        "bellhop_sla_escalations_total{level=\"1\"} 2".into(),
        "bellhop_sla_escalations_total{level=\"2\"} 0".into(),
        "bellhop_tickets_open_by_sla{department=\"housekeeping\",flag=\"red\"} 1".into(),
        "bellhop_tickets_open_by_sla{department=\"housekeeping\",flag=\"green\"} 1".into(),
        "bellhop_tickets_open_by_sla{department=\"engineering\",flag=\"red\"} 0".into(),
        "bellhop_devices_offline{kind=\"tv\"} 0".into(),
        "bellhop_devices_offline{kind=\"kiosk\"} 0".into(),
        "bellhop_devices_offline{kind=\"unknown\"} 1".into(),
        "bellhop_sync_lag_events ".into(),
    ] {
        assert!(text.lines().any(|l| l.starts_with(&line)), "missing {line:?} in:\n{text}");
    }
}

/// The Grafana dashboard in docs/examples parses, has what Grafana's import needs (a data source input every panel
/// uses, unique panel ids, a query in every panel), and names only metrics the daemon exports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_imports_and_names_only_exported_metrics() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/grafana-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("the dashboard is JSON");
    assert!(dashboard["title"].is_string() && dashboard["uid"].is_string(), "title and uid");
    assert!(dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 30), "a current schema version");
    let input = &dashboard["__inputs"][0];
    assert_eq!((&input["name"], &input["pluginId"]), (&json!("DS_PROMETHEUS"), &json!("prometheus")));
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut exprs = Vec::new();
    for panel in panels {
        assert!(ids.insert(panel["id"].as_u64().expect("a panel id")), "panel ids are unique: {panel}");
        for key in ["x", "y", "w", "h"] {
            assert!(panel["gridPos"][key].is_u64(), "gridPos.{key}: {panel}");
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{panel}");
        let targets = panel["targets"].as_array().filter(|t| !t.is_empty()).expect("a query in every panel");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "{panel}");
            assert!(target["refId"].is_string(), "{panel}");
            exprs.push(target["expr"].as_str().expect("a PromQL expression").to_owned());
        }
    }
    assert!(exprs.len() >= 10, "{exprs:?}");

    let text = metrics_of_a_busy_property().await;
    let exported: BTreeSet<&str> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).collect();
    let mut named = BTreeSet::new();
    for expr in &exprs {
        for (start, _) in expr.match_indices("bellhop_") {
            let name: String = expr[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            named.insert(name);
        }
    }
    for name in &named {
        let family = name.strip_suffix("_sum").or_else(|| name.strip_suffix("_count")).unwrap_or(name);
        assert!(
            exported.contains(family),
            "the dashboard names {name}, which the daemon does not export: {exported:?}"
        );
    }
    for wanted in ["bellhop_sla_breaches_total", "bellhop_sla_escalations_total", "bellhop_devices_offline"] {
        assert!(named.contains(wanted), "the dashboard shows {wanted}");
    }
}
