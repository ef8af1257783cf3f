//! End to end: the HTTP layer of the real binary under slow, hostile and malformed clients (timeouts, the
//! connection limit, accept back-off when out of file descriptors, parser-level rejections), the HTTP rules the
//! API keeps (JSON errors, `WWW-Authenticate`, `Allow`, repeated parameters, charsets, duplicate keys), readiness,
//! and the OpenAPI document against the router and docs/api.md.

mod support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

/// A raw HTTP answer.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// Asserts the API's JSON error shape and returns its code.
    fn error_code(&self) -> String {
        let json = self.json();
        assert!(self.header("content-type").is_some_and(|c| c.starts_with("application/json")), "not JSON: {self:?}");
        assert!(json["error"]["message"].is_string(), "no error message: {self:?}");
        json["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code: {self:?}")).to_owned()
    }
}

/// Parses one answer from `raw` bytes.
fn parse(raw: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no complete answer: {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    Raw { status, headers, body: body.to_owned() }
}

/// Sends `request` as written and reads the answer until the server closes (within 5 s).
fn raw(addr: &str, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    parse(&out)
}

/// A request with `Connection: close`.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text += &format!("{name}: {value}\r\n");
    }
    if !body.is_empty() {
        text += &format!("Content-Length: {}\r\n", body.len());
    }
    let mut bytes = format!("{text}\r\n").into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes)
}

/// Whether the server closed `stream` (EOF or reset) within `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// The test configuration with `http` keys added to `[http]`.
fn config(data_dir: &std::path::Path, broker_port: u16, http: &str) -> String {
    let base = base_config(data_dir, broker_port, "");
    let listen = "[http]\nlisten = \"127.0.0.1:0\"\n";
    assert!(base.contains(listen));
    base.replace(listen, &format!("{listen}{http}\n"))
}

struct Rig {
    dir: tempfile::TempDir,
    broker: LocalBroker,
    daemon: Daemon,
}

fn rig(http: &str) -> Rig {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let daemon = Daemon::start(dir.path(), &config(&dir.path().join("data"), broker.port, http));
    Rig { dir, broker, daemon }
}

fn rig_after_shell(http: &str, prelude: &str) -> Rig {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let text = config(&dir.path().join("data"), broker.port, http);
    let daemon = Daemon::start_after_shell(dir.path(), &text, prelude);
    Rig { dir, broker, daemon }
}

#[test]
fn parser_level_rejections_carry_the_json_error() {
    let rig = rig("");
    let addr = &rig.daemon.http;
    let bad_line = raw(addr, b"THIS IS NOT HTTP\r\n\r\n");
    assert_eq!(bad_line.status, 400, "{bad_line:?}");
    assert_eq!(bad_line.error_code(), "bad_request");

    let two_lengths =
        raw(addr, b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
    assert_eq!(two_lengths.status, 400, "{two_lengths:?}");
    assert_eq!(two_lengths.error_code(), "bad_request");

    let big_header = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n", "a".repeat(70 * 1024));
    let big_header = raw(addr, big_header.as_bytes());
    assert_eq!(big_header.status, 431, "{big_header:?}");
    assert_eq!(big_header.error_code(), "too_large");

    let long_url = request(addr, "GET", &format!("/api/v1/tickets?location={}", "1".repeat(10 * 1024)), &[], b"");
    assert_eq!(long_url.status, 414, "{long_url:?}");
    assert_eq!(long_url.error_code(), "too_large");

    let huge_url = request(addr, "GET", &format!("/{}", "x".repeat(70 * 1024)), &[], b"");
    assert!([414, 431].contains(&huge_url.status), "{huge_url:?}");
    assert_eq!(huge_url.error_code(), "too_large");

    // The daemon still serves.
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
}

#[test]
fn errors_follow_the_http_rules_and_requests_are_read_strictly() {
    let rig = rig("");
    let addr = &rig.daemon.http;
    let staff = rig.daemon.token("staff");
    let bearer = format!("Bearer {staff}");
    let json_ct = ("Content-Type", "application/json");

    let anonymous = request(addr, "GET", "/api/v1/tickets", &[], b"");
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.error_code(), "unauthorized");
    assert!(anonymous.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{anonymous:?}");

    let lower = format!("bearer {staff}");
    assert_eq!(request(addr, "GET", "/api/v1/tickets", &[("Authorization", &lower)], b"").status, 200);
    let upper = format!("BEARER {staff}");
    assert_eq!(request(addr, "GET", "/api/v1/tickets", &[("Authorization", &upper)], b"").status, 200);

    let wrong_method = request(addr, "DELETE", "/api/v1/tickets", &[("Authorization", &bearer)], b"");
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.error_code(), "method_not_allowed");
    let allow: BTreeSet<&str> = wrong_method.header("allow").unwrap_or("").split(',').map(str::trim).collect();
    assert!(allow.contains("GET") && allow.contains("POST"), "{wrong_method:?}");
    assert!(wrong_method.json()["error"]["message"].as_str().unwrap().contains("use GET or POST"), "{wrong_method:?}");
    let post_health = request(addr, "POST", "/healthz", &[], b"");
    assert_eq!(post_health.status, 405);
    assert!(post_health.header("allow").is_some_and(|a| a.contains("GET")), "{post_health:?}");

    let unknown = request(addr, "GET", "/nowhere", &[], b"");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "not_found");

    let repeated = request(addr, "GET", "/api/v1/tickets?status=new&status=closed", &[("Authorization", &bearer)], b"");
    assert_eq!(repeated.status, 400, "{repeated:?}");
    assert_eq!(repeated.error_code(), "bad_request");
    let repeated = request(addr, "GET", "/api/v1/devices?online=true&online=false", &[("Authorization", &bearer)], b"");
    assert_eq!(repeated.status, 400, "{repeated:?}");

    let body = br#"{"item":"hk.towels","location":"101"}"#;
    let latin1 = request(
        addr,
        "POST",
        "/api/v1/tickets",
        &[("Authorization", &bearer), ("Content-Type", "application/json; charset=iso-8859-1")],
        body,
    );
    assert_eq!(latin1.status, 415, "{latin1:?}");
    assert_eq!(latin1.error_code(), "unsupported_media_type");

    // A key given twice is refused, whichever would have won.
    let twice = br#"{"item":"hk.towels","location":"101","item":"eng.ac"}"#;
    let duplicate = request(addr, "POST", "/api/v1/tickets", &[("Authorization", &bearer), json_ct], twice);
    assert_eq!(duplicate.status, 400, "{duplicate:?}");
    assert!(duplicate.json()["error"]["message"].as_str().unwrap().contains("item"), "{duplicate:?}");
    let listing = request(addr, "GET", "/api/v1/tickets", &[("Authorization", &bearer)], b"");
    assert_eq!(listing.json()["tickets"], json!([]), "nothing was raised: {listing:?}");

    let utf8 = request(
        addr,
        "POST",
        "/api/v1/tickets",
        &[("Authorization", &bearer), ("Content-Type", "application/json; charset=UTF-8")],
        body,
    );
    assert_eq!(utf8.status, 201, "{utf8:?}");
    // The last page says so with a null, not by leaving the field out.
    let listing = request(addr, "GET", "/api/v1/tickets", &[("Authorization", &bearer)], b"");
    assert_eq!(listing.json().get("next_before"), Some(&Value::Null), "{listing:?}");
}

#[test]
fn half_open_and_idle_connections_are_closed_while_requests_are_served() {
    let rig = rig("header_timeout_s = 2\nidle_timeout_s = 1");
    let addr = &rig.daemon.http;
    let started = Instant::now();
    // 40 clients that start a request head and never finish it, and 10 that send nothing.
    let mut slow: Vec<TcpStream> = (0..50)
        .map(|i| {
            let mut stream = TcpStream::connect(addr).expect("connect");
            if i < 40 {
                stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
            }
            stream
        })
        .collect();
    // A client that finished one request and keeps the connection open.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    // Meanwhile a normal request is answered.
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);

    for (i, stream) in slow.iter_mut().enumerate() {
        assert!(closed_within(stream, Duration::from_secs(6)), "slow connection {i} still open");
    }
    assert!(closed_within(&mut idle, Duration::from_secs(6)), "idle connection still open");
    assert!(started.elapsed() < Duration::from_secs(8), "closed only after {:?}", started.elapsed());
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
}

#[test]
fn a_body_shorter_than_its_content_length_is_answered_408_and_freed() {
    let rig = rig("body_timeout_s = 1");
    let addr = &rig.daemon.http;
    let staff = rig.daemon.token("staff");
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {staff}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"item\":"
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    assert!(started.elapsed() < Duration::from_secs(5), "held for {:?}", started.elapsed());
    let answer = parse(&out);
    assert_eq!(answer.status, 408, "{answer:?}");
    assert_eq!(answer.error_code(), "timeout");
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
}

/// Reads one answer from a kept-alive connection: the head, then as many body bytes as it declares.
fn read_one(stream: &mut TcpStream) -> Raw {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).expect("read the head"), 1, "closed mid-head");
        bytes.push(byte[0]);
    }
    let head = parse(&bytes);
    let length: usize = head.header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("read the body");
    bytes.extend_from_slice(&body);
    parse(&bytes)
}

#[test]
fn connections_over_the_limit_are_answered_503_until_one_closes() {
    let rig = rig("max_connections = 3\nheader_timeout_s = 30\nidle_timeout_s = 30");
    let addr = &rig.daemon.http;
    // Three kept-alive clients hold every slot; each has been answered, so each surely has one.
    let mut held: Vec<TcpStream> = Vec::new();
    wait_until(Duration::from_secs(10), "three connections holding a slot each", || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        if read_one(&mut stream).status == 200 {
            held.push(stream);
        }
        (held.len() == 3).then_some(())
    });
    let refused = request(addr, "GET", "/healthz", &[], b"");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.error_code(), "unavailable");
    assert_eq!(refused.header("retry-after"), Some("1"));
    drop(held.pop());
    wait_until(Duration::from_secs(10), "a free slot", || {
        (request(addr, "GET", "/healthz", &[], b"").status == 200).then_some(())
    });
    assert!(rig.daemon.log_text().contains("HTTP connection limit reached"));
}

#[test]
fn readiness_follows_the_broker_while_liveness_stays() {
    let mut rig = rig("");
    let addr = rig.daemon.http.clone();
    rig.daemon.wait_mqtt_connected();
    let ready = request(&addr, "GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.json()["status"], "ready");

    let port = rig.broker.port;
    rig.broker.stop();
    let down = wait_until(Duration::from_secs(20), "/readyz to answer 503", || {
        Some(request(&addr, "GET", "/readyz", &[], b"")).filter(|r| r.status == 503)
    });
    assert_eq!(down.error_code(), "not_ready");
    assert_eq!(down.json()["reasons"], json!(["broker_disconnected"]), "{down:?}");
    assert_eq!(request(&addr, "GET", "/healthz", &[], b"").status, 200, "liveness is not readiness");

    rig.broker = LocalBroker::start_on(&rig.dir.path().join("mosquitto"), port).expect("restart mosquitto");
    wait_until(Duration::from_secs(40), "/readyz to answer 200 again", || {
        (request(&addr, "GET", "/readyz", &[], b"").status == 200).then_some(())
    });
}

/// The daemon's process id, for /proc and prlimit.
fn pid(daemon: &Daemon) -> u32 {
    daemon.child.id()
}

#[test]
fn a_failed_commit_makes_the_gateway_not_ready_until_one_succeeds() {
    // SIGXFSZ ignored: a write past the file-size limit then fails with EFBIG, as on a full disk.
    let rig = rig_after_shell("", "trap '' XFSZ");
    let addr = &rig.daemon.http;
    rig.daemon.wait_mqtt_connected();
    let staff = rig.daemon.token("staff");
    let auth = format!("Bearer {staff}");
    let raise = || {
        request(
            addr,
            "POST",
            "/api/v1/tickets",
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            br#"{"item":"hk.towels","location":"101"}"#,
        )
    };
    assert_eq!(raise().status, 201);
    assert_eq!(request(addr, "GET", "/readyz", &[], b"").status, 200);

    let limit = |value: &str| {
        let out = std::process::Command::new("prlimit")
            .args(["--pid", &pid(&rig.daemon).to_string(), &format!("--fsize={value}:")])
            .output()
            .expect("run prlimit");
        assert!(out.status.success(), "prlimit: {}", String::from_utf8_lossy(&out.stderr));
    };
    limit("4096");
    let failed = raise();
    assert_eq!(failed.status, 503, "{failed:?}");
    let not_ready = request(addr, "GET", "/readyz", &[], b"");
    assert_eq!(not_ready.status, 503, "{not_ready:?}");
    assert_eq!(not_ready.json()["reasons"], json!(["commits_failing"]), "{not_ready:?}");
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);

    limit("unlimited");
    wait_until(Duration::from_secs(20), "a commit to succeed again", || (raise().status == 201).then_some(()));
    assert_eq!(request(addr, "GET", "/readyz", &[], b"").status, 200);
}

/// The soft and hard open-files limits of a process.
fn open_files_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap().to_owned();
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

#[test]
fn the_daemon_raises_its_soft_open_files_limit_to_the_hard_limit() {
    let (_, hard) = open_files_limits(std::process::id());
    let rig = rig_after_shell("", "ulimit -S -n 200");
    let (soft, daemon_hard) = open_files_limits(pid(&rig.daemon));
    assert_eq!(daemon_hard, hard);
    assert_eq!(soft, hard, "the soft limit stayed at {soft}");
}

/// CPU time (user and system, in clock ticks) a process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn out_of_file_descriptors_the_accept_loop_backs_off_instead_of_spinning() {
    // A hard limit of 96 descriptors that the daemon cannot raise; connections held past the timeouts below.
    let rig = rig_after_shell("header_timeout_s = 60\nidle_timeout_s = 60", "ulimit -n 96");
    let addr = &rig.daemon.http;
    let pid = pid(&rig.daemon);
    let mut held = Vec::new();
    for _ in 0..160 {
        match TcpStream::connect(addr) {
            Ok(stream) => held.push(stream),
            Err(_) => break,
        }
    }
    wait_until(Duration::from_secs(10), "accept to fail for want of descriptors", || {
        rig.daemon.log_text().contains("Could not accept an HTTP connection").then_some(())
    });
    let (before, started) = (cpu_ticks(pid), Instant::now());
    // Not a wait for a condition: the measurement window over which the CPU is counted.
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(pid) - before;
    let window_ticks = started.elapsed().as_millis() as u64 / 10;
    assert!(used * 5 < window_ticks, "the daemon used {used} ticks of CPU in {window_ticks} while out of descriptors");
    let warnings = rig.daemon.log_text().matches("Could not accept an HTTP connection").count();
    assert!(warnings <= 2, "{warnings} accept warnings in a few seconds");

    drop(held);
    wait_until(Duration::from_secs(20), "the daemon to serve again", || {
        http_get_blocking(addr, "/healthz", None).ok().filter(|(s, _)| *s == 200)
    });
}

/// The endpoints docs/api.md documents, as `METHOD /path` from its `### \`METHOD /path\`` headings.
fn documented_in_api_md() -> BTreeSet<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`'))
        .filter(|h| h.split(' ').count() == 2)
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_matches_the_router_and_docs_api_md() {
    let rig = rig("");
    let addr = rig.daemon.http.clone();
    let (status, doc) = http(&addr, "GET", "/api/v1/openapi.json", None, &[], None).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for schema in ["TicketDetail", "TicketView", "TicketPage", "HistoryEntry", "ErrorBody", "NotReadyView"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "no schema {schema}");
    }
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let methods: BTreeSet<String> = item.as_object().unwrap().keys().map(|m| m.to_uppercase()).collect();
        for method in &methods {
            operations.insert(format!("{method} {path}"));
            let secured = item[method.to_lowercase()]["security"].is_array();
            // Every documented operation is routed: without a token it is refused (401), not missing.
            let concrete = path.replace("{action}", "acknowledge").replace(['{', '}'], "");
            let answer = request(&addr, method, &concrete, &[], b"");
            assert!(![404, 405].contains(&answer.status), "{method} {path} is not routed: {answer:?}");
            if secured {
                assert_eq!(answer.status, 401, "{method} {path} without a token: {answer:?}");
            }
        }
        // And the router serves no other method on the path: its 405 lists exactly the documented ones.
        let concrete = path.replace("{action}", "acknowledge").replace(['{', '}'], "");
        let refused = request(&addr, "OPTIONS", &concrete, &[], b"");
        assert_eq!(refused.status, 405, "OPTIONS {path}: {refused:?}");
        let allow: BTreeSet<String> = refused
            .header("allow")
            .unwrap_or("")
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty() && m != "HEAD")
            .collect();
        assert_eq!(allow, methods, "the methods routed on {path}");
    }
    assert_eq!(operations, documented_in_api_md(), "the OpenAPI document and docs/api.md list different endpoints");
}
