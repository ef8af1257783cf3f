//! End to end: no message, whatever its size or content, stops intake, and nothing is acknowledged before it is
//! stored. A real Mosquitto, with and without the packaged size limit, carries oversize requests at QoS 1 and an
//! oversize retained presence to the real binary; each is journaled as rejected and consumed once, and requests
//! keep flowing, also after a restart. A presence that arrives while the store cannot commit is stored once it
//! can, and presences survive `kill -9`.

mod support;

use std::path::Path;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use support::*;
use tv_protocol::{AckResult, ErrorCode};

/// The `message_size_limit` line of the packaged Mosquitto configuration, so the test tries what ships.
fn packaged_size_limit() -> String {
    let conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deb/mosquitto/bellhop.conf"))
        .expect("read deb/mosquitto/bellhop.conf");
    conf.lines().find(|l| l.starts_with("message_size_limit")).expect("the package sets a size limit").to_owned()
}

struct Rig {
    dir: tempfile::TempDir,
    broker: LocalBroker,
    daemon: Daemon,
}

impl Rig {
    fn start(with_limit: bool) -> Rig {
        let dir = scratch();
        let extra = if with_limit { packaged_size_limit() } else { String::new() };
        let broker = LocalBroker::start_with(&dir.path().join("mosquitto"), &extra).expect("start mosquitto");
        let config = base_config(&dir.path().join("data"), broker.port, "");
        let daemon = Daemon::start(dir.path(), &config);
        daemon.wait_mqtt_connected();
        Rig { dir, broker, daemon }
    }

    /// Stops the daemon (SIGTERM) and starts it again on the same data and broker.
    fn restart(&mut self) {
        assert!(self.daemon.terminate().success());
        self.daemon = Daemon::start_with(self.dir.path(), &self.daemon.config.clone());
        self.daemon.wait_mqtt_connected();
    }

    /// Publishes `bytes` with Mosquitto's own client, as an installer or an attacker would.
    fn mosquitto_pub(&self, topic: &str, bytes: &[u8], retain: bool) {
        let file = self.dir.path().join("payload");
        std::fs::write(&file, bytes).unwrap();
        let mut command = std::process::Command::new("mosquitto_pub");
        command.args(["-h", "127.0.0.1", "-p", &self.broker.port.to_string(), "-q", "1", "-t", topic, "-f"]);
        command.arg(&file);
        if retain {
            command.arg("-r");
        }
        let status = command.status().expect("mosquitto_pub (install mosquitto-clients)");
        assert!(status.success(), "mosquitto_pub failed: {status}");
    }

    fn journaled(&self, kind: &str, code: &str) -> i64 {
        count_events(&self.daemon.data_dir, kind, code)
    }
}

fn count_events(data_dir: &Path, kind: &str, code: &str) -> i64 {
    open_db(data_dir)
        .query_row(
            "SELECT count(*) FROM events WHERE kind = ?1 AND json_extract(payload, '$.code') = ?2",
            [kind, code],
            |r| r.get(0),
        )
        .unwrap()
}

/// A request of `size` bytes that is valid JSON apart from its size.
fn oversize_request(id: &str, size: usize) -> Vec<u8> {
    let head = format!(r#"{{"id":"{id}","item":"hk.towels","note":""#);
    let mut payload = head.into_bytes();
    payload.resize(size - 2, b'x');
    payload.extend_from_slice(b"\"}");
    payload
}

fn towels(id: &str) -> Vec<u8> {
    format!(r#"{{"id":"{id}","item":"hk.towels"}}"#).into_bytes()
}

async fn oversize_request_is_rejected_once_and_intake_goes_on(with_limit: bool) {
    let mut rig = Rig::start(with_limit);
    let mut tv = Device::connect(rig.broker.port, "101", "tv-101", &[]).await;
    let topic = tv_protocol::Topics::new("bellhop").unwrap().request("101", "tv-101");

    rig.mosquitto_pub(&topic, &oversize_request("big-1", 70_000), false);
    let ack = tv.next_ack().await;
    assert_eq!(
        (ack.result, ack.error.as_ref().map(|e| e.code)),
        (AckResult::Rejected, Some(ErrorCode::TooLarge)),
        "{ack:?}"
    );
    let ack = tv.request(&towels("after-1")).await;
    assert_eq!(ack.result, AckResult::Accepted, "intake stopped after an oversize request: {ack:?}");
    assert_eq!(rig.journaled("request_rejected", "too_large"), 1);

    // The message was consumed: a restart finds nothing to deliver again, and requests still flow.
    rig.restart();
    let ack = tv.request(br#"{"id":"after-2","item":"hk.pillows"}"#).await;
    assert_eq!(ack.result, AckResult::Accepted, "intake stopped after a restart: {ack:?}");
    assert_eq!(rig.journaled("request_rejected", "too_large"), 1, "the oversize request was delivered again");
    assert!(!rig.daemon.log_text().contains("Lost the broker connection"), "{}", rig.daemon.log_text());

    if with_limit {
        // Above the broker's limit, Mosquitto drops the message before it reaches the gateway.
        rig.mosquitto_pub(&topic, &oversize_request("huge-1", 300_000), false);
        let ack = tv.request(br#"{"id":"after-3","item":"eng.ac"}"#).await;
        assert_eq!(ack.result, AckResult::Accepted, "{ack:?}");
        assert_eq!(rig.journaled("request_rejected", "too_large"), 1);
    }
    assert_chain_verifies(&rig.daemon.data_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_request_at_qos_1_is_consumed_once_without_a_broker_limit() {
    oversize_request_is_rejected_once_and_intake_goes_on(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_request_at_qos_1_is_consumed_once_under_the_packaged_broker_limit() {
    oversize_request_is_rejected_once_and_intake_goes_on(true).await;
}

/// A watcher of one topic that takes messages of any size and reports each payload's length.
async fn watch_lengths(port: u16, topic: &str) -> tokio::sync::mpsc::UnboundedReceiver<usize> {
    let mut options = MqttOptions::new("poison-watcher", "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    let mut subscribed_tx = Some(subscribed_tx);
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send(p.payload.len()).is_err() {
                        break;
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(done) = subscribed_tx.take() {
                        let _ = done.send(());
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    client.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), subscribed).await.expect("subscribed in time").unwrap();
    std::mem::forget(client);
    rx
}

async fn next_length(lengths: &mut tokio::sync::mpsc::UnboundedReceiver<usize>) -> usize {
    tokio::time::timeout(Duration::from_secs(20), lengths.recv()).await.expect("a message in time").unwrap()
}

async fn oversize_retained_presence_is_consumed_once(with_limit: bool) {
    let mut rig = Rig::start(with_limit);
    let topic = tv_protocol::Topics::new("bellhop").unwrap().presence("101", "tv-x");
    let mut lengths = watch_lengths(rig.broker.port, &topic).await;

    rig.mosquitto_pub(&topic, &vec![b'o'; 70_000], true);
    assert_eq!(next_length(&mut lengths).await, 70_000);
    // The gateway journals it, then clears the retained message (an empty retained payload).
    assert_eq!(next_length(&mut lengths).await, 0, "the oversize retained presence was not cleared");
    wait_until(Duration::from_secs(10), "the rejection in the journal", || {
        (rig.journaled("presence_rejected", "too_large") == 1).then_some(())
    });

    rig.restart();
    let mut tv = Device::connect(rig.broker.port, "101", "tv-101", &[]).await;
    let ack = tv.request(&towels("after-presence")).await;
    assert_eq!(ack.result, AckResult::Accepted, "{ack:?}");
    assert_eq!(rig.journaled("presence_rejected", "too_large"), 1);
    assert!(!rig.daemon.log_text().contains("Lost the broker connection"), "{}", rig.daemon.log_text());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_retained_presence_is_consumed_once_without_a_broker_limit() {
    oversize_retained_presence_is_consumed_once(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_retained_presence_is_consumed_once_under_the_packaged_broker_limit() {
    oversize_retained_presence_is_consumed_once(true).await;
}

fn presence_of(data_dir: &Path, device: &str) -> Option<bool> {
    open_db(data_dir)
        .query_row("SELECT presence FROM devices WHERE id = ?1", [device], |r| r.get::<_, Option<bool>>(0))
        .ok()
        .flatten()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_presence_that_could_not_be_committed_is_stored_once_the_store_can_write() {
    let rig = Rig::start(false);
    let tv = Device::connect(rig.broker.port, "102", "tv-102", &[]).await;
    let topic = tv_protocol::Topics::new("bellhop").unwrap().presence("102", "tv-102");

    // Another process holds the database's write lock: every commit of the daemon fails meanwhile.
    let lock = rusqlite::Connection::open(rig.daemon.data_dir.join("bellhop.db")).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    tv.publish(&topic, b"online").await;
    wait_until(Duration::from_secs(30), "the daemon to report a presence it could not store", || {
        rig.daemon.log_text().contains("A presence was not stored").then_some(())
    });
    assert_eq!(presence_of(&rig.daemon.data_dir, "tv-102"), None);
    lock.execute_batch("ROLLBACK").unwrap();

    wait_until(Duration::from_secs(30), "the presence to be stored", || {
        (presence_of(&rig.daemon.data_dir, "tv-102") == Some(true)).then_some(())
    });
    assert_chain_verifies(&rig.daemon.data_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn presences_survive_kill_9() {
    let mut rig = Rig::start(false);
    let tv = Device::connect(rig.broker.port, "101", "tv-101", &[]).await;
    let topics = tv_protocol::Topics::new("bellhop").unwrap();
    let devices: Vec<String> = (0..300).map(|n| format!("tv-k{n}")).collect();
    for (n, device) in devices.iter().enumerate() {
        tv.publish(&topics.presence("101", device), b"online").await;
        if n % 100 == 50 {
            rig.daemon.kill();
            rig.daemon = Daemon::start_with(rig.dir.path(), &rig.daemon.config.clone());
        }
    }
    rig.daemon.wait_mqtt_connected();
    wait_until(Duration::from_secs(60), "every presence to be stored", || {
        devices.iter().all(|d| presence_of(&rig.daemon.data_dir, d) == Some(true)).then_some(())
    });
    assert_chain_verifies(&rig.daemon.data_dir);
}
