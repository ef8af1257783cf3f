//! Sync drain benchmark: a backlog of journal events uploaded by the real `Uploader` over TLS on loopback to the
//! reference receiver (in this process), against reading and gzip'ing the same batches without the network.
//!
//! Run: `cargo bench -p bellhop --bench sync_drain` (knobs: BENCH_EVENTS, default 1,000,000; BENCH_TXN, events per
//! transaction when building the journal, default 10,000; BENCH_BATCH_EVENTS and BENCH_BATCH_BYTES, the uploader's
//! batch bounds, default `[sync]`'s defaults). Prints a markdown table: drain events/s, the baseline's events/s and
//! the ratio, peak RSS and VmRSS sampled every 100 ms during the drain.
//!
//! Memory caveat: the receiver runs in this process and keeps every event it stores in memory, so the process's RSS
//! grows with the events drained whatever the uploader does. The table therefore also shows an estimate of the
//! receiver's retained heap and the RSS growth left once it is subtracted, which is what the uploader (and the TLS
//! and HTTP machinery on both ends) adds.

#[path = "../../tests/support/receiver.rs"]
mod receiver;

use std::path::Path;
use std::time::{Duration, Instant};

use bellhop::event::EventBody;
use bellhop::store::Store;
use bellhop::sync::batch::Journal;
use bellhop::sync::{SyncConfig, Uploader};
use receiver::{Options, ReceivedEvent, Receiver};
use tokio::sync::watch;

const GATEWAY: &str = "hotel-42";
const SECRET: &[u8] = b"hotel-42-secret-0123456789abcdef";
/// How often VmRSS is sampled during the drain.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// The drain is abandoned when the cursor does not move for this long.
const STALL_LIMIT: Duration = Duration::from_secs(120);

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A `kB` field of `/proc/self/status` (VmRSS, VmHWM), in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0); whether it worked.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(kb: i64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// Appends `total` events in transactions of `per_txn`, as the core would: a mix of comments and token events.
fn build_journal(dir: &Path, total: u64, per_txn: u64) -> u64 {
    let mut store = Store::open(dir).unwrap();
    let mut last = 0;
    let mut i = 0u64;
    while i < total {
        let at = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let mut txn = store.begin().unwrap();
        for _ in 0..per_txn.min(total - i) {
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
            i += 1;
        }
        last = txn.commit().unwrap().last().unwrap().seq;
    }
    last
}

/// What the baseline measured.
struct Baseline {
    seconds: f64,
    batches: u64,
    json_bytes: u64,
    gzip_bytes: u64,
}

/// Reads and gzip's the whole journal in the uploader's batches, without the network.
fn baseline(dir: &Path, last: u64, max_events: usize, max_bytes: usize) -> Baseline {
    let journal = Journal::open(dir).unwrap();
    let started = Instant::now();
    let (mut cursor, mut batches, mut json_bytes, mut gzip_bytes) = (0, 0, 0, 0);
    while let Some(batch) = journal.read_batch(GATEWAY, cursor, max_events, max_bytes).unwrap() {
        assert_eq!(batch.first, cursor + 1);
        cursor = batch.last;
        batches += 1;
        json_bytes += batch.json_len as u64;
        gzip_bytes += batch.body.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(cursor, last, "the baseline read the whole journal");
    Baseline { seconds, batches, json_bytes, gzip_bytes }
}

/// glibc's chunk for a `malloc(n)`: the request plus an 8-byte header, rounded up to 16, at least 32.
fn chunk(n: usize) -> usize {
    if n == 0 {
        0 // an empty String does not allocate
    } else {
        (n + 8).div_ceil(16).max(2) * 16
    }
}

/// Per-event heap bytes the receiver keeps (the strings of each [`ReceivedEvent`]), averaged over the journal.
fn receiver_heap_per_event(dir: &Path) -> f64 {
    let db =
        rusqlite::Connection::open_with_flags(bellhop::store::db_path(dir), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = db
        .prepare(
            "SELECT length(CAST(at AS BLOB)), length(CAST(actor AS BLOB)), length(CAST(kind AS BLOB)), \
             length(CAST(ticket AS BLOB)), length(CAST(payload AS BLOB)) FROM events",
        )
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let (mut bytes, mut events) = (0usize, 0usize);
    while let Some(r) = rows.next().unwrap() {
        for column in 0..5 {
            bytes += chunk(r.get::<_, Option<i64>>(column).unwrap().unwrap_or(0) as usize);
        }
        events += 1;
    }
    bytes as f64 / events.max(1) as f64
}

/// The receiver's estimated resident heap with `stored` events: their strings plus the part of its
/// `Vec<ReceivedEvent>` written so far (the capacity beyond it, reserved by doubling, is not yet resident).
fn receiver_estimate_kb(stored: u64, heap_per_event: f64) -> i64 {
    let per_event = heap_per_event + std::mem::size_of::<ReceivedEvent>() as f64;
    (stored as f64 * per_event / 1024.0) as i64
}

/// One VmRSS sample during the drain.
struct Sample {
    rss_kb: i64,
    stored: u64,
}

/// What the drain measured.
struct Drain {
    seconds: f64,
    requests: u64,
    duplicates: u64,
    samples: Vec<Sample>,
    peak_kb: u64,
    peak_reset: bool,
    rss_before_kb: i64,
}

async fn drain(dir: &Path, last: u64, max_events: usize, max_bytes: usize) -> Drain {
    let receiver =
        Receiver::start(Options { gateways: vec![(GATEWAY.into(), SECRET.to_vec())], ..Options::default() }).await;
    let secret_file = dir.join("sync.secret");
    std::fs::write(&secret_file, [SECRET, b"\n"].concat()).unwrap();
    let ca_file = dir.join("ho-ca.pem");
    std::fs::write(&ca_file, receiver.ca_pem()).unwrap();
    let mut config = SyncConfig::new(receiver.url(), GATEWAY, secret_file);
    config.ca_file = Some(ca_file);
    config.batch_max_events = max_events;
    config.batch_max_bytes = max_bytes;
    config.backoff_max_s = 1;
    config.validate().unwrap();
    config.check_files().unwrap();
    let (_committed, notify) = watch::channel(last);

    let peak_reset = reset_peak_rss();
    let rss_before_kb = status_kb("VmRSS") as i64;
    let mut samples = vec![Sample { rss_kb: rss_before_kb, stored: 0 }];
    let started = Instant::now();
    let sync = Uploader::start(config, dir.to_path_buf(), notify);
    let (mut next_sample, mut last_cursor, mut moved_at) = (started + SAMPLE_EVERY, 0, started);
    loop {
        let status = sync.status();
        if status.cursor == last && receiver.stored_through(GATEWAY) == last {
            break;
        }
        let now = Instant::now();
        if status.cursor != last_cursor {
            (last_cursor, moved_at) = (status.cursor, now);
        }
        assert!(now - moved_at < STALL_LIMIT, "the drain stalled: {status:?}");
        if now >= next_sample {
            samples.push(Sample { rss_kb: status_kb("VmRSS") as i64, stored: receiver.stored_through(GATEWAY) });
            next_sample += SAMPLE_EVERY;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    samples.push(Sample { rss_kb: status_kb("VmRSS") as i64, stored: last });
    let peak_kb = status_kb("VmHWM");
    let status = sync.status();
    sync.stop().await;
    assert_eq!((status.lag_events, status.alarm.as_deref()), (0, None), "{status:?}");
    assert!(receiver.refusals().is_empty(), "{:?}", receiver.refusals());
    let (requests, duplicates) = (receiver.requests(), receiver.duplicates(GATEWAY));
    // Outside the measurement: every event arrived once, in order, and its chain verifies.
    let events = receiver.events(GATEWAY);
    assert_eq!(events.len() as u64, last);
    receiver::verify_chain(&events).unwrap();
    Drain { seconds, requests, duplicates, samples, peak_kb, peak_reset, rss_before_kb }
}

fn main() {
    let total = knob("BENCH_EVENTS", 1_000_000).max(1);
    let per_txn = knob("BENCH_TXN", 10_000).max(1);
    let defaults = SyncConfig::new("https://127.0.0.1", GATEWAY, "unused");
    let max_events = knob("BENCH_BATCH_EVENTS", defaults.batch_max_events as u64) as usize;
    let max_bytes = knob("BENCH_BATCH_BYTES", defaults.batch_max_bytes as u64) as usize;
    let dir = tempfile::tempdir().unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    eprintln!("building a journal of {} events...", thousands(total));
    let started = Instant::now();
    let last = build_journal(dir.path(), total, per_txn);
    let build_s = started.elapsed().as_secs_f64();
    let db_bytes = std::fs::metadata(bellhop::store::db_path(dir.path())).map_or(0, |m| m.len());
    let peak_build_kb = status_kb("VmHWM");

    eprintln!("baseline: read_batch + gzip, no network...");
    let base = baseline(dir.path(), last, max_events, max_bytes);
    let heap_per_event = receiver_heap_per_event(dir.path());

    eprintln!("draining over TLS to the in-process receiver...");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let drained = runtime.block_on(drain(dir.path(), last, max_events, max_bytes));

    let base_rate = last as f64 / base.seconds;
    let drain_rate = last as f64 / drained.seconds;
    let rss: Vec<i64> = drained.samples.iter().map(|s| s.rss_kb).collect();
    let (rss_min, rss_max) = (*rss.iter().min().unwrap(), *rss.iter().max().unwrap());
    // RSS growth since the drain began, less what the receiver is estimated to hold at that moment.
    let residual: Vec<i64> = drained
        .samples
        .iter()
        .map(|s| s.rss_kb - drained.rss_before_kb - receiver_estimate_kb(s.stored, heap_per_event))
        .collect();
    let (res_min, res_max) = (*residual.iter().min().unwrap(), *residual.iter().max().unwrap());
    let receiver_kb = receiver_estimate_kb(last, heap_per_event);

    println!();
    println!(
        "Sync drain: {} events, batches of ≤ {} events / ≤ {} bytes, {} cores, receiver in-process (TLS 1.3, loopback)",
        thousands(last),
        max_events,
        thousands(max_bytes as u64),
        cores
    );
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| journal build (store API, {} events/txn) | {:.1} s, {} events/s, db {} |",
        thousands(per_txn),
        build_s,
        thousands((last as f64 / build_s) as u64),
        mib(db_bytes as i64 / 1024)
    );
    println!(
        "| baseline: `Journal::read_batch` loop (read + JSON + gzip) | {:.2} s, **{} events/s** |",
        base.seconds,
        thousands(base_rate as u64)
    );
    println!(
        "| drain: `Uploader` → receiver over TLS | {:.2} s, **{} events/s** |",
        drained.seconds,
        thousands(drain_rate as u64)
    );
    println!("| ratio drain / baseline | **{:.2}** |", drain_rate / base_rate);
    println!(
        "| batches / requests / re-sent events | {} / {} / {} |",
        thousands(base.batches),
        thousands(drained.requests),
        thousands(drained.duplicates)
    );
    println!(
        "| JSON → gzip | {} → {} ({:.1}×), {:.1} MiB/s gzip on the wire |",
        mib(base.json_bytes as i64 / 1024),
        mib(base.gzip_bytes as i64 / 1024),
        base.json_bytes as f64 / base.gzip_bytes.max(1) as f64,
        base.gzip_bytes as f64 / 1048576.0 / drained.seconds
    );
    println!("| peak RSS (VmHWM) while building the journal | {} |", mib(peak_build_kb as i64));
    println!(
        "| peak RSS (VmHWM) of the drain, **receiver included** | {}{} |",
        mib(drained.peak_kb as i64),
        if drained.peak_reset { " (reset at the drain's start)" } else { " (whole run: reset unavailable)" }
    );
    println!(
        "| VmRSS every 100 ms during the drain: min / max ({} samples) | {} / {} (growth {}) |",
        rss.len(),
        mib(rss_min),
        mib(rss_max),
        mib(rss_max - drained.rss_before_kb)
    );
    println!(
        "| receiver's retained events at the end (estimate: {:.0} B of strings + {} B in its Vec per event) | {} |",
        heap_per_event,
        std::mem::size_of::<ReceivedEvent>(),
        mib(receiver_kb)
    );
    println!(
        "| RSS growth less the receiver's estimate, min / max over the samples | {} / {} |",
        mib(res_min),
        mib(res_max)
    );
    println!();
    println!("VmRSS over the drain (events stored → RSS, RSS less receiver estimate):");
    let step = (drained.samples.len() / 10).max(1);
    for (s, r) in drained.samples.iter().zip(&residual).step_by(step) {
        println!("  {:>9} → {:>10}, {:>10}", thousands(s.stored), mib(s.rss_kb), mib(r + drained.rss_before_kb));
    }
}
