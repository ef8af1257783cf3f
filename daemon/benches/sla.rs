//! SLA scheduler benchmark: 100,000 open tickets whose first escalation level falls due over about a minute and a
//! half of real time, handled by the real writer and the real scheduler on the system clock; then the CPU the
//! process uses while 100,000 clocks stay open with nothing due, against an idle tokio runtime measured in the same
//! run before anything started.
//!
//! Run: `cargo bench -p bellhop --bench sla` (knobs: BENCH_TICKETS, default 100,000; BENCH_POLICIES, default 20
//! policies whose level 1 falls due 30 s, 33 s, 36 s, ... after creation; BENCH_IDLE_SECONDS, default 20;
//! BENCH_IN_FLIGHT, commands outstanding while raising, default 512). Results are recorded in docs/benchmarks.md.
//!
//! What runs: the writer thread (`bellhop::core::start`) and the SLA scheduler (`bellhop::scheduler::start`) on
//! `SystemClock`, wired as `app::start` wires them; tickets are raised with `Command::CreateTicket` through
//! `CoreHandle::call`, so each goes through routing, auto-assignment and `start_clock` as an API ticket would. The
//! MQTT, HTTP and device adapters are not started: what is measured is the SLA path alone.
//!
//! Lateness is measured twice for every `ticket_escalated` event: from its journal `at` (the time the writer read
//! when it began the batch), and from the wall time at which this process received the committed batch (after the
//! fsync), which is what a member of staff could first see. Both are against the event's `due_at`.
//!
//! Idle CPU is the sum over the process's threads of `/proc/self/task/*/schedstat` run time (nanoseconds), with
//! `/proc/self/stat` utime + stime (clock ticks, 10 ms) as a cross-check, and voluntary context switches (thread
//! wake-ups) summed from `/proc/self/task/*/status`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bellhop::clock::{Clock, SystemClock};
use bellhop::core::{Command, CoreHandle, NewTicketRequest};
use bellhop::event::EventBody;
use bellhop::store::Store;
use bellhop::vocab::Source;
use bellhop::vocab::{Actor, Duty};
use tokio::sync::{broadcast, watch, Semaphore};

/// Level 1 of policy `i` falls due `FIRST_S + i * STEP_S` seconds after creation.
const FIRST_S: u64 = 30;
const STEP_S: u64 = 3;
/// The target: every escalation within this of its deadline.
const TARGET_MS: i64 = 1000;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
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

fn millis(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().expect("a journal timestamp").as_millisecond()
}

fn wall_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A configuration with `policies` SLA policies, one catalog item each, every one with a first level `FIRST_S +
/// i * STEP_S` after creation and a second level two hours after creation (so 100,000 clocks stay open with
/// nothing due for the idle measurement). Response and resolution targets are hours away, so no flag falls due
/// either.
fn config_text(data_dir: &Path, policies: u64) -> String {
    let mut text = format!(
        r#"
[site]
code = "SLA"
name = "Bench Hotel"
time_zone = "UTC"

[mqtt]
url = "mqtt://127.0.0.1:1"
client_id = "bellhop-bench-sla"

[storage]
data_dir = "{data}"

[http]
listen = "127.0.0.1:0"

[devices.mdns]
enabled = false

[[departments]]
code = "housekeeping"
name = "Housekeeping"

[[staff]]
id = "sup"
name = "Supervisor"
role = "supervisor"
departments = ["housekeeping"]
"#,
        data = data_dir.display()
    );
    for i in 0..policies {
        let after = FIRST_S + i * STEP_S;
        text.push_str(&format!(
            r#"
[[escalations]]
name = "e{i}"
levels = [{{ after = "{after}s", to = "supervisor" }}, {{ after = "2h", to = "manager" }}]

[[sla]]
name = "p{i}"
response = "4h"
resolution = "8h"
escalation = "e{i}"

[[catalog]]
code = "hk.item{i}"
category = "housekeeping"
department = "housekeeping"
priority = "low"
sla = "p{i}"
labels = {{ en = "Item {i}" }}
"#
        ));
    }
    text
}

/// The process's CPU counters at one moment.
#[derive(Clone, Copy, Debug)]
struct Cpu {
    /// Sum of every live thread's run time (`schedstat`), ns.
    run_ns: u64,
    /// utime + stime of the whole process, including threads that exited, in clock ticks.
    ticks: u64,
    /// Voluntary context switches of every live thread: how often a thread went to sleep (≈ wake-ups).
    wakeups: u64,
}

fn cpu() -> Cpu {
    let (mut run_ns, mut wakeups) = (0, 0);
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let path = task.path();
            let sched = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            run_ns += sched.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
            wakeups += status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Cpu { run_ns, ticks: tick(14) + tick(15), wakeups }
}

/// CPU used over `seconds` of wall time while the runtime does whatever it does on its own.
struct Idle {
    /// Share of one core, from schedstat.
    pct: f64,
    /// Share of one core, from utime + stime (10 ms resolution).
    pct_ticks: f64,
    /// Thread wake-ups per second.
    wakeups_per_s: f64,
}

async fn measure_idle(seconds: u64) -> Idle {
    let (before, started) = (cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (after, wall) = (cpu(), started.elapsed().as_secs_f64());
    // This task's own wake-up and the reads of /proc are counted too: a few hundred microseconds at most.
    Idle {
        pct: (after.run_ns.saturating_sub(before.run_ns)) as f64 / 1e9 / wall * 100.0,
        pct_ticks: (after.ticks.saturating_sub(before.ticks)) as f64 / 100.0 / wall * 100.0,
        wakeups_per_s: (after.wakeups.saturating_sub(before.wakeups)) as f64 / wall,
    }
}

/// One escalation as this process saw it.
#[derive(Clone, Copy)]
struct Seen {
    due_ms: i64,
    at_ms: i64,
    /// Wall time when the committed batch reached this process.
    seen_ms: i64,
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Lateness {
    p50: i64,
    p99: i64,
    max: i64,
    over: usize,
}

fn lateness(mut values: Vec<i64>) -> Lateness {
    values.sort_unstable();
    Lateness {
        p50: percentile(&values, 0.50),
        p99: percentile(&values, 0.99),
        max: values.last().copied().unwrap_or(0),
        over: values.iter().filter(|&&v| v > TARGET_MS).count(),
    }
}

/// Collects every level-1 `ticket_escalated` event from the committed batches, with the time it was received.
fn collect(mut committed: broadcast::Receiver<Arc<bellhop::core::Committed>>, seen: Arc<Mutex<Vec<Seen>>>) {
    tokio::spawn(async move {
        loop {
            match committed.recv().await {
                Ok(batch) => {
                    let now = wall_ms();
                    let mut found = Vec::new();
                    for event in &batch.events {
                        if let EventBody::TicketEscalated { level: 1, due_at, .. } = &event.body {
                            found.push(Seen { due_ms: millis(due_at), at_ms: millis(&event.at), seen_ms: now });
                        }
                    }
                    seen.lock().unwrap().extend(found);
                }
                Err(broadcast::error::RecvError::Lagged(n)) => eprintln!("collector lagged by {n} batches"),
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Raises `total` tickets, round-robin over the policies' items, keeping `in_flight` commands outstanding.
async fn raise(core: &CoreHandle, total: u64, policies: u64, in_flight: usize) {
    let permits = Arc::new(Semaphore::new(in_flight));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let core = core.clone();
        tasks.spawn(async move {
            let ticket = NewTicketRequest {
                item: format!("hk.item{}", i % policies),
                location: format!("{}", 1000 + i % 2000),
                qty: 1,
                note: None,
                source: Source::Api,
            };
            let actor = Actor::Token("bench".into());
            let answer = core.call(|reply| Command::CreateTicket { actor, ticket, reply }).await;
            drop(permit);
            answer.expect("the core answers").expect("the ticket is raised");
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

fn main() {
    let total = knob("BENCH_TICKETS", 100_000);
    let policies = knob("BENCH_POLICIES", 20).max(1);
    let idle_seconds = knob("BENCH_IDLE_SECONDS", 20);
    let in_flight = knob("BENCH_IN_FLIGHT", 512) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        // Baseline: the same runtime with nothing to do, measured before anything starts.
        println!("baseline: idle tokio runtime for {idle_seconds} s ...");
        let baseline = measure_idle(idle_seconds).await;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bellhop.toml");
        let text = config_text(dir.path(), policies);
        let config = Arc::new(bellhop::config::parse(&path, &text).expect("the bench configuration is valid"));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store = Store::open(dir.path()).unwrap();
        let (_config_tx, config_rx) = watch::channel(config);
        let (core, writer) = bellhop::core::start(store, config_rx, clock.clone());
        let (shutdown_tx, shutdown) = watch::channel(false);
        let scheduler = bellhop::scheduler::start(core.clone(), clock, shutdown);
        let duty = core
            .call(|reply| Command::SetDuty { actor: Actor::Token("bench".into()), staff: "sup".into(), duty: Duty::On, reply })
            .await;
        duty.unwrap().expect("the supervisor goes on duty");

        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        collect(core.subscribe(), seen.clone());

        println!("raising {} tickets over {policies} policies ...", thousands(total));
        let started = Instant::now();
        raise(&core, total, policies, in_flight).await;
        let raise_s = started.elapsed().as_secs_f64();
        let commits = core.stats().commits.load(std::sync::atomic::Ordering::Relaxed);
        println!(
            "raised {} tickets in {raise_s:.1} s ({:.0}/s, {} commits)",
            thousands(total),
            total as f64 / raise_s,
            thousands(commits)
        );

        // Everything is due at most the longest level plus the raising time from the start; allow a minute more.
        let last_level_s = FIRST_S + (policies - 1) * STEP_S;
        let limit = started + Duration::from_secs(last_level_s) + Duration::from_secs_f64(raise_s) + Duration::from_secs(60);
        let mut reported = 0;
        loop {
            let count = seen.lock().unwrap().len() as u64;
            if count >= total {
                break;
            }
            if Instant::now() > limit {
                println!("gave up: {} of {} escalations after {:.0} s", count, total, started.elapsed().as_secs_f64());
                break;
            }
            if count / 10_000 > reported {
                reported = count / 10_000;
                println!("  {} escalations at {:.0} s", thousands(count), started.elapsed().as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let seen = std::mem::take(&mut *seen.lock().unwrap());

        // Lateness from the journal's `at` and from receipt after commit.
        let from_at = lateness(seen.iter().map(|s| s.at_ms - s.due_ms).collect());
        let from_commit = lateness(seen.iter().map(|s| s.seen_ms - s.due_ms).collect());
        let first_due = seen.iter().map(|s| s.due_ms).min().unwrap_or(0);
        let last_due = seen.iter().map(|s| s.due_ms).max().unwrap_or(0);

        // The ticks, as the journal shows them: events sharing one `at` came from one batch.
        let mut ticks: BTreeMap<i64, (usize, i64)> = BTreeMap::new();
        for s in &seen {
            let entry = ticks.entry(s.at_ms).or_insert((0, 0));
            entry.0 += 1;
            entry.1 = entry.1.max(s.seen_ms - s.at_ms);
        }
        let sizes: Vec<i64> = ticks.values().map(|t| t.0 as i64).collect();
        let spans: Vec<i64> = ticks.values().map(|t| t.1).collect();
        let mut sorted_sizes = sizes.clone();
        sorted_sizes.sort_unstable();
        let mut sorted_spans = spans.clone();
        sorted_spans.sort_unstable();
        // Per-clock cost: batch start → received, over the clocks in the biggest batches.
        let big: Vec<&(usize, i64)> = ticks.values().filter(|t| t.0 >= 500).collect();
        let per_clock_us = if big.is_empty() {
            0.0
        } else {
            big.iter().map(|t| t.1 as f64 * 1000.0).sum::<f64>() / big.iter().map(|t| t.0 as f64).sum::<f64>()
        };

        // Idle: nothing due for two hours, every clock still open.
        let next_due = *core.sla_due().borrow();
        let open_ms = next_due.map(|d| d - wall_ms()).unwrap_or(0);
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!("idle: {} open clocks, next due in {:.0} min; measuring {idle_seconds} s ...", thousands(total), open_ms as f64 / 60_000.0);
        let idle = measure_idle(idle_seconds).await;

        println!();
        println!("## SLA scheduler: {} tickets, {policies} policies", thousands(total));
        println!();
        println!("raising: {raise_s:.1} s; deadlines spread over {:.1} s", (last_due - first_due) as f64 / 1000.0);
        println!();
        println!("| lateness (ms) | p50 | p99 | max | over 1 s |");
        println!("|---|---|---|---|---|");
        println!(
            "| journal `at` − `due_at` | {} | {} | {} | {} |",
            from_at.p50, from_at.p99, from_at.max, from_at.over
        );
        println!(
            "| committed, received − `due_at` | {} | {} | {} | {} |",
            from_commit.p50, from_commit.p99, from_commit.max, from_commit.over
        );
        let buckets = [(0, 100), (100, 250), (250, 500), (500, 1000), (1000, i64::MAX)];
        let histogram: Vec<String> = buckets
            .iter()
            .map(|&(lo, hi)| {
                let n = seen.iter().filter(|s| (lo..hi).contains(&(s.seen_ms - s.due_ms))).count();
                let label = if hi == i64::MAX { format!("≥ {lo} ms") } else { format!("{lo}–{hi} ms") };
                format!("{label}: {}", thousands(n as u64))
            })
            .collect();
        // Stalls: with about 1,500 deadlines a second, a gap between escalating batches means the scheduler slept.
        let mut received: Vec<i64> = seen.iter().map(|s| s.seen_ms).collect();
        received.sort_unstable();
        received.dedup();
        let gaps: Vec<i64> = received.windows(2).map(|w| w[1] - w[0]).filter(|&g| g >= 500).collect();
        println!();
        println!(
            "gaps ≥ 500 ms between escalating batches while deadlines were due: {} (longest {} ms)",
            gaps.len(),
            gaps.iter().max().copied().unwrap_or(0)
        );
        println!();
        println!("lateness by commit, histogram: {}", histogram.join(", "));
        println!();
        println!(
            "ticks that escalated: {}; clocks per tick p50 {} / max {}; batch start → received p50 {} ms / max {} ms; ≈ {per_clock_us:.0} µs per clock in batches of ≥ 500",
            ticks.len(),
            percentile(&sorted_sizes, 0.5),
            sorted_sizes.last().copied().unwrap_or(0),
            percentile(&sorted_spans, 0.5),
            sorted_spans.last().copied().unwrap_or(0),
        );
        println!();
        println!("| idle, {idle_seconds} s | CPU, share of one core (schedstat) | (utime+stime) | thread wake-ups/s |");
        println!("|---|---|---|---|");
        println!(
            "| baseline: idle tokio runtime | {:.3} % | {:.2} % | {:.1} |",
            baseline.pct, baseline.pct_ticks, baseline.wakeups_per_s
        );
        println!(
            "| writer + scheduler, {} open clocks | {:.3} % | {:.2} % | {:.1} |",
            thousands(total),
            idle.pct,
            idle.pct_ticks,
            idle.wakeups_per_s
        );
        println!("| difference | {:+.3} % | {:+.2} % | {:+.1} |", idle.pct - baseline.pct, idle.pct_ticks - baseline.pct_ticks, idle.wakeups_per_s - baseline.wakeups_per_s);
        println!();
        println!(
            "sla: {} escalations; lateness p50 {} ms, p99 {} ms, max {} ms ({} over 1 s) by the journal's `at`; p50 {} ms, p99 {} ms, max {} ms ({} over 1 s) by commit",
            thousands(seen.len() as u64),
            from_at.p50,
            from_at.p99,
            from_at.max,
            from_at.over,
            from_commit.p50,
            from_commit.p99,
            from_commit.max,
            from_commit.over
        );
        println!(
            "idle: {:.3} % of a core with {} open clocks (baseline idle runtime {:.3} %)",
            idle.pct,
            thousands(total),
            baseline.pct
        );

        shutdown_tx.send_replace(true);
        let _ = scheduler.await;
        drop(core);
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    });
}
