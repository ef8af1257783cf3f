//! Cloud sync end to end: a real journal (written through `bellhop::store`), the uploader, and the reference receiver
//! over TLS with injected faults. The receiver must end with every event once, in order, with its chain verified.

#[path = "support/receiver.rs"]
mod receiver;

use std::path::Path;
use std::time::Duration;

use bellhop::event::EventBody;
use bellhop::store::Store;
use bellhop::sync::{SyncConfig, SyncHandle, SyncStatus, Uploader};
use receiver::{Fake, Options, Receiver};
use tokio::sync::watch;

const GATEWAY: &str = "hotel-42";
const SECRET: &[u8] = b"hotel-42-secret-0123456789abcdef";

/// Polls `check` until it returns `Some`, or panics with `what` after `limit`.
async fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A journal in a scratch data directory, and the core's "last committed" watch.
struct Journal {
    dir: tempfile::TempDir,
    store: Store,
    committed: watch::Sender<u64>,
    last: u64,
}

impl Journal {
    fn new() -> Journal {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (committed, _) = watch::channel(0);
        Journal { dir, store, committed, last: 0 }
    }

    /// Appends `n` events dated `age` ago, in one transaction, and tells the watch.
    fn append(&mut self, n: usize, age: Duration) -> u64 {
        let at = (jiff::Timestamp::now() - jiff::SignedDuration::try_from(age).unwrap())
            .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let mut txn = self.store.begin().unwrap();
        for i in 0..n {
            let body = if i % 3 == 2 {
                EventBody::TokenCreated {
                    token: format!("t{i}"),
                    role: bellhop::vocab::Role::Staff,
                    label: "desk \"β\"".into(),
                    owner: None,
                    department: None,
                    expires_at: None,
                }
            } else {
                EventBody::TicketCommented { ticket: format!("A-{}", i % 97), text: format!("note {i} ✓ \\ \n") }
            };
            txn.append(&at, &bellhop::vocab::Actor::System, body).unwrap();
        }
        self.last = txn.commit().unwrap().last().unwrap().seq;
        self.committed.send_replace(self.last);
        self.last
    }

    fn config(&self, receiver: &Receiver, secret: &[u8]) -> SyncConfig {
        let secret_file = self.dir.path().join("sync.secret");
        std::fs::write(&secret_file, [secret, b"\n"].concat()).unwrap();
        let ca_file = self.dir.path().join("ho-ca.pem");
        std::fs::write(&ca_file, receiver.ca_pem()).unwrap();
        let mut config = SyncConfig::new(receiver.url(), GATEWAY, secret_file);
        config.ca_file = Some(ca_file);
        config.batch_max_events = 200;
        config.timeout_s = 1;
        config.backoff_max_s = 1;
        config.validate().unwrap();
        config.check_files().unwrap();
        config
    }

    fn start(&self, config: SyncConfig) -> SyncHandle {
        Uploader::start(config, self.dir.path().to_path_buf(), self.committed.subscribe())
    }
}

async fn receiver() -> Receiver {
    Receiver::start(Options { gateways: vec![(GATEWAY.into(), SECRET.to_vec())], ..Options::default() }).await
}

/// Waits until the gateway's cursor and the receiver both reach the journal's last event.
async fn wait_synced(sync: &SyncHandle, receiver: &Receiver, last: u64) -> SyncStatus {
    wait_for(Duration::from_secs(90), &format!("sync through {last}"), || {
        let status = sync.status();
        (status.cursor == last && receiver.stored_through(GATEWAY) == last).then_some(status)
    })
    .await
}

/// Every journal event is at the receiver once, in order, byte for byte, and its chain verifies.
fn assert_received_exactly(receiver: &Receiver, data_dir: &Path, last: u64) {
    let events = receiver.events(GATEWAY);
    assert_eq!(events.len() as u64, last, "every event stored once");
    receiver::verify_chain(&events).unwrap();
    let db = rusqlite::Connection::open_with_flags(
        bellhop::store::db_path(data_dir),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db.prepare("SELECT seq, ticket, payload, hash FROM events ORDER BY seq").unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?, r.get::<_, Vec<u8>>(3)?)))
        .unwrap();
    let mut count = 0;
    for (row, event) in rows.zip(&events) {
        let (seq, ticket, payload, hash): (u64, Option<String>, String, Vec<u8>) = row.unwrap();
        assert_eq!((seq, &ticket, &payload, &hash[..]), (event.seq, &event.ticket, &event.payload, &event.hash[..]));
        count += 1;
    }
    assert_eq!(count, last);
    // The journal itself is untouched by the uploader.
    let report = bellhop::store::Reader::open(data_dir).unwrap().verify().unwrap();
    assert_eq!((report.last_seq, report.broken), (last, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_in_turn_loses_and_duplicates_nothing() {
    let receiver = receiver().await;
    let mut journal = Journal::new();
    journal.append(5_000, Duration::ZERO);
    let sync = journal.start(journal.config(&receiver, SECRET));
    let faults = [
        (Fake::Fail500, 3),
        (Fake::StoreThenFail500, 2),
        (Fake::Slow(Duration::from_millis(200)), 2),
        (Fake::Slow(Duration::from_millis(1_500)), 1), // beyond timeout_s = 1
        (Fake::CutRequest, 2),
        (Fake::CutReply, 2),
        (Fake::Stale, 2),
        (Fake::Duplicate, 2),
        (Fake::OutOfOrder, 2),
        (Fake::Garbage, 2),
    ];
    for (fake, times) in faults {
        receiver.fake(fake.clone(), times);
        journal.append(100, Duration::ZERO);
        wait_for(Duration::from_secs(30), &format!("{fake:?} to be used"), || {
            (receiver.fakes_pending() == 0).then_some(())
        })
        .await;
        let status = sync.status();
        assert!(status.cursor <= journal.last && status.alarm.is_none(), "{fake:?}: {status:?}");
    }
    let last = journal.append(250, Duration::ZERO);
    let status = wait_synced(&sync, &receiver, last).await;
    assert_eq!((status.lag_events, status.lag_seconds, status.alarm), (0, 0, None));
    assert!(status.last_error.is_some(), "the faults were noticed");
    assert!(receiver.duplicates(GATEWAY) > 0, "store-then-fail and timeouts made re-sends");
    assert!(receiver.refusals().is_empty(), "{:?}", receiver.refusals());
    sync.stop().await;
    assert_received_exactly(&receiver, journal.dir.path(), last);
    let cursor = std::fs::read_to_string(journal.dir.path().join("sync-cursor")).unwrap();
    assert!(cursor.contains(&format!("\"cursor\":{last}")), "{cursor}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_claiming_too_much_raises_an_alarm_and_the_cursor_stops_at_what_was_sent() {
    let receiver = receiver().await;
    let mut journal = Journal::new();
    let first = journal.append(150, Duration::ZERO);
    receiver.fake(Fake::Overshoot, 1);
    let sync = journal.start(journal.config(&receiver, SECRET));
    let status = wait_for(Duration::from_secs(30), "the overshoot alarm", || {
        let status = sync.status();
        status.alarm.is_some().then_some(status)
    })
    .await;
    assert_eq!(status.cursor, first);
    assert!(status.alarm.unwrap().contains("beyond the last event sent"));
    let last = journal.append(10, Duration::ZERO);
    let status = wait_synced(&sync, &receiver, last).await;
    assert_eq!(status.alarm, None, "a clean reply clears it");
    sync.stop().await;
    assert_received_exactly(&receiver, journal.dir.path(), last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_or_an_unknown_gateway_raises_the_alarm_and_advances_nothing() {
    let receiver = receiver().await;
    let mut journal = Journal::new();
    let last = journal.append(300, Duration::from_secs(3_600));

    let sync = journal.start(journal.config(&receiver, b"not-the-secret-of-hotel-42"));
    let status = wait_for(Duration::from_secs(30), "the bad-signature alarm", || {
        let status = sync.status();
        status.alarm.is_some().then_some(status)
    })
    .await;
    sync.stop().await;
    assert!(status.alarm.as_deref().unwrap().contains("401"), "{status:?}");
    assert_eq!((status.cursor, status.last_seq_seen, status.lag_events), (0, last, last));
    assert!(status.lag_seconds >= 3_600, "{status:?}");
    assert_eq!(receiver.stored_through(GATEWAY), 0);
    assert_eq!(receiver.refusals()[0].status, 401);

    let mut config = journal.config(&receiver, SECRET);
    config.gateway_id = "hotel-43".into();
    let sync = journal.start(config);
    let status = wait_for(Duration::from_secs(30), "the unknown-gateway alarm", || {
        let status = sync.status();
        status.alarm.is_some().then_some(status)
    })
    .await;
    sync.stop().await;
    assert!(status.alarm.unwrap().contains("404"));
    assert_eq!(status.cursor, 0);
    assert_eq!(receiver.stored_through(GATEWAY), 0);
    assert!(!journal.dir.path().join("sync-cursor").exists(), "nothing acknowledged, nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_cursor_and_mutual_tls_works() {
    let receiver = Receiver::start(Options {
        gateways: vec![(GATEWAY.into(), SECRET.to_vec())],
        require_client_cert: true,
        date_ahead_s: 120,
    })
    .await;
    let mut journal = Journal::new();
    journal.append(3_000, Duration::ZERO);
    let mut config = journal.config(&receiver, SECRET);
    config.batch_max_events = 100;

    // Without a client certificate the handshake fails: nothing is stored, and the error is visible.
    let sync = journal.start(config.clone());
    let status = wait_for(Duration::from_secs(30), "a TLS failure", || {
        let status = sync.status();
        (receiver.tls_failures() > 0 && status.last_error.is_some()).then_some(status)
    })
    .await;
    sync.stop().await;
    assert_eq!((status.cursor, receiver.stored_through(GATEWAY)), (0, 0));

    let cert = journal.dir.path().join("client.pem");
    let key = journal.dir.path().join("client.key");
    std::fs::write(&cert, receiver.client_cert_pem()).unwrap();
    std::fs::write(&key, receiver.client_key_pem()).unwrap();
    config.client_cert_file = Some(cert);
    config.client_key_file = Some(key);
    config.check_files().unwrap();

    let sync = journal.start(config.clone());
    wait_for(Duration::from_secs(60), "part of the backlog", || (sync.status().cursor >= 1_000).then_some(())).await;
    sync.stop().await;
    let stopped_at = receiver.stored_through(GATEWAY);

    let last = journal.append(500, Duration::ZERO);
    let sync = journal.start(config);
    assert!(sync.status().cursor <= stopped_at);
    let status = wait_synced(&sync, &receiver, last).await;
    let offset = status.clock_offset_s.expect("the Date header was read");
    assert!((118..=122).contains(&offset), "clock offset {offset}");
    assert!(receiver.duplicates(GATEWAY) <= 100, "at most the batch in flight at the stop is re-sent");
    sync.stop().await;
    assert_received_exactly(&receiver, journal.dir.path(), last);
}

mod support;

/// A property with a broker and the real daemon whose `[sync]` section points at `receiver`, with `keys` added to
/// it. Keeps the scratch directory and the broker alive as long as it lives.
struct SyncedProperty {
    dir: tempfile::TempDir,
    broker: support::LocalBroker,
    daemon: support::Daemon,
}

fn synced_property(receiver: &Receiver, keys: &str, config: impl FnOnce(String) -> String) -> SyncedProperty {
    use support::*;
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    std::fs::write(dir.path().join("sync.secret"), SECRET).unwrap();
    std::fs::write(dir.path().join("ho-ca.pem"), receiver.ca_pem()).unwrap();
    let section = format!(
        "\n[sync]\nurl = \"{}\"\ngateway_id = \"{GATEWAY}\"\nsecret_file = \"sync.secret\"\nca_file = \"ho-ca.pem\"\nbackoff_max_s = 1\n{keys}",
        receiver.url()
    );
    let daemon = Daemon::start(dir.path(), &config(base_config(&dir.path().join("data"), broker.port, &section)));
    daemon.wait_mqtt_connected();
    SyncedProperty { dir, broker, daemon }
}

/// The real daemon with `[sync]`: tickets raised by TVs reach head office, across SIGKILLs of the daemon in the
/// middle of uploading, every event once and in order; `/healthz` shows the lag.
#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_uploads_its_journal_across_crashes() {
    use support::*;
    let receiver = receiver().await;
    receiver.fake(Fake::Slow(Duration::from_millis(200)), 5);
    let SyncedProperty { dir, broker, mut daemon } =
        synced_property(&receiver, "batch_max_events = 50\nconfig_poll_s = 0\n", |c| {
            c.replace("max_open_per_location = 20", "max_open_per_location = 100000")
        });
    let mut tv = Device::connect(broker.port, "101", "tv-101", &[]).await;
    for round in 0..3 {
        for n in 0..100 {
            tv.request(format!(r#"{{"id":"r{round}-{n}","item":"hk.towels"}}"#).as_bytes()).await;
        }
        // Kill it while the upload is under way (the receiver is slow for the first batches).
        daemon.kill();
        daemon = Daemon::start_with(dir.path(), &daemon.config.clone());
        daemon.wait_mqtt_connected();
    }
    let last = last_seq(&daemon.http).unwrap();
    wait_for(Duration::from_secs(60), "head office to hold every event", || {
        (receiver.stored_through(GATEWAY) == last).then_some(())
    })
    .await;
    let events = receiver.events(GATEWAY);
    assert_eq!(events.len() as u64, last, "every event once");
    receiver::verify_chain(&events).unwrap();
    let health = wait_for(Duration::from_secs(10), "the lag to reach 0", || {
        let (_, health) = http_get_blocking(&daemon.http, "/healthz", None).ok()?;
        (health["sync"]["cursor"] == last && health["sync"]["lag_events"] == 0).then_some(health)
    })
    .await;
    assert_eq!(health["status"], "ok", "{health}");
}

/// Head office's configuration: a good document is validated layered over the local file, applied through the
/// reload path (the menu follows), reported, and kept across a restart; a bad one is refused with its file and line
/// and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn head_office_configuration_is_validated_applied_reported_and_kept() {
    use support::*;
    let receiver = receiver().await;
    let good = "[[departments]]\ncode = \"housekeeping\"\nname = \"Housekeeping\"\n\n\
                [[catalog]]\ncode = \"hk.robe\"\ncategory = \"housekeeping\"\ndepartment = \"housekeeping\"\npriority = \"low\"\n";
    let etag = receiver.set_config(GATEWAY, good);
    let SyncedProperty { dir, broker, mut daemon } = synced_property(&receiver, "config_poll_s = 1\n", |c| c);
    wait_for(Duration::from_secs(30), "the applied report", || {
        receiver
            .config_reports(GATEWAY)
            .iter()
            .any(|r| r["etag"] == etag.as_str() && r["applied"] == true)
            .then_some(())
    })
    .await;
    let mut tv = Device::connect(broker.port, "101", "tv-101", &[]).await;
    let ack = tv.request(br#"{"id":"a","item":"hk.robe"}"#).await;
    assert_eq!(ack.result, tv_protocol::AckResult::Accepted, "{ack:?}");
    // Head office's catalog replaced the local one.
    let ack = tv.request(br#"{"id":"b","item":"hk.towels"}"#).await;
    assert_eq!(ack.error.map(|e| e.code), Some(tv_protocol::ErrorCode::UnknownItem));

    let bad = "[[departments]]\ncode = \"housekeeping\"\nname = \"Housekeeping\"\n\n\
               [[catalog]]\ncode = \"hk.robe\"\ncategory = \"housekeeping\"\ndepartment = \"spa\"\npriority = \"low\"\n";
    let bad_etag = receiver.set_config(GATEWAY, bad);
    let report = wait_for(Duration::from_secs(30), "the refused report", || {
        receiver.config_reports(GATEWAY).into_iter().find(|r| r["etag"] == bad_etag.as_str())
    })
    .await;
    assert_eq!(report["applied"], false);
    let error = report["errors"][0].as_str().unwrap();
    assert!(error.contains("managed.toml:8: catalog[0].department"), "{error}");
    // The previous configuration is still in force: the item is still known (merged into the open ticket).
    assert_eq!(tv.request(br#"{"id":"c","item":"hk.robe"}"#).await.result, tv_protocol::AckResult::Merged);
    let (_, health) = http_get_blocking(&daemon.http, "/healthz", None).unwrap();
    assert_eq!(health["config_pull"]["etag"], etag.as_str(), "{health}");

    // After a restart the last good head-office configuration is still in force.
    daemon.kill();
    let daemon = Daemon::start_with(dir.path(), &daemon.config.clone());
    daemon.wait_mqtt_connected();
    let mut other = Device::connect(broker.port, "102", "tv-102", &[]).await;
    assert_eq!(other.request(br#"{"id":"d","item":"hk.robe"}"#).await.result, tv_protocol::AckResult::Accepted);
}

/// `retain_synced_days`: history head office holds is pruned locally (never an open ticket's), the chain still
/// verifies from the checkpoint, and the upload carries on after it.
#[tokio::test(flavor = "multi_thread")]
async fn synced_history_is_pruned_and_the_chain_still_verifies() {
    use support::*;
    let receiver = receiver().await;
    let SyncedProperty { dir, broker, mut daemon } =
        synced_property(&receiver, "config_poll_s = 0\nretain_synced_days = 0\n", |c| c);
    let mut tv = Device::connect(broker.port, "101", "tv-101", &[]).await;
    let closed = tv.request(br#"{"id":"a","item":"hk.towels"}"#).await.ticket.unwrap();
    let open = tv.request(br#"{"id":"b","item":"hk.pillows"}"#).await.ticket.unwrap();
    let token = daemon.token("staff");
    let (status, _) =
        post_json(&daemon.http, &format!("/api/v1/tickets/{closed}/resolve"), &token, serde_json::json!({})).await;
    assert_eq!(status, 200);
    let last = last_seq(&daemon.http).unwrap();
    wait_for(Duration::from_secs(30), "the upload", || (receiver.stored_through(GATEWAY) == last).then_some(())).await;
    // Restarted, the daemon prunes within seconds of start.
    daemon.kill();
    let daemon = Daemon::start_with(dir.path(), &daemon.config.clone());
    let db_dir = daemon.data_dir.clone();
    let pruned = tokio::task::spawn_blocking(move || {
        poll_until(Duration::from_secs(30), || {
            open_db(&db_dir)
                .query_row("SELECT count(*) FROM events WHERE kind = 'journal_pruned'", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0)
                > 0
        })
    })
    .await
    .unwrap();
    assert!(pruned, "nothing was pruned");
    assert_chain_verifies(&daemon.data_dir);
    let db = open_db(&daemon.data_dir);
    let open_history: i64 =
        db.query_row("SELECT count(*) FROM events WHERE ticket = ?1", [&open], |r| r.get(0)).unwrap();
    assert!(open_history > 0, "an open ticket's history was pruned");
    // Events before the open ticket was raised are gone (the resolved ticket's raise among them).
    let raised: i64 = db
        .query_row("SELECT count(*) FROM events WHERE ticket = ?1 AND kind = 'ticket_raised'", [&closed], |r| r.get(0))
        .unwrap();
    assert_eq!(raised, 0, "synced history older than every open ticket was kept");
    // The prune event itself is uploaded like any other.
    let last = last_seq(&daemon.http).unwrap();
    wait_for(Duration::from_secs(30), "the upload after pruning", || {
        (receiver.stored_through(GATEWAY) == last).then_some(())
    })
    .await;
    receiver::verify_chain(&receiver.events(GATEWAY)).unwrap();
}
