//! SLA clocks and escalation end to end, on the real clock of the real `bellhop` binary: an unacknowledged critical
//! request climbs to the supervisor and then the manager at the configured times, with notices on their staff topics;
//! an acknowledged one never escalates; the board shows a breached response as red; and a manual escalation fires
//! the next level at once.

mod support;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use support::*;
use tv_protocol::{AckResult, NoticeKind, StaffNotice, Topics};

/// A security department with a supervisor and a manager scheduled around the clock and nobody on duty, and a
/// critical (not emergency) alarm item whose policy wants a response in 3 s and escalates at 2 s and 4 s.
const SLA: &str = r#"
[[departments]]
code = "security"
name = "Security"

[[catalog]]
code = "sec.alarm"
category = "safety"
department = "security"
priority = "critical"
sla = "critical-fast"
labels = { en = "Alarm" }

[[shifts]]
name = "allday"
hours = "00:00-24:00"

[[staff]]
id = "sid"
name = "Sid"
role = "supervisor"
departments = ["security"]
shifts = ["allday"]

[[staff]]
id = "meg"
name = "Meg"
role = "manager"
departments = ["security"]
shifts = ["allday"]

[[sla]]
name = "critical-fast"
response = "3s"
resolution = "1h"
escalation = "critical-ladder"

[[escalations]]
name = "critical-ladder"
levels = [
  { after = "2s", to = "supervisor", until = "acknowledged" },
  { after = "4s", to = "manager", until = "acknowledged" },
]
"#;

/// How late after its due time a level may fire.
const SLACK: SignedDuration = SignedDuration::from_secs(2);

fn time(text: &Value) -> Timestamp {
    text.as_str().unwrap_or_else(|| panic!("{text} is not a time")).parse().expect("an RFC 3339 time")
}

struct Rig {
    _dir: tempfile::TempDir,
    broker: LocalBroker,
    daemon: Daemon,
    staff: String,
}

impl Rig {
    async fn raise(&self, room: &str) -> String {
        let mut tv = Device::connect(self.broker.port, room, &format!("tv-{room}"), &[]).await;
        let ack = tv.request(br#"{"id":"a1","item":"sec.alarm"}"#).await;
        assert_eq!(ack.result, AckResult::Accepted, "{ack:?}");
        ack.ticket.expect("ticket")
    }

    async fn read(&self, number: &str) -> (Value, Vec<Value>) {
        let (status, body) = get(&self.daemon.http, &format!("/api/v1/tickets/{number}"), &self.staff).await;
        assert_eq!(status, 200, "{body}");
        (body["ticket"].clone(), body["history"].as_array().expect("history").clone())
    }

    /// The ticket's `ticket_escalated` events, oldest first.
    async fn escalations(&self, number: &str) -> Vec<Value> {
        self.read(number).await.1.into_iter().filter(|e| e["kind"] == "ticket_escalated").collect()
    }

    async fn wait_escalations(&self, number: &str, count: usize) -> Vec<Value> {
        let deadline = Duration::from_secs(15);
        wait_until_async(deadline, &format!("{count} escalations of {number}"), || async {
            let found = self.escalations(number).await;
            (found.len() >= count).then_some(found)
        })
        .await
    }
}

/// Reads notices on `topic` until every `(ticket, level)` in `want` has had an escalation notice; returns every
/// escalation notice seen.
async fn escalation_notices(handheld: &mut Device, topic: &str, want: &[(&str, u32)]) -> Vec<StaffNotice> {
    let mut seen: Vec<StaffNotice> = Vec::new();
    while !want.iter().all(|(t, l)| seen.iter().any(|n| n.ticket == *t && n.level == Some(*l))) {
        let notice = tv_protocol::decode_notice(&handheld.next_on(topic).await).expect("a well-formed notice");
        if notice.kind == NoticeKind::Escalation {
            seen.push(notice);
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unacknowledged_critical_request_climbs_the_ladder_on_time() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, SLA));
    daemon.wait_mqtt_connected();
    let staff = daemon.token("staff");
    let rig = Rig { _dir: dir, broker, daemon, staff };
    let http = &rig.daemon.http;
    let topics = Topics::new("bellhop").unwrap();
    let (sid_topic, meg_topic) = (topics.staff_notify("sid"), topics.staff_notify("meg"));
    let mut handheld =
        Device::connect(rig.broker.port, "lobby", "handhelds", &[sid_topic.clone(), meg_topic.clone()]).await;

    // First a request that is acknowledged at once, then one nobody answers, then one escalated by hand: each is
    // raised after the one before, so its levels fall due after theirs.
    let answered = rig.raise("101").await;
    let (status, body) =
        post_json(http, &format!("/api/v1/tickets/{answered}/acknowledge"), &rig.staff, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (ticket, history) = rig.read(&answered).await;
    let acknowledged_at =
        history.iter().find(|e| e["kind"] == "ticket_status_changed").expect("acknowledged")["at"].clone();
    assert!(
        time(&acknowledged_at) < time(&ticket["created_at"]) + SignedDuration::from_secs(2),
        "acknowledged before the first level was due (otherwise this test shows nothing): {history:?}"
    );
    assert_eq!(ticket["sla"]["response_due"], Value::Null, "an acknowledged ticket has no response target: {ticket}");

    let ignored = rig.raise("102").await;
    let manual = rig.raise("103").await;
    let (ticket, _) = rig.read(&ignored).await;
    assert_eq!(ticket["sla"]["policy"], "critical-fast", "{ticket}");
    assert_eq!(ticket["assignee"], Value::Null, "nobody is on duty: {ticket}");
    let created = time(&ticket["created_at"]);
    let response_due = time(&ticket["sla"]["response_due"]);
    assert_eq!(response_due, created + SignedDuration::from_secs(3), "{ticket}");

    // A manual escalation fires level 1 at once.
    let (status, body) = post_json(http, &format!("/api/v1/tickets/{manual}/escalate"), &rig.staff, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let fired = rig.escalations(&manual).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!((fired[0]["level"].as_u64(), fired[0]["reason"].as_str()), (Some(1), Some("manual")), "{fired:?}");
    assert!(fired[0]["actor"].as_str().is_some_and(|a| a.starts_with("token:")), "journaled with who asked: {fired:?}");
    assert_eq!(fired[0]["recipients"], json!(["sid"]), "{fired:?}");

    // The board shows the unanswered ticket red once its response target has passed, and not before.
    let red = wait_until_async(Duration::from_secs(15), "the unanswered ticket to turn red", || async {
        let (status, body) = get(http, "/api/v1/tickets?sla=red", &rig.staff).await;
        assert_eq!(status, 200, "{body}");
        let numbers: Vec<String> =
            body["tickets"].as_array()?.iter().map(|t| t["number"].as_str().unwrap().to_owned()).collect();
        numbers.contains(&ignored).then_some(numbers)
    })
    .await;
    assert!(Timestamp::now() >= response_due, "red only after {response_due}");
    assert!(!red.contains(&answered), "the acknowledged ticket is not red: {red:?}");

    // Level 1 to the supervisor at 2 s, level 2 to the manager at 4 s.
    let levels = rig.wait_escalations(&ignored, 2).await;
    assert_eq!(levels.len(), 2, "{levels:?}");
    for (level, (after, to, who)) in levels.iter().zip([(2, "supervisor", "sid"), (4, "manager", "meg")]) {
        let due = time(&level["due_at"]);
        let at = time(&level["at"]);
        assert_eq!(due, created + SignedDuration::from_secs(after), "{level}");
        assert!(at >= due && at.duration_since(due) <= SLACK, "fired at {at}, due at {due}: {level}");
        assert_eq!(level["reason"], "due", "{level}");
        assert_eq!(level["to"], to, "{level}");
        assert_eq!(level["recipients"], json!([who]), "{level}");
        assert_eq!(level["actor"], "system", "{level}");
    }
    assert_eq!(levels[0]["level"], 1);
    assert_eq!(levels[1]["level"], 2);
    assert!(levels[0]["seq"].as_u64() < levels[1]["seq"].as_u64(), "the supervisor hears first: {levels:?}");

    // Both levels have nowhere further to go.
    let (status, body) = post_json(http, &format!("/api/v1/tickets/{ignored}/escalate"), &rig.staff, json!({})).await;
    assert_eq!(status, 409, "{body}");

    // The handhelds: the supervisor heard of levels 1, the manager of levels 2.
    let sid = escalation_notices(&mut handheld, &sid_topic, &[(&ignored, 1), (&manual, 1)]).await;
    let to_sid = sid.iter().find(|n| n.ticket == ignored).expect("notice");
    assert_eq!((to_sid.level, to_sid.reason.as_deref()), (Some(1), Some("due")), "{to_sid:?}");
    assert_eq!(
        (to_sid.item.as_str(), to_sid.location.as_str(), to_sid.priority.as_str()),
        ("sec.alarm", "102", "critical")
    );
    assert_eq!(to_sid.at, levels[0]["at"].as_str().unwrap());
    let by_hand = sid.iter().find(|n| n.ticket == manual).expect("notice");
    assert_eq!(by_hand.reason.as_deref(), Some("manual"), "{by_hand:?}");
    let meg = escalation_notices(&mut handheld, &meg_topic, &[(&ignored, 2), (&manual, 2)]).await;
    let to_meg = meg.iter().find(|n| n.ticket == ignored).expect("notice");
    assert_eq!((to_meg.level, to_meg.reason.as_deref()), (Some(2), Some("due")), "{to_meg:?}");
    assert_eq!(to_meg.sla.as_deref(), Some("red"), "past its response target: {to_meg:?}");
    assert_eq!(to_meg.at, levels[1]["at"].as_str().unwrap());
    assert!(
        sid.iter().chain(&meg).all(|n| n.ticket != answered),
        "nobody heard of the acknowledged ticket: {sid:?} {meg:?}"
    );
    assert!(sid.iter().all(|n| n.level == Some(1)) && meg.iter().all(|n| n.level == Some(2)), "{sid:?} {meg:?}");

    // The manual ticket's level 2 came on time (seen above), and its level 1 did not fire a second time.
    let fired = rig.escalations(&manual).await;
    let seen: Vec<(Option<u64>, Option<&str>)> =
        fired.iter().map(|e| (e["level"].as_u64(), e["reason"].as_str())).collect();
    assert_eq!(seen, [(Some(1), Some("manual")), (Some(2), Some("due"))], "{fired:?}");

    // Every level of the acknowledged ticket has fallen due by now, and none fired.
    assert!(Timestamp::now() > time(&rig.read(&answered).await.0["created_at"]) + SignedDuration::from_secs(4));
    assert!(rig.escalations(&answered).await.is_empty(), "the acknowledged ticket never escalates");
}
