//! Notifications and monitoring alerts end to end, with real parts: the real `bellhop` binary, a private Mosquitto, a
//! real SMTP server (aiosmtpd) that requires STARTTLS with a test CA, an HTTPS endpoint standing for an SMS or push
//! provider that can be made unreachable, and a real Prometheus Alertmanager posting to the alert webhook.

#[path = "support/provider.rs"]
mod provider;
mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use provider::{Mode, Provider, SmtpSink, TestCa};
use serde_json::{json, Value};
use support::*;

/// Ana works housekeeping around the clock; the general manager and the operations list are outside contacts.
const ROSTER: &str = r#"
[[shifts]]
name = "allday"
hours = "00:00-24:00"

[[staff]]
id = "ana"
name = "Ana"
departments = ["housekeeping"]
shifts = ["allday"]

[[contacts]]
id = "gm"
name = "General manager"

[[contacts]]
id = "ops"
name = "Operations list"
"#;

/// The `[notifications]` section: mail through `smtp_port` (STARTTLS, the test CA), the `sms` webhook on
/// `provider_port` with a bearer token, retries every second.
fn notifications(dir: &Path, smtp_port: u16, provider_port: u16, extra: &str) -> String {
    let ca = dir.join("ca.pem");
    let token = dir.join("sms-token");
    std::fs::write(&token, "sms-secret-token\n").unwrap();
    let text = r#"
[notifications]
retry_initial_s = 1
retry_max_s = 1

[notifications.email]
server = "127.0.0.1"
port = SMTP_PORT
security = "starttls"
from = "Bellhop <bellhop@hotel.example>"
ca_file = "CA_FILE"

[[notifications.webhooks]]
name = "sms"
url = "https://127.0.0.1:PROVIDER_PORT/send?account=7"
template = '{"to": "{{to}}", "text": "{{text}}", "ticket": "{{ticket}}", "reason": "{{reason}}"}'
token_file = "TOKEN_FILE"
ca_file = "CA_FILE"
"#;
    text.replace("SMTP_PORT", &smtp_port.to_string())
        .replace("PROVIDER_PORT", &provider_port.to_string())
        .replace("CA_FILE", &ca.display().to_string())
        .replace("TOKEN_FILE", &token.display().to_string())
        + extra
}

async fn clock_in(daemon: &Daemon, token: &str, staff: &str) {
    let (status, body) =
        post_json(&daemon.http, &format!("/api/v1/staff/{staff}/duty"), token, json!({ "duty": "on" })).await;
    assert_eq!(status, 200, "{body}");
}

async fn raise(daemon: &Daemon, token: &str, item: &str, location: &str) -> String {
    let (status, body) =
        post_json(&daemon.http, "/api/v1/tickets", token, json!({ "item": item, "location": location })).await;
    assert_eq!(status, 201, "{body}");
    body["number"].as_str().expect("a ticket number").to_owned()
}

async fn history(daemon: &Daemon, token: &str, number: &str) -> Vec<Value> {
    let (status, body) = get(&daemon.http, &format!("/api/v1/tickets/{number}"), token).await;
    assert_eq!(status, 200, "{body}");
    body["history"].as_array().cloned().unwrap_or_default()
}

/// The history entries of `kind` for `channel`.
fn entries<'h>(history: &'h [Value], kind: &str, channel: &str) -> Vec<&'h Value> {
    history.iter().filter(|e| e["kind"] == kind && e["channel"] == channel).collect()
}

async fn wait_for_entry(daemon: &Daemon, token: &str, number: &str, kind: &str, channel: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let last = history(daemon, token, number).await;
        if let Some(entry) = entries(&last, kind, channel).first() {
            return (*entry).clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {kind} for {channel} on {number}: {last:#?}\n{}",
            daemon.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn metric(daemon: &Daemon, token: &str, line_start: &str) -> Option<u64> {
    let (_, text) = http_get_text_blocking(&daemon.http, "/metrics", Some(token)).ok()?;
    text.lines().find(|l| l.starts_with(line_start)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn notices_queued_during_an_outage_are_delivered_once_afterwards_even_across_a_restart() {
    let dir = scratch();
    let ca = TestCa::new();
    let (_, cert, key) = ca.write(dir.path());
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("mosquitto");
    // The WAN is down: the provider cannot be reached and the mail server is not running.
    let provider = Provider::start(&ca, Mode::Unreachable).await;
    let smtp_port = free_port().unwrap();
    let recipients = r#"
[[notifications.recipients]]
id = "ana"
email = "ana@hotel.example"
webhooks = { sms = "+351900000001" }
channels = ["email", "sms", "mqtt"]
"#;
    let extra = format!("{ROSTER}{}", notifications(dir.path(), smtp_port, provider.port, recipients));
    let config = base_config(&dir.path().join("data"), broker.port, &extra);
    let mut daemon = Daemon::start(dir.path(), &config);
    daemon.wait_mqtt_connected();
    let token = daemon.token("manager");
    clock_in(&daemon, &token, "ana").await;

    let first = raise(&daemon, &token, "hk.towels", "101").await;
    let queued = history(&daemon, &token, &first).await;
    for channel in ["email", "sms", "mqtt"] {
        assert_eq!(entries(&queued, "notice_queued", channel).len(), 1, "{channel}: {queued:#?}");
    }
    // The staff topic goes through the broker on the property; mail and SMS fail and wait for the WAN.
    wait_for_entry(&daemon, &token, &first, "notice_delivered", "mqtt").await;
    let failed = wait_for_entry(&daemon, &token, &first, "notice_failed", "sms").await;
    assert!(failed["retry_at"].is_string(), "a failure during an outage is tried again: {failed}");
    wait_for_entry(&daemon, &token, &first, "notice_failed", "email").await;
    assert!(provider.refused() >= 1, "the provider was tried");
    assert!(provider.delivered().is_empty());

    // The daemon restarts while the WAN is still down; then the WAN comes back.
    assert!(daemon.terminate().success(), "{}", daemon.log_text());
    let sink = SmtpSink::start(smtp_port, &dir.path().join("mail"), Some((&cert, &key)));
    provider.set_mode(Mode::Up);
    let daemon = Daemon::start_with(dir.path(), &dir.path().join("bellhop.toml"));
    let sms = wait_for_entry(&daemon, &token, &first, "notice_delivered", "sms").await;
    let mail = wait_for_entry(&daemon, &token, &first, "notice_delivered", "email").await;

    // A second ticket after the outage: once its notices are through, nothing of the first came twice.
    let second = raise(&daemon, &token, "hk.pillows", "102").await;
    let sms2 = wait_for_entry(&daemon, &token, &second, "notice_delivered", "sms").await;
    wait_for_entry(&daemon, &token, &second, "notice_delivered", "email").await;
    let delivered = provider.delivered();
    assert_eq!(delivered.len(), 2, "one request per notice: {delivered:#?}");
    let keys: Vec<&str> = delivered.iter().map(|d| d.headers["idempotency-key"].as_str()).collect();
    assert_eq!(keys, [sms["notice"].as_str().unwrap(), sms2["notice"].as_str().unwrap()]);
    let body: Value = serde_json::from_str(&delivered[0].body).expect("the template makes JSON");
    assert_eq!(body["to"], "+351900000001");
    assert_eq!(body["ticket"], first.as_str());
    assert_eq!(body["reason"], "assigned");
    assert!(body["text"].as_str().unwrap().contains("Extra towels at 101"), "{body}");
    assert_eq!(delivered[0].headers["authorization"], "Bearer sms-secret-token");
    assert_eq!(delivered[0].path, "/send?account=7");

    let mails = sink.mails();
    assert_eq!(mails.len(), 2, "one mail per notice: {mails:#?}");
    let message_id = format!("Message-ID: <{}@", mail["notice"].as_str().unwrap());
    assert!(mails[0].contains(&message_id), "{}", mails[0]);
    assert!(mails[0].contains("X-Envelope-To: ana@hotel.example"), "{}", mails[0]);
    assert!(mails[0].contains(&first), "{}", mails[0]);

    assert_eq!(metric(&daemon, &token, "bellhop_notices_delivered_total{channel=\"webhook\"}"), Some(2));
    assert_eq!(metric(&daemon, &token, "bellhop_notices_delivered_total{channel=\"email\"}"), Some(2));
    assert_eq!(metric(&daemon, &token, "bellhop_notices_queued "), Some(0));
    drop(daemon);
    assert_chain_verifies(&dir.path().join("data"));
}

#[tokio::test(flavor = "multi_thread")]
async fn contacts_escalations_warnings_and_summaries_go_out_and_an_escalation_that_reaches_nobody_says_so() {
    let dir = scratch();
    let ca = TestCa::new();
    ca.write(dir.path());
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("mosquitto");
    let provider = Provider::start(&ca, Mode::Up).await;
    // The daily summary's time passed a minute ago: it goes out at start.
    let local = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Europe/Lisbon").unwrap());
    let slot = local.checked_sub(jiff::SignedDuration::from_secs(60)).unwrap().strftime("%H:%M").to_string();
    let extra = format!(
        r#"{ROSTER}
[[catalog]]
code = "hk.iron"
category = "housekeeping"
department = "housekeeping"
priority = "medium"
sla = "quick"
labels = {{ en = "Iron" }}

[[sla]]
name = "quick"
response = "2s"
resolution = "1h"
escalation = "to-gm"

[[escalations]]
name = "to-gm"
levels = [
  {{ after = "1h", to = "contact:gm" }},
  {{ after = "2h", to = "supervisor" }},
]
{}
[[notifications.recipients]]
id = "ana"
webhooks = {{ sms = "+351900000001" }}

[[notifications.recipients]]
id = "gm"
webhooks = {{ sms = "+351900000002" }}

[[notifications.recipients]]
id = "ops"
webhooks = {{ sms = "ops-list" }}

[notifications.summaries]
to = ["ops"]
daily = "{slot}"
"#,
        notifications(dir.path(), free_port().unwrap(), provider.port, "")
    );
    let config = base_config(&dir.path().join("data"), broker.port, &extra);
    let daemon = Daemon::start(dir.path(), &config);
    daemon.wait_mqtt_connected();
    let token = daemon.token("manager");
    clock_in(&daemon, &token, "ana").await;
    let number = raise(&daemon, &token, "hk.iron", "103").await;

    // Before the response target breaches (2 s), the flag turns yellow and Ana is warned.
    let warned = wait_for_entry(&daemon, &token, &number, "notice_delivered", "sms").await;
    assert_eq!(warned["recipient"], "ana");
    let reasons = |to: &str| -> Vec<String> {
        provider
            .delivered()
            .iter()
            .map(|d| serde_json::from_str::<Value>(&d.body).unwrap())
            .filter(|b| b["to"] == to)
            .map(|b| b["reason"].as_str().unwrap().to_owned())
            .collect()
    };
    wait_until(Duration::from_secs(20), "Ana's warning", || {
        reasons("+351900000001").contains(&"warning".into()).then_some(())
    });

    // The first level reaches the general manager's phone.
    let (status, body) =
        post_json(&daemon.http, &format!("/api/v1/tickets/{number}/escalate"), &token, json!({})).await;
    assert_eq!(status, 200, "{body}");
    wait_until(Duration::from_secs(20), "the general manager's notice", || {
        reasons("+351900000002").contains(&"escalation".into()).then_some(())
    });
    // The second reaches nobody (no supervisor, manager or admin is on the roster): the answer says so.
    let (status, body) =
        post_json(&daemon.http, &format!("/api/v1/tickets/{number}/escalate"), &token, json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "nobody_reached", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("level 2"), "{body}");
    let escalated: Vec<Value> =
        history(&daemon, &token, &number).await.into_iter().filter(|e| e["kind"] == "ticket_escalated").collect();
    assert_eq!(escalated.len(), 2, "the level that reached nobody is recorded: {escalated:#?}");
    assert_eq!(escalated[1]["recipients"], json!([]));

    // The operations list got the daily summary, once.
    wait_until(Duration::from_secs(20), "the daily summary", || {
        reasons("ops-list").contains(&"summary".into()).then_some(())
    });
    let summary: Vec<Value> = provider
        .delivered()
        .iter()
        .map(|d| serde_json::from_str::<Value>(&d.body).unwrap())
        .filter(|b| b["to"] == "ops-list")
        .collect();
    assert_eq!(summary.len(), 1, "{summary:#?}");
    assert!(summary[0]["text"].as_str().unwrap().contains("raised"), "{summary:#?}");
}

/// A real Alertmanager on free ports, posting to the daemon's alert webhook with the token in `token_file`.
struct Alertmanager {
    child: Child,
    url: String,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Alertmanager {
    fn start(dir: &Path, webhook: &str, token_file: &Path) -> Alertmanager {
        let binary = ["prometheus-alertmanager", "alertmanager"]
            .into_iter()
            .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
            .expect("Alertmanager is installed (scripts/setup: prometheus-alertmanager)");
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: bellhop\n  group_by: ['alertname', 'room']\n  group_wait: 0s\n  group_interval: 1s\n  \
                 repeat_interval: 1h\nreceivers:\n  - name: bellhop\n    webhook_configs:\n      - url: {webhook}\n        \
                 send_resolved: true\n        http_config:\n          authorization:\n            type: Bearer\n            \
                 credentials_file: {}\n",
                token_file.display()
            ),
        )
        .unwrap();
        let port = free_port().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("alertmanager.log")).unwrap())
            .spawn()
            .expect("start Alertmanager");
        let am = Alertmanager { child, url };
        wait_until(Duration::from_secs(30), "Alertmanager to be ready", || {
            let (status, _) = http_get_text_blocking(&format!("127.0.0.1:{port}"), "/-/ready", None).ok()?;
            (status == 200).then_some(())
        });
        am
    }

    /// `amtool alert add` with `labels`, ended at `end` when given (which resolves the alert).
    fn add(&self, labels: &[&str], summary: &str, end: Option<&str>) {
        let mut command = Command::new("amtool");
        command.arg(format!("--alertmanager.url={}", self.url)).args(["alert", "add"]).args(labels);
        command.arg(format!("--annotation=summary={summary}"));
        if let Some(end) = end {
            command.arg(format!("--end={end}"));
        }
        let out = command.output().expect("amtool");
        assert!(out.status.success(), "amtool: {}", String::from_utf8_lossy(&out.stderr));
    }
}

const ALERT_RULES: &str = r#"
[alerts]
token_file = "TOKEN_FILE"
max_body_bytes = 4096

[[alerts.rules]]
name = "freezer"
source = "alertmanager"
match = { alertname = "FreezerWarm" }
item = "eng.ac"
priority = "critical"
location = "{room}"
fallback_location = "lobby"
on_resolve = "resolve"

[[alerts.rules]]
name = "doors"
source = "webhook"
match = { kind = "door" }
item = "eng.ac"
location = "{where.room}"
"#;

fn alert_tickets(data_dir: &Path) -> Vec<(String, String, String, String)> {
    let db = open_db(data_dir);
    let mut stmt = db
        .prepare("SELECT number, status, location, priority FROM tickets WHERE source = 'alert' ORDER BY created_seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(|r| r.unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn alertmanager_raises_one_ticket_per_firing_episode_and_resolves_it() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("mosquitto");
    let token_file = dir.path().join("alerts-token");
    std::fs::write(&token_file, "alerts-0123456789abcdef\n").unwrap();
    let extra = ALERT_RULES.replace("TOKEN_FILE", &token_file.display().to_string());
    let config = base_config(&dir.path().join("data"), broker.port, &extra);
    let daemon = Daemon::start(dir.path(), &config);
    let webhook = format!("http://{}/api/v1/alerts/alertmanager", daemon.http);
    let am = Alertmanager::start(&dir.path().join("alertmanager"), &webhook, &token_file);
    let data = dir.path().join("data");

    let labels = ["alertname=FreezerWarm", "room=104", "severity=critical"];
    am.add(&labels, "Freezer 2 is at -8 C", None);
    let raised =
        wait_until(Duration::from_secs(30), "a ticket from the alert", || alert_tickets(&data).into_iter().next());
    assert_eq!((raised.2.as_str(), raised.3.as_str()), ("104", "critical"), "{raised:?}");
    // The same alert again (as Alertmanager repeats it) is the same episode: nothing new.
    am.add(&labels, "Freezer 2 is at -8 C", None);
    let token = daemon.token("manager");
    let (status, body) = http(
        &daemon.http,
        "POST",
        "/api/v1/alerts/alertmanager",
        Some("alerts-0123456789abcdef"),
        &[("content-type", "application/json")],
        Some(
            json!({"version": "4", "status": "firing", "alerts": [{"status": "firing",
                "labels": {"alertname": "FreezerWarm", "room": "104", "severity": "critical"},
                "annotations": {"summary": "again"}, "fingerprint": fingerprint(&data)}]})
            .to_string()
            .into_bytes(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alerts"][0]["outcome"], "ongoing", "{body}");
    assert_eq!(alert_tickets(&data).len(), 1);

    // Resolved in Alertmanager: the ticket is resolved, with the alert's history on it.
    let end = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(1)).unwrap().to_string();
    am.add(&labels, "Freezer 2 is at -8 C", Some(&end));
    wait_until(Duration::from_secs(30), "the ticket to be resolved", || {
        (alert_tickets(&data)[0].1 == "resolved").then_some(())
    });
    let kinds: Vec<String> =
        history(&daemon, &token, &raised.0).await.iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect();
    assert!(kinds.contains(&"alert_fired".into()) && kinds.contains(&"alert_resolved".into()), "{kinds:?}");
    assert_eq!(alert_tickets(&data).len(), 1, "one ticket for the episode");
}

/// The fingerprint Alertmanager gave the stored episode.
fn fingerprint(data: &Path) -> String {
    open_db(data).query_row("SELECT fingerprint FROM alert_episodes", [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_alert_endpoints_want_their_token_and_refuse_oversize_and_malformed_bodies() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("mosquitto");
    let token_file = dir.path().join("alerts-token");
    std::fs::write(&token_file, "alerts-0123456789abcdef\n").unwrap();
    let extra = ALERT_RULES.replace("TOKEN_FILE", &token_file.display().to_string());
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, &extra));
    let post = |token: Option<&'static str>, body: Vec<u8>| {
        let http_addr = daemon.http.clone();
        async move {
            http(
                &http_addr,
                "POST",
                "/api/v1/alerts/webhook",
                token,
                &[("content-type", "application/json")],
                Some(body),
            )
            .await
            .unwrap()
        }
    };
    let door =
        json!({"id": "door-7", "kind": "door", "status": "open", "summary": "Door forced", "where": {"room": "105"}});
    let before = last_seq(&daemon.http);

    let (status, body) = post(None, door.to_string().into_bytes()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{body}");
    let (status, body) = post(Some("wrong-token-wrong-token"), door.to_string().into_bytes()).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(Some("alerts-0123456789abcdef"), vec![b'['; 5000]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_large")), "{body}");
    let (status, body) = post(Some("alerts-0123456789abcdef"), b"{\"id\": ".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not JSON"), "{body}");
    let (status, body) = http(
        &daemon.http,
        "POST",
        "/api/v1/alerts/alertmanager",
        Some("alerts-0123456789abcdef"),
        &[("content-type", "application/json")],
        Some(br#"{"version": "3", "alerts": []}"#.to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(last_seq(&daemon.http), before, "refused bodies change nothing");

    // A well-formed door alert raises a ticket where its field says; resolving it annotates the ticket.
    let (status, body) = post(Some("alerts-0123456789abcdef"), door.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alerts"][0]["outcome"], "raised", "{body}");
    let number = body["alerts"][0]["ticket"].as_str().unwrap().to_owned();
    let (_, again) = post(Some("alerts-0123456789abcdef"), door.to_string().into_bytes()).await;
    assert_eq!(again["alerts"][0]["outcome"], "ongoing", "{again}");
    let unmatched = json!({"id": "x", "kind": "smoke"});
    let (_, other) = post(Some("alerts-0123456789abcdef"), unmatched.to_string().into_bytes()).await;
    assert_eq!(other["alerts"][0]["outcome"], "unmatched", "{other}");
    let resolved = json!([{"id": "door-7", "kind": "door", "status": "resolved", "where": {"room": "105"}}]);
    let (_, done) = post(Some("alerts-0123456789abcdef"), resolved.to_string().into_bytes()).await;
    assert_eq!(done["alerts"][0]["outcome"], "annotated", "{done}");
    let tickets = alert_tickets(&daemon.data_dir);
    assert_eq!(tickets.len(), 1);
    assert_eq!((tickets[0].0.as_str(), tickets[0].2.as_str()), (number.as_str(), "105"));
    assert_ne!(tickets[0].1, "resolved", "annotated, left to staff");
}
