//! Misbehaving controllers against the running bridge: exception replies, garbage on the socket, and a
//! flapping leak sensor. Everything is synchronised on deadlines (event channel, server-side read reports).

mod common;

use std::future::{ready, Ready};
use std::time::Duration;

use common::{grms, serve_service, serve_tcp, wait_for, Device};
use firmware_bridge::{compile_rules, Bridge, BridgeEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

const SOS: usize = 11;
const LEAK: usize = 12;
const WAIT: Duration = Duration::from_secs(10);

/// Waits for `n` items on `rx`, failing after `within`.
async fn recv_n<T>(rx: &mut mpsc::UnboundedReceiver<T>, n: usize, within: Duration) -> Vec<T> {
    let deadline = Instant::now() + within;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let item = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} within {within:?}", out.len()))
            .expect("channel closed");
        out.push(item);
    }
    out
}

/// Events already in the channel.
fn drain(rx: &mut mpsc::Receiver<BridgeEvent>, seen: &mut Vec<BridgeEvent>) {
    while let Ok(ev) = rx.try_recv() {
        seen.push(ev);
    }
}

fn kind(ev: &BridgeEvent) -> &'static str {
    match ev {
        BridgeEvent::AlarmRaised { .. } => "raised",
        BridgeEvent::AlarmCleared { .. } => "cleared",
        BridgeEvent::MakeUpRoom { .. } => "mur",
        BridgeEvent::DoNotDisturb { .. } => "dnd",
        BridgeEvent::ControllerOffline { .. } => "offline",
        BridgeEvent::ControllerOnline { .. } => "online",
    }
}

fn section(port: u16, extra: &str) -> String {
    format!(
        r#"
        [[controllers]]
        id = "rc-201"
        location = "201"
        map = "smt-131"
        tcp = {{ host = "127.0.0.1", port = {port}, unit = 1 }}
        poll_interval_ms = 20
        timeout_ms = 300

        [[rules]]
        name = "sos"
        when = "sos == true"
        item = "grms.sos"

        [[rules]]
        name = "fault"
        when = "hvac_fault != 0"
        item = "grms.hvac"
        {extra}
        "#
    )
}

/// Answers every request with an IllegalDataAddress exception and reports each one.
#[derive(Clone)]
struct Refuser(mpsc::UnboundedSender<()>);

impl Service for Refuser {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Option<Response>, ExceptionCode>>;

    fn call(&self, _req: Self::Request) -> Self::Future {
        let _ = self.0.send(());
        ready(Err(ExceptionCode::IllegalDataAddress))
    }
}

/// Exception replies prove the device is alive: the poller treats them as "answered" (not a failed poll),
/// drops the values and raises nothing. So: no events at all, in particular no offline report and no alarms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exception_replies_raise_nothing_and_are_not_an_outage() {
    let (reads_tx, mut reads) = mpsc::unbounded_channel();
    let server = serve_service(TcpListener::bind("127.0.0.1:0").await.unwrap(), Refuser(reads_tx));
    let (config, maps) = grms(&section(server.addr.port(), ""));
    let rules = compile_rules(&config).unwrap();
    let (handle, mut rx) = Bridge::start(&config, &maps, &rules).unwrap();

    // One read per poll (the SMT-131 map plans to a single request). The bus task sends a poll's events
    // before starting the next poll, so once read 13 arrives every event of polls 1-12 is in the channel:
    // that is four times `offline_after`, and the task is still polling (it did not die).
    recv_n(&mut reads, 13, WAIT).await;
    let mut seen = Vec::new();
    drain(&mut rx, &mut seen);
    assert!(seen.is_empty(), "exception replies produced events: {seen:#?}");

    handle.stop().await;
    server.stop().await;
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// A TCP listener that answers every read on every connection with 1-64 pseudo-random bytes,
/// reporting each answer. Aborting the task closes the listener and every connection.
fn garbage_server(listener: TcpListener, hits: mpsc::UnboundedSender<()>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut conns = JoinSet::new();
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        while let Ok((mut stream, _)) = listener.accept().await {
            seed = seed.wrapping_add(0x1234_5678_9ABC_DEF1);
            let (hits, mut rng) = (hits.clone(), seed);
            conns.spawn(async move {
                let mut buf = [0u8; 512];
                while let Ok(1..) = stream.read(&mut buf).await {
                    let n = 1 + xorshift(&mut rng) % 64;
                    let reply: Vec<u8> = (0..n).map(|_| xorshift(&mut rng) as u8).collect();
                    let _ = hits.send(());
                    if stream.write_all(&reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bytes_one_offline_then_recovery() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (hits_tx, mut hits) = mpsc::unbounded_channel();
    let garbage = garbage_server(listener, hits_tx);
    let (config, maps) = grms(&section(addr.port(), ""));
    let rules = compile_rules(&config).unwrap();
    let (handle, mut rx) = Bridge::start(&config, &maps, &rules).unwrap();
    let mut seen = Vec::new();

    wait_for(&mut rx, &mut seen, WAIT, |e| matches!(e, BridgeEvent::ControllerOffline { .. })).await;
    // Keep feeding garbage for two more (backed-off) polls after the offline report: still one report.
    while hits.try_recv().is_ok() {}
    recv_n(&mut hits, 2, WAIT).await;
    garbage.abort();
    let _ = garbage.await;

    // A proper server takes the port: the bridge (still alive, so it did not panic) reports it back.
    let device = Device::with_units(&[1]);
    let server = serve_tcp(TcpListener::bind(addr).await.unwrap(), device.clone());
    wait_for(&mut rx, &mut seen, Duration::from_secs(20), |e| matches!(e, BridgeEvent::ControllerOnline { .. })).await;
    assert_eq!(seen.iter().map(kind).collect::<Vec<_>>(), ["offline", "online"], "{seen:#?}");
    let BridgeEvent::ControllerOffline { error, .. } = &seen[0] else { unreachable!() };
    assert!(error.starts_with("link:") || error.starts_with("no answer") || error.starts_with("unexpected"), "{error}");

    // And it polls normally afterwards.
    device.set(1, SOS, 1);
    wait_for(&mut rx, &mut seen, WAIT, |e| matches!(e, BridgeEvent::AlarmRaised { .. })).await;
    assert_eq!(seen.iter().map(kind).collect::<Vec<_>>(), ["offline", "online", "raised"], "{seen:#?}");

    handle.stop().await;
    server.stop().await;
}

/// The SMT-131 device, reporting the leak register of every holding-register read it answers.
#[derive(Clone)]
struct Watched {
    device: Device,
    leak: mpsc::UnboundedSender<u16>,
}

impl Service for Watched {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Option<Response>, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let start = match req.request {
            Request::ReadHoldingRegisters(start, _) => Some(usize::from(start)),
            _ => None,
        };
        let result = self.device.call(req).into_inner();
        if let (Some(start), Ok(Some(Response::ReadHoldingRegisters(words)))) = (start, &result) {
            if let Some(v) = LEAK.checked_sub(start).and_then(|i| words.get(i)) {
                let _ = self.leak.send(*v);
            }
        }
        ready(result)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_leak_is_one_episode() {
    const OFF_DELAY: Duration = Duration::from_secs(2);
    let device = Device::with_units(&[1]);
    let (leak_tx, mut leak_reads) = mpsc::unbounded_channel();
    let server = serve_service(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        Watched { device: device.clone(), leak: leak_tx },
    );
    let rule = format!(
        r#"
        [[rules]]
        name = "leak"
        when = "leak == true"
        off_delay_s = {}
        item = "grms.leak""#,
        OFF_DELAY.as_secs()
    );
    let (config, maps) = grms(&section(server.addr.port(), &rule));
    let rules = compile_rules(&config).unwrap();
    let (handle, mut rx) = Bridge::start(&config, &maps, &rules).unwrap();
    let mut seen = Vec::new();

    // Drive the input: on 100 ms, off 100 ms, ten times (far faster than the 2 s off-delay), ending off.
    // Returns a time taken just before the final "off": every reading after the last "on" is later.
    let flapper = {
        let device = device.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut last = Instant::now();
            for i in 0..20 {
                tick.tick().await;
                last = Instant::now();
                device.set(1, LEAK, u16::from(i % 2 == 0));
            }
            last
        })
    };
    wait_for(&mut rx, &mut seen, WAIT, |e| matches!(e, BridgeEvent::AlarmRaised { .. })).await;
    let flap_end = tokio::time::timeout(WAIT, flapper).await.expect("flapper finished").unwrap();

    // The bridge really saw the sensor go on and off repeatedly.
    let mut observed = Vec::new();
    while let Ok(v) = leak_reads.try_recv() {
        observed.push(v);
    }
    let rises = observed.windows(2).filter(|w| w == &[0, 1]).count();
    assert!(rises >= 3, "the bridge saw only {rises} off-to-on edges: {observed:?}");

    let ev = wait_for(&mut rx, &mut seen, WAIT, |e| matches!(e, BridgeEvent::AlarmCleared { .. })).await;
    assert!(Instant::now() >= flap_end + OFF_DELAY, "cleared before the leak stayed off for {OFF_DELAY:?}");
    assert!(matches!(ev, BridgeEvent::AlarmCleared { ref rule, .. } if rule == "leak"));
    // Three more reads answered: every event of the polls before them is in the channel.
    while leak_reads.try_recv().is_ok() {}
    recv_n(&mut leak_reads, 3, WAIT).await;
    drain(&mut rx, &mut seen);
    assert_eq!(seen.iter().map(kind).collect::<Vec<_>>(), ["raised", "cleared"], "{seen:#?}");
    let BridgeEvent::AlarmRaised { rule, detail, .. } = &seen[0] else { unreachable!() };
    assert_eq!((rule.as_str(), detail.as_str()), ("leak", "leak = true (leak == true)"));

    handle.stop().await;
    server.stop().await;
}
