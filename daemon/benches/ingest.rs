//! Ingest benchmark: requests through a real Mosquitto into the real `bellhop` binary, committed and acked, against
//! the bare broker round trip (publish → subscriber → reply) measured in the same run.
//!
//! Run: `cargo bench -p bellhop --bench ingest` (knobs: BENCH_REQUESTS, BENCH_CLIENTS, BENCH_WINDOW, BENCH_RATE,
//! BENCH_SECONDS, BENCH_FSYNC_MS, BENCH_DAEMON_LOG for the daemon's `RUST_LOG`). Prints requests/s, the ratio to the bare round trip, p50/p99 latency at a steady
//! rate, events per commit, the daemon's peak RSS, and the sizes of the database and its write-ahead log (the
//! largest the log grew during the run, and both after the daemon stopped). With `BENCH_FSYNC_MS=5` the daemon runs
//! on a fake slow disk (`benches/fakes/slow_fsync.c`, loaded with `LD_PRELOAD`) whose every fsync takes 5 ms longer,
//! as on a gateway's eMMC or SD card. Results are recorded in docs/benchmarks.md.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bellhop::broker::{free_port, LocalBroker};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeFilter};
use tokio::sync::{mpsc, Semaphore};
use tv_protocol::{decode_ack, decode_request, encode_request, Ack, AckResult, Request, Topics};

const ROOMS: usize = 1000;

/// Acks that were not `accepted`: the figures count only when this stays 0 (each request raised a ticket).
static NOT_ACCEPTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Enough items that a room never asks for one it already has open, in the full run (items from 0) and the steady
/// run after it (items from [`STEADY_FIRST_ITEM`]): every request raises a ticket, none merges.
const ITEMS: usize = 1100;
const STEADY_FIRST_ITEM: usize = 1050;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One load client: the TVs of every `clients`-th room (`tv-{room}`, each speaking only for its own room, as the
/// gateway's binding requires), keeping at most `window` requests outstanding (or pacing at `rate` per second when
/// given), and timing each publish → ack. Items start at `first_item` and move on once every room has asked.
async fn load_client(
    port: u16,
    n: usize,
    clients: usize,
    count: usize,
    window: usize,
    rate: Option<f64>,
    first_item: usize,
) -> Vec<Duration> {
    let topics = Topics::new("bellhop").unwrap();
    let rooms: Vec<String> = (0..ROOMS).filter(|r| r % clients == n).map(|r| format!("{}", 100 + r)).collect();
    let mut options = MqttOptions::new(format!("bench-load-{n}"), "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(60)).set_inflight(1000).set_request_channel_capacity(10_000);
    let (client, mut eventloop) = AsyncClient::new(options, 10_000);
    bellhop::mqtt::without_nagle(&mut eventloop);
    let (acks_tx, mut acks) = mpsc::unbounded_channel::<Vec<u8>>();
    let (ready_tx, mut ready) = mpsc::channel::<()>(1);
    let ack_filters: Vec<SubscribeFilter> = rooms
        .iter()
        .map(|room| SubscribeFilter::new(topics.ack(room, &format!("tv-{room}")), QoS::AtLeastOnce))
        .collect();
    let sub = client.clone();
    let driver = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let sub = sub.clone();
                    let filters = ack_filters.clone();
                    tokio::spawn(async move { sub.subscribe_many(filters).await });
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = ready_tx.try_send(());
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if acks_tx.send(p.payload.to_vec()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    ready.recv().await;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(window));
    let receiver = {
        let sent = sent.clone();
        let permits = permits.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            while latencies.len() < count {
                let Some(payload) = acks.recv().await else { break };
                let Ok(ack): Result<Ack, _> = decode_ack(&payload) else { continue };
                if let Some(at) = sent.lock().unwrap().remove(&ack.id) {
                    if ack.result != AckResult::Accepted {
                        NOT_ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    latencies.push(at.elapsed());
                    permits.add_permits(1);
                }
            }
            latencies
        })
    };
    let mut pace = rate.map(|r| tokio::time::interval(Duration::from_secs_f64(1.0 / r)));
    for i in 0..count {
        if let Some(pace) = pace.as_mut() {
            pace.tick().await;
        } else {
            permits.acquire().await.unwrap().forget();
        }
        let room = &rooms[i % rooms.len()];
        let device = format!("tv-{room}");
        let request = Request {
            id: format!("{first_item}-{n}-{i}"),
            item: format!("item.{}", (first_item + i / rooms.len()) % ITEMS),
            qty: 1,
            note: None,
            lang: None,
            sent_at: None,
        };
        sent.lock().unwrap().insert(request.id.clone(), Instant::now());
        client.publish(topics.request(room, &device), QoS::AtLeastOnce, false, encode_request(&request)).await.unwrap();
    }
    let latencies = receiver.await.unwrap();
    driver.abort();
    latencies
}

/// Runs `clients` load clients for `total` requests and returns the figures.
async fn load(port: u16, clients: usize, total: usize, window: usize, rate: Option<f64>, first_item: usize) -> Figures {
    let started = Instant::now();
    let per = total / clients;
    let tasks: Vec<_> = (0..clients)
        .map(|n| tokio::spawn(load_client(port, n, clients, per, window, rate.map(|r| r / clients as f64), first_item)))
        .collect();
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    Figures { rate: all.len() as f64 / elapsed.as_secs_f64(), p50: percentile(&all, 0.5), p99: percentile(&all, 0.99) }
}

/// The bare round trip: a subscriber that answers every request with an ack, with no journal behind it.
async fn bare_responder(port: u16) -> tokio::task::JoinHandle<()> {
    let topics = Topics::new("bellhop").unwrap();
    let mut options = MqttOptions::new("bench-bare-responder", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(60)).set_inflight(1000).set_request_channel_capacity(10_000);
    let (client, mut eventloop) = AsyncClient::new(options, 10_000);
    bellhop::mqtt::without_nagle(&mut eventloop);
    let (ready_tx, mut ready) = mpsc::channel::<()>(1);
    let handle = tokio::spawn(async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<rumqttc::Publish>();
        let replier = client.clone();
        let topics2 = topics.clone();
        tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                let Ok(tv_protocol::Topic::Request { location, device }) = topics2.parse(&p.topic) else { continue };
                let id = decode_request(&p.payload).map(|r| r.id).unwrap_or_default();
                let ack = Ack::accepted(&id, "BARE-1", None);
                let _ = replier.publish(topics2.ack(&location, &device), QoS::AtLeastOnce, false, ack.encode()).await;
            }
        });
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let c = client.clone();
                    let f = topics.request_filter();
                    tokio::spawn(async move { c.subscribe(f, QoS::AtLeastOnce).await });
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = ready_tx.try_send(());
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send(p);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    ready.recv().await;
    handle
}

fn config(dir: &std::path::Path, broker: u16) -> String {
    let mut text = format!(
        "[site]\ncode = \"BENCH\"\nname = \"Bench\"\ntime_zone = \"UTC\"\n\n[mqtt]\nurl = \"mqtt://127.0.0.1:{broker}\"\n\n\
         [storage]\ndata_dir = \"{}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[limits]\nmax_open_per_location = 100000\ndevice_per_minute = 10000000\ndevice_burst = 10000000\n\
         location_per_minute = 10000000\nlocation_burst = 10000000\n\n\
         [[departments]]\ncode = \"housekeeping\"\nname = \"Housekeeping\"\n",
        dir.join("data").display()
    );
    for i in 0..ITEMS {
        text += &format!(
            "\n[[catalog]]\ncode = \"item.{i}\"\ncategory = \"housekeeping\"\ndepartment = \"housekeeping\"\npriority = \"low\"\neta_min = 15\nlabels = {{ en = \"Item {i}\" }}\n"
        );
    }
    for room in 0..ROOMS {
        text += &format!("\n[[locations]]\nid = \"{}\"\nkind = \"room\"\n", 100 + room);
    }
    text
}

fn kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The daemon's `/healthz` document, or `None` while it is not answering.
fn health(http: &str) -> Option<serde_json::Value> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(http).ok()?;
    write!(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    serde_json::from_str(raw.split_once("\r\n\r\n")?.1).ok()
}

/// Builds the fake slow disk (a named fake: an `LD_PRELOAD` library that delays fsync) into `dir`.
fn slow_disk(dir: &std::path::Path) -> std::path::PathBuf {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/fakes/slow_fsync.c");
    let library = dir.join("slow_fsync.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(source)
        .arg("-ldl")
        .status()
        .expect("run cc");
    assert!(status.success(), "building the slow-disk fake failed");
    library
}

fn start_daemon(dir: &std::path::Path, broker: u16, fsync_ms: u64) -> (Child, String) {
    let path = dir.join("bellhop.toml");
    std::fs::write(&path, config(dir, broker)).unwrap();
    let http = format!("127.0.0.1:{}", free_port().unwrap());
    let mut command = Command::new(env!("CARGO_BIN_EXE_bellhop"));
    if fsync_ms > 0 {
        command.env("LD_PRELOAD", slow_disk(dir)).env("BELLHOP_FAKE_FSYNC_MS", fsync_ms.to_string());
    }
    let child = command
        .args(["run", "--config", path.to_str().unwrap(), "--http", &http])
        .env("RUST_LOG", std::env::var("BENCH_DAEMON_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bellhop");
    let deadline = Instant::now() + Duration::from_secs(30);
    while health_ok(&http).is_none() {
        assert!(Instant::now() < deadline, "bellhop did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, http)
}

fn health_ok(http: &str) -> Option<()> {
    (health(http)?["mqtt"]["connected"] == serde_json::Value::Bool(true)).then_some(())
}

fn main() {
    let total = knob("BENCH_REQUESTS", 20_000) as usize;
    let clients = knob("BENCH_CLIENTS", 16) as usize;
    let window = knob("BENCH_WINDOW", 64) as usize;
    let rate = knob("BENCH_RATE", 500) as f64;
    let seconds = knob("BENCH_SECONDS", 10);
    let fsync_ms = knob("BENCH_FSYNC_MS", 0);
    let dir = tempfile::tempdir().unwrap();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let rt = tokio::runtime::Runtime::new().unwrap();

    println!("ingest benchmark: {total} requests, {clients} clients, window {window}; steady {rate}/s for {seconds} s");
    if fsync_ms > 0 {
        println!("the daemon runs on a fake slow disk: every fsync takes {fsync_ms} ms longer");
    }
    let (bare, bare_steady) = rt.block_on(async {
        let responder = bare_responder(broker.port).await;
        let bare = load(broker.port, clients, total, window, None, 0).await;
        let steady =
            load(broker.port, clients, (rate as u64 * seconds) as usize, window, Some(rate), STEADY_FIRST_ITEM).await;
        responder.abort();
        (bare, steady)
    });

    let (mut daemon, http) = start_daemon(dir.path(), broker.port, fsync_ms);
    let idle_rss = kib(daemon.id(), "VmRSS:");
    let data = dir.path().join("data");
    let wal_watch = WalWatch::start(&data);
    let before = health(&http).expect("health before");
    let full = rt.block_on(load(broker.port, clients, total, window, None, 0));
    let after = health(&http).expect("health after");
    let steady_requests = (rate as u64 * seconds) as usize;
    let steady = rt.block_on(load(broker.port, clients, steady_requests, window, Some(rate), STEADY_FIRST_ITEM));
    let peak_rss = kib(daemon.id(), "VmHWM:");
    let wal_peak = wal_watch.stop();
    let (db_running, wal_running) = (size(&data.join("bellhop.db")), size(&data.join("bellhop.db-wal")));
    let _ = Command::new("kill").arg("-TERM").arg(daemon.id().to_string()).status();
    let _ = daemon.wait();
    let (db_stopped, wal_stopped) = (size(&data.join("bellhop.db")), size(&data.join("bellhop.db-wal")));

    let d = |k: &str| after["journal"][k].as_u64().unwrap_or(0) - before["journal"][k].as_u64().unwrap_or(0);
    let per_commit = d("events") as f64 / d("commits").max(1) as f64;
    println!();
    println!("| measure | bare broker round trip | bellhop | target |");
    println!("|---|---|---|---|");
    println!("| throughput (requests/s) | {:.0} | {:.0} | ≥ 10,000 and ≥ 50 % of bare |", bare.rate, full.rate);
    println!("| ratio to bare | 1.00 | {:.2} | ≥ 0.50 |", full.rate / bare.rate);
    println!("| p50 latency at {rate}/s | {:.2} ms | {:.2} ms | ≤ 5 ms |", ms(bare_steady.p50), ms(steady.p50));
    println!("| p99 latency at {rate}/s | {:.2} ms | {:.2} ms | ≤ 20 ms |", ms(bare_steady.p99), ms(steady.p99));
    println!("| p99 latency at full load | {:.2} ms | {:.2} ms | - |", ms(bare.p99), ms(full.p99));
    println!("| events per commit (full load) | - | {per_commit:.1} | ≥ 50 |");
    println!(
        "| requests not accepted (each must raise a ticket) | - | {} | 0 |",
        NOT_ACCEPTED.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!("| RSS idle, {ROOMS} locations | - | {:.1} MB | ≤ 25 MB |", idle_rss as f64 / 1024.0);
    println!("| peak RSS | - | {:.1} MB | ≤ 64 MB |", peak_rss as f64 / 1024.0);
    println!("| database after the run (running; stopped) | - | {}; {} | - |", mb(db_running), mb(db_stopped));
    println!("| write-ahead log: largest during the run | - | {} | ≤ 64 MB |", mb(wal_peak));
    println!(
        "| write-ahead log after the run (running; stopped) | - | {}; {} | ≤ 64 MB |",
        mb(wal_running),
        mb(wal_stopped)
    );
}

fn size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Samples the write-ahead log's size every 50 ms on a thread and keeps the largest.
struct WalWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl WalWatch {
    fn start(data: &std::path::Path) -> WalWatch {
        let wal = data.join("bellhop.db-wal");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut largest = 0;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                largest = largest.max(size(&wal));
                std::thread::sleep(Duration::from_millis(50));
            }
            largest.max(size(&wal))
        });
        WalWatch { stop, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
