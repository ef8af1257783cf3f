//! Durability end to end: nothing acknowledged is lost when the daemon is killed or the broker restarts.
//!
//! These tests can fail. To watch them fail, build the deliberately broken writer that answers before it commits:
//!
//! ```text
//! cargo nextest run -p bellhop --features fault-ack-before-commit --test e2e_durability
//! ```
//!
//! The crash test then finds acked tickets missing from the store (or reused for another request).

mod support;

use std::collections::HashMap;
use std::time::Duration;

use bellhop::sim::{start_tv, Answered, TvSpec};
use rand::Rng;
use support::*;
use tokio::sync::mpsc;
use tv_protocol::{AckResult, Request};

/// Reads an integer knob from the environment (so CI and a long soak can differ), with a default.
fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const ROOMS: [&str; 20] = [
    "101", "102", "103", "104", "105", "106", "107", "108", "109", "110", "201", "202", "203", "204", "205", "206",
    "207", "208", "209", "210",
];
const ITEMS: [&str; 3] = ["hk.towels", "hk.pillows", "eng.ac"];

/// Starts one retrying TV per room and returns their request senders and the answer stream.
fn tvs(port: u16) -> (Vec<mpsc::UnboundedSender<Request>>, mpsc::UnboundedReceiver<Answered>) {
    let (answers_tx, answers) = mpsc::unbounded_channel();
    let senders = ROOMS
        .iter()
        .map(|room| {
            start_tv(
                TvSpec {
                    host: "127.0.0.1".into(),
                    port,
                    root: "bellhop".into(),
                    location: room.to_string(),
                    device: format!("tv-{room}"),
                    retry: Duration::from_millis(700),
                    window: 1,
                },
                answers_tx.clone(),
            )
        })
        .collect();
    (senders, answers)
}

/// Queues `total` requests, round-robin over the TVs; each TV sends one at a time and retries until acked.
fn feed(senders: &[mpsc::UnboundedSender<Request>], total: usize) {
    for n in 0..total {
        let request = Request {
            id: format!("req-{n}"),
            item: ITEMS[n % ITEMS.len()].into(),
            qty: 1,
            note: None,
            lang: None,
            sent_at: None,
        };
        senders[n % senders.len()].send(request).expect("TV alive");
    }
}

/// Collects one answer per request, within `limit`.
async fn collect(answers: &mut mpsc::UnboundedReceiver<Answered>, total: usize, limit: Duration) -> Vec<Answered> {
    let mut got = Vec::with_capacity(total);
    let deadline = tokio::time::Instant::now() + limit;
    while got.len() < total {
        match tokio::time::timeout_at(deadline, answers.recv()).await {
            Ok(Some(answer)) => got.push(answer),
            Ok(None) => break,
            Err(_) => panic!("only {} of {total} requests were answered within {limit:?}", got.len()),
        }
    }
    got
}

/// The promise, checked against the SQLite file itself: every acked request is on exactly one ticket, no request
/// made two tickets, and the chain verifies.
fn assert_every_ack_is_durable(data_dir: &std::path::Path, answers: &[Answered]) {
    let db = open_db(data_dir);
    let mut keys: HashMap<(String, String), String> = HashMap::new();
    {
        let mut stmt = db.prepare("SELECT device, request_id, ticket FROM request_keys").unwrap();
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?))).unwrap();
        for row in rows {
            let (key, ticket) = row.unwrap();
            keys.insert(key, ticket);
        }
    }
    for a in answers {
        assert_ne!(a.ack.result, AckResult::Rejected, "{} {}: {:?}", a.device, a.request.id, a.ack);
        let ticket = a.ack.ticket.as_ref().expect("a ticket in every accepted ack");
        let stored = keys.get(&(a.device.clone(), a.request.id.clone()));
        assert_eq!(stored, Some(ticket), "acked request {} {} is not durable as {ticket}", a.device, a.request.id);
        let exists: i64 =
            db.query_row("SELECT count(*) FROM tickets WHERE number = ?1", [ticket], |r| r.get(0)).unwrap();
        assert_eq!(exists, 1, "acked ticket {ticket} is missing");
    }
    let doubled: i64 = db
        .query_row(
            "SELECT count(*) FROM (SELECT device, request_id FROM tickets WHERE request_id IS NOT NULL
             GROUP BY device, request_id HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(doubled, 0, "a request made more than one ticket");
    assert_chain_verifies(data_dir);
}

fn rig_config(dir: &std::path::Path, port: u16) -> String {
    // A stress run sends far faster than any guest: flood control is set out of the way.
    base_config(&dir.join("data"), port, "").replace(
        "max_open_per_location = 20",
        "max_open_per_location = 100000\ndevice_per_minute = 1000000\ndevice_burst = 1000000\n\
         location_per_minute = 1000000\nlocation_burst = 1000000",
    )
}

/// SIGKILL at random moments during a burst from TVs that retry until acked.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_a_burst_loses_no_acknowledged_request() {
    let total = knob("BELLHOP_CRASH_REQUESTS", 20_000);
    let kills = knob("BELLHOP_CRASH_KILLS", 50);
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let config = rig_config(dir.path(), broker.port);
    let mut daemon = Daemon::start(dir.path(), &config);
    daemon.wait_mqtt_connected();
    let (senders, mut answers) = tvs(broker.port);
    feed(&senders, total);

    let killer = tokio::task::spawn_blocking(move || {
        let mut rng = rand::rng();
        for _ in 0..kills {
            // Kill after the journal has moved on by a random number of events: always mid-stream.
            let from = last_seq(&daemon.http).unwrap_or(0);
            let step = rng.random_range(5..(total as u64 / (kills as u64 * 2)).max(6));
            let moved =
                poll_until(Duration::from_secs(30), || last_seq(&daemon.http).is_some_and(|s| s >= from + step));
            assert!(moved, "the journal did not move on from {from} by {step} events");
            daemon.kill();
            daemon = Daemon::start_with(daemon.config.parent().unwrap(), &daemon.config.clone());
            daemon.wait_mqtt_connected();
        }
        daemon
    });
    let got = collect(&mut answers, total, Duration::from_secs(240)).await;
    let daemon = killer.await.unwrap();
    assert_eq!(got.len(), total);
    assert_every_ack_is_durable(&daemon.data_dir, &got);
    let retried = got.iter().filter(|a| a.attempts > 1).count();
    eprintln!("{total} requests, {kills} kills, {retried} needed a retry");
}

/// Mosquitto restarted mid-stream: every request is still answered once, none lost, redeliveries deduplicated.
#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restart_mid_stream_loses_nothing() {
    let total = knob("BELLHOP_RESTART_REQUESTS", 3000);
    let dir = scratch();
    let broker_dir = dir.path().join("mosquitto");
    let mut broker = LocalBroker::start(&broker_dir).expect("start mosquitto");
    let port = broker.port;
    let daemon = Daemon::start(dir.path(), &rig_config(dir.path(), port));
    daemon.wait_mqtt_connected();
    let (senders, mut answers) = tvs(port);
    feed(&senders, total);
    let http = daemon.http.clone();
    let restarter = tokio::task::spawn_blocking(move || {
        poll_until(Duration::from_secs(30), || last_seq(&http).is_some_and(|s| s >= (total / 4) as u64));
        broker.stop();
        LocalBroker::start_on(&broker_dir, port).expect("restart mosquitto")
    });
    let got = collect(&mut answers, total, Duration::from_secs(180)).await;
    let _broker = restarter.await.unwrap();
    assert_eq!(got.len(), total);
    assert_every_ack_is_durable(&daemon.data_dir, &got);
}

/// SIGTERM in the middle of a burst: the daemon drains, commits and exits cleanly, and after a restart every request
/// that was acknowledged is on disk exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_drains_and_loses_no_acknowledged_request() {
    let total = knob("BELLHOP_SIGTERM_REQUESTS", 3000);
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let mut daemon = Daemon::start(dir.path(), &rig_config(dir.path(), broker.port));
    daemon.wait_mqtt_connected();
    let (senders, mut answers) = tvs(broker.port);
    feed(&senders, total);
    let stopper = tokio::task::spawn_blocking(move || {
        let moved =
            poll_until(Duration::from_secs(30), || last_seq(&daemon.http).is_some_and(|s| s >= (total / 3) as u64));
        assert!(moved, "the burst did not start");
        let exit = daemon.terminate();
        assert!(exit.success(), "the daemon did not exit cleanly on SIGTERM: {exit}\n{}", daemon.log_text());
        assert!(daemon.log_text().contains("Stopped cleanly"), "{}", daemon.log_text());
        let daemon = Daemon::start_with(daemon.config.parent().unwrap(), &daemon.config.clone());
        daemon.wait_mqtt_connected();
        daemon
    });
    let got = collect(&mut answers, total, Duration::from_secs(180)).await;
    let daemon = stopper.await.unwrap();
    assert_eq!(got.len(), total);
    assert_every_ack_is_durable(&daemon.data_dir, &got);
}
