//! Poll benchmark: the running [`Bridge`] against N simulated controllers over real Modbus TCP, against a bare
//! tokio-modbus client loop issuing the same reads at the same pace, measured in the same run.
//!
//! Run: `cargo bench -p firmware-bridge --bench poll` (knobs: BENCH_CONTROLLERS, default 1000; BENCH_SECONDS,
//! default 10). Prints polls completed per second, read requests per poll cycle per controller (counted by the
//! servers), and the CPU share of one core used by the polling side, each beside the bare loop's figure.
//!
//! Layout: every controller is its own tokio-modbus TCP server on 127.0.0.1:0 with 16 holding registers (the
//! bridge opens one connection per TCP controller anyway, so one listener each costs only N more descriptors and
//! mirrors a real site). The servers run in a child process (this binary re-executed with `FARM_ENV` set), so the
//! CPU time read from `/proc/self/stat` (utime + stime of the whole process) is the polling side alone: the
//! bridge's tasks, the tokio runtime and the TCP client stack, with no server work mixed in.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firmware_bridge::{parse_map, Bridge, BridgeEvent, GrmsConfig, Maps, Rule, RuleConfig};
use tokio::net::TcpListener;
use tokio_modbus::client::Reader;
use tokio_modbus::server::tcp::{accept_tcp_connection, Server};
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, Slave, SlaveRequest};

/// Set (to anything) in the child process that runs the server farm.
const FARM_ENV: &str = "BELLHOP_POLL_BENCH_FARM";
const REGISTERS: u16 = 16;
const INTERVAL: Duration = Duration::from_secs(1);
/// Half a second past a whole interval, so the measured window starts and ends between poll bursts.
const WARMUP: Duration = Duration::from_millis(2500);
/// Linux reports utime/stime in USER_HZ ticks, which is 100 on every architecture Bellhop ships for.
const TICKS_PER_SECOND: f64 = 100.0;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    if std::env::var_os(FARM_ENV).is_some() {
        farm();
    } else {
        bench();
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Server farm (child process)

/// Requests served by one controller, grouped into poll cycles: a request arriving more than half an
/// interval after the previous one starts a new cycle.
#[derive(Default)]
struct Stat {
    requests: AtomicU64,
    cycles: AtomicU64,
    last: Mutex<Option<Instant>>,
}

#[derive(Clone)]
struct Controller {
    stat: Arc<Stat>,
}

impl Service for Controller {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = std::future::Ready<Result<Option<Response>, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let now = Instant::now();
        self.stat.requests.fetch_add(1, Ordering::Relaxed);
        let mut last = self.stat.last.lock().unwrap();
        if last.is_none_or(|l| now - l > INTERVAL / 2) {
            self.stat.cycles.fetch_add(1, Ordering::Relaxed);
        }
        *last = Some(now);
        std::future::ready(match req.request {
            Request::ReadHoldingRegisters(start, n) if u32::from(start) + u32::from(n) <= u32::from(REGISTERS) => {
                Ok(Some(Response::ReadHoldingRegisters((start..start + n).map(|a| 200 + a).collect())))
            }
            Request::ReadHoldingRegisters(..) => Err(ExceptionCode::IllegalDataAddress),
            _ => Err(ExceptionCode::IllegalFunction),
        })
    }
}

/// Serves `BENCH_CONTROLLERS` controllers, prints their ports on one line, then answers each `stats` line on
/// stdin with `<requests> <cycles>` (totals so far) and exits when stdin closes.
fn farm() {
    let n = knob("BENCH_CONTROLLERS", 1000) as usize;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stats: Vec<Arc<Stat>> = (0..n).map(|_| Arc::default()).collect();
    let ports = rt.block_on(async {
        let mut ports = Vec::with_capacity(n);
        for stat in &stats {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            ports.push(listener.local_addr().unwrap().port());
            let controller = Controller { stat: stat.clone() };
            tokio::spawn(async move {
                let on_connected = move |stream, addr| {
                    let controller = controller.clone();
                    async move { accept_tcp_connection(stream, addr, move |_| Ok(Some(controller.clone()))) }
                };
                let _ = Server::new(listener).serve(&on_connected, |_err| {}).await;
            });
        }
        ports
    });
    let mut out = std::io::stdout().lock();
    let line: Vec<String> = ports.iter().map(ToString::to_string).collect();
    writeln!(out, "{}", line.join(" ")).unwrap();
    out.flush().unwrap();
    for cmd in std::io::stdin().lock().lines() {
        if cmd.unwrap().trim() == "stats" {
            let sum = |f: fn(&Stat) -> &AtomicU64| stats.iter().map(|s| f(s).load(Ordering::Relaxed)).sum::<u64>();
            writeln!(out, "{} {}", sum(|s| &s.requests), sum(|s| &s.cycles)).unwrap();
            out.flush().unwrap();
        }
    }
    rt.shutdown_background();
}

/// The farm child; killed if the bench panics.
struct Farm {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Farm {
    fn start() -> (Farm, Vec<u16>) {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(FARM_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let ports = line.split_whitespace().map(|p| p.parse().unwrap()).collect();
        (Farm { child, stdin, stdout }, ports)
    }

    /// (requests, cycles) served so far, over all controllers.
    fn stats(&mut self) -> (u64, u64) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "stats").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let mut it = line.split_whitespace().map(|v| v.parse::<u64>().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if self.child.try_wait().ok().flatten().is_none() {
            // Closing stdin ends the farm; kill it if that did not happen promptly.
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && self.child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Polling side (this process)

/// CPU time (user + system) of this whole process, from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().collect();
    // After the command name: field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND)
}

struct Figures {
    requests: u64,
    cycles: u64,
    wall: Duration,
    cpu: Duration,
}

impl Figures {
    fn polls_per_second(&self) -> f64 {
        self.cycles as f64 / self.wall.as_secs_f64()
    }
    fn requests_per_cycle(&self) -> f64 {
        self.requests as f64 / self.cycles.max(1) as f64
    }
    fn cpu_share(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64()
    }
    fn cpu_per_poll_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.cycles.max(1) as f64
    }
}

/// Lets the load settle for [`WARMUP`], then measures server-side counts and this process's CPU for `seconds`.
async fn measure(farm: &mut Farm, seconds: u64) -> Figures {
    tokio::time::sleep(WARMUP).await;
    let (r0, c0, cpu0, t0) = {
        let (r, c) = farm.stats();
        (r, c, cpu_time(), Instant::now())
    };
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu1, t1) = (cpu_time(), Instant::now());
    let (r1, c1) = farm.stats();
    Figures { requests: r1 - r0, cycles: c1 - c0, wall: t1 - t0, cpu: cpu1 - cpu0 }
}

fn bridge_config(ports: &[u16]) -> (GrmsConfig, Maps, Vec<Rule>) {
    let mut map = String::from("model = \"BENCH-16\"\n");
    for a in 0..REGISTERS {
        let scale = if a % 2 == 0 { "scale = 0.1\n" } else { "" };
        map.push_str(&format!(
            "[[points]]\nname = \"p{a}\"\nkind = \"holding_register\"\naddress = {a}\ntype = \"u16\"\n{scale}"
        ));
    }
    let maps: Maps = [("bench".to_string(), parse_map(&map).unwrap())].into_iter().collect();
    let mut grms = String::new();
    for (i, port) in ports.iter().enumerate() {
        grms.push_str(&format!(
            "[[controllers]]\nid = \"rc-{i}\"\nlocation = \"{i}\"\nmap = \"bench\"\n\
             tcp = {{ host = \"127.0.0.1\", port = {port}, unit = 1 }}\npoll_interval_ms = {}\ntimeout_ms = 1000\n",
            INTERVAL.as_millis()
        ));
    }
    let config: GrmsConfig = toml::from_str(&grms).unwrap();
    // Rules are evaluated every poll but never fire (register values are 200 and up).
    let rules = [("p0 < 1", Some("p1")), ("p3 > 1000", None), ("p15 == 0", None)]
        .iter()
        .enumerate()
        .map(|(i, (when, while_point))| {
            Rule::compile(&RuleConfig {
                name: format!("r{i}"),
                when: when.to_string(),
                while_point: while_point.map(Into::into),
                on_delay_s: 60,
                off_delay_s: 60,
                item: "bench.item".into(),
                on_clear: Default::default(),
            })
            .unwrap()
        })
        .collect();
    (config, maps, rules)
}

async fn run_bridge(farm: &mut Farm, ports: &[u16], seconds: u64) -> (Figures, Vec<BridgeEvent>) {
    let (config, maps, rules) = bridge_config(ports);
    let (handle, mut rx) = Bridge::start(&config, &maps, &rules).unwrap();
    let events = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(ev) = rx.recv().await {
            events.push(ev);
        }
        events
    });
    let figures = measure(farm, seconds).await;
    handle.stop().await;
    (figures, events.await.unwrap())
}

/// The bare loop: one connection per controller, one 16-register read per interval, nothing else.
async fn run_bare(farm: &mut Farm, ports: &[u16], seconds: u64) -> (Figures, u64) {
    let errors = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = ports
        .iter()
        .map(|&port| {
            let errors = errors.clone();
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut ctx = tokio_modbus::client::tcp::attach_slave(stream, Slave(1));
                let mut tick = tokio::time::interval(INTERVAL);
                loop {
                    tick.tick().await;
                    match tokio::time::timeout(INTERVAL, ctx.read_holding_registers(0, REGISTERS)).await {
                        Ok(Ok(Ok(words))) if words.len() == usize::from(REGISTERS) => {}
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    let figures = measure(farm, seconds).await;
    for t in tasks {
        t.abort();
    }
    (figures, errors.load(Ordering::Relaxed))
}

fn bench() {
    let controllers = knob("BENCH_CONTROLLERS", 1000);
    let seconds = knob("BENCH_SECONDS", 10);
    let (mut farm, ports) = Farm::start();
    assert_eq!(ports.len() as u64, controllers);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ((bridge, events), (bare, bare_errors)) = rt.block_on(async {
        let bridge = run_bridge(&mut farm, &ports, seconds).await;
        let bare = run_bare(&mut farm, &ports, seconds).await;
        (bridge, bare)
    });
    rt.shutdown_timeout(Duration::from_secs(5));
    drop(farm);

    let offline = events.iter().filter(|e| matches!(e, BridgeEvent::ControllerOffline { .. })).count();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!();
    println!(
        "{controllers} controllers (one TCP server each, in a child process), 16 contiguous holding registers, \
         {}s interval, measured {seconds}s after a {:.1}s warm-up, {threads} CPUs",
        INTERVAL.as_secs(),
        WARMUP.as_secs_f64()
    );
    println!(
        "bridge: {} read requests, {} poll cycles, {} events ({offline} offline), CPU {:.2} s; \
         bare: {} requests, {} cycles, {bare_errors} errors, CPU {:.2} s (CPU in 10 ms ticks)",
        bridge.requests,
        bridge.cycles,
        events.len(),
        bridge.cpu.as_secs_f64(),
        bare.requests,
        bare.cycles,
        bare.cpu.as_secs_f64()
    );
    println!();
    println!("| measure | bare tokio-modbus loop | bridge | ratio bridge / bare |");
    println!("|---|---|---|---|");
    println!(
        "| polls completed per second | {:.0} | {:.0} | {:.3} |",
        bare.polls_per_second(),
        bridge.polls_per_second(),
        bridge.polls_per_second() / bare.polls_per_second()
    );
    println!(
        "| read requests per poll cycle per controller | {:.3} | {:.3} | - |",
        bare.requests_per_cycle(),
        bridge.requests_per_cycle()
    );
    println!(
        "| CPU, share of one core (polling process) | {:.1} % | {:.1} % | {:.2} |",
        bare.cpu_share() * 100.0,
        bridge.cpu_share() * 100.0,
        bridge.cpu_share() / bare.cpu_share()
    );
    println!(
        "| CPU per poll | {:.1} µs | {:.1} µs | {:.2} |",
        bare.cpu_per_poll_us(),
        bridge.cpu_per_poll_us(),
        bridge.cpu_per_poll_us() / bare.cpu_per_poll_us()
    );
}
