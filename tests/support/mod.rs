//! Shared harness for the end-to-end tests: a private Mosquitto, the real `bellhop` binary on its own data
//! directory and free ports, a small HTTP client, and deadline-bound waiting.

// Each test binary uses a different part of this module.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use bellhop::broker::{free_port, LocalBroker};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

/// The binary under test.
pub const BELLHOP: &str = env!("CARGO_BIN_EXE_bellhop");

/// Polls `check` until it returns `Some`, or panics with `what` after `limit`.
pub fn wait_until<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `check` until it is true or `limit` passes; returns whether it became true.
pub fn poll_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// Async version of [`wait_until`].
pub async fn wait_until_async<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The configuration every end-to-end test starts from: a small hotel with rooms 101-110 and 201-210 and a lobby.
pub fn base_config(data_dir: &Path, broker_port: u16, extra: &str) -> String {
    let mut text = format!(
        r#"
[site]
code = "E2E"
name = "Test Hotel"
time_zone = "Europe/Lisbon"

[mqtt]
url = "mqtt://127.0.0.1:{broker_port}"
client_id = "bellhop-e2e"

[storage]
data_dir = "{data}"

[http]
listen = "127.0.0.1:0"

[limits]
max_open_per_location = 20

# Tests that need mDNS turn it on with a private port (see e2e_devices).
[devices.mdns]
enabled = false

[[departments]]
code = "housekeeping"
name = "Housekeeping"

[[departments]]
code = "engineering"
name = "Engineering"

[[catalog]]
code = "hk.towels"
category = "housekeeping"
department = "housekeeping"
priority = "low"
eta_min = 15
max_qty = 10
labels = {{ en = "Extra towels" }}

[[catalog]]
code = "hk.pillows"
category = "housekeeping"
department = "housekeeping"
priority = "low"
eta_min = 15
max_qty = 10
labels = {{ en = "Extra pillows" }}

[[catalog]]
code = "eng.ac"
category = "engineering"
department = "engineering"
priority = "high"
eta_min = 20
labels = {{ en = "Air conditioning" }}
"#,
        data = data_dir.display()
    );
    for floor in 1..=2 {
        for room in 1..=10 {
            text += &format!("\n[[locations]]\nid = \"{floor}{room:02}\"\nkind = \"room\"\nfloor = {floor}\n");
        }
    }
    text += "\n[[locations]]\nid = \"lobby\"\nkind = \"area\"\n";
    text += extra;
    text
}

/// A test's own directory, removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("bellhop-e2e-").tempdir().expect("temp dir")
}

/// The daemon under test, as a child process.
pub struct Daemon {
    /// Its process.
    pub child: Child,
    /// Where its API listens.
    pub http: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its configuration file.
    pub config: PathBuf,
    log: PathBuf,
}

impl Daemon {
    /// Starts `bellhop run` with `config_text` (written to `dir/bellhop.toml`) and waits until `/healthz` answers.
    pub fn start(dir: &Path, config_text: &str) -> Daemon {
        let config = dir.join("bellhop.toml");
        std::fs::write(&config, config_text).expect("write config");
        Daemon::start_with(dir, &config)
    }

    /// Starts the daemon on an existing configuration file, on a fresh free HTTP port.
    pub fn start_with(dir: &Path, config: &Path) -> Daemon {
        Daemon::start_with_env(dir, config, &[])
    }

    /// Like [`Daemon::start_with`], with extra environment variables (e.g. systemd's `NOTIFY_SOCKET`).
    pub fn start_with_env(dir: &Path, config: &Path, env: &[(&str, &str)]) -> Daemon {
        Daemon::launch(dir, config, env, None)
    }

    /// Like [`Daemon::start`], with the daemon run by `bash` after `prelude` (for example `ulimit -n 64`); it
    /// keeps the shell's process id.
    pub fn start_after_shell(dir: &Path, config_text: &str, prelude: &str) -> Daemon {
        let config = dir.join("bellhop.toml");
        std::fs::write(&config, config_text).expect("write config");
        Daemon::launch(dir, &config, &[], Some(prelude))
    }

    fn launch(dir: &Path, config: &Path, env: &[(&str, &str)], prelude: Option<&str>) -> Daemon {
        let data_dir = dir.join("data");
        let port = free_port().expect("free port");
        let http = format!("127.0.0.1:{port}");
        let log = dir.join(format!("bellhop-{port}.log"));
        let mut command = match prelude {
            Some(prelude) => {
                let mut bash = Command::new("bash");
                bash.args(["-c", &format!("{prelude}\nexec \"$0\" \"$@\""), BELLHOP]);
                bash
            }
            None => Command::new(BELLHOP),
        };
        let child = command
            .args(["run", "--config"])
            .arg(config)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--http", &http])
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start bellhop");
        let mut daemon = Daemon { child, http, data_dir, config: config.to_path_buf(), log };
        let http = daemon.http.clone();
        wait_until(Duration::from_secs(20), "the daemon's /healthz", || {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("bellhop exited at start ({status}):\n{}", daemon.log_text());
            }
            http_get_blocking(&http, "/healthz", None).ok().filter(|(s, _)| *s == 200)
        });
        daemon
    }

    /// Waits until the daemon reports a broker connection.
    pub fn wait_mqtt_connected(&self) {
        wait_until(Duration::from_secs(20), "the daemon to connect to the broker", || {
            let (_, body) = http_get_blocking(&self.http, "/healthz", None).ok()?;
            (body["mqtt"]["connected"] == Value::Bool(true)).then_some(())
        });
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        wait_until(Duration::from_secs(30), "the daemon to exit after SIGTERM", || self.child.try_wait().ok().flatten())
    }

    /// What the daemon logged.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Issues an API token with `role` through the CLI.
    pub fn token(&self, role: &str) -> String {
        let out = bellhop(&["token", "create", "--role", role, "--data-dir", self.data_dir.to_str().unwrap()]);
        assert!(out.status.success(), "token create failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the `bellhop` binary with `args` and returns its output.
pub fn bellhop(args: &[&str]) -> Output {
    Command::new(BELLHOP).args(args).output().expect("run bellhop")
}

/// Sends one HTTP/1.1 request and returns the status and the JSON body (`null` when the body is not JSON).
pub async fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> std::io::Result<(u16, Value)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder().method(method).uri(path).header("host", addr);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(std::io::Error::other)?;
    let resp = sender.send_request(req).await.map_err(std::io::Error::other)?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

/// GET over a plain blocking socket (usable inside or outside a runtime), with an optional token.
pub fn http_get_blocking(addr: &str, path: &str, token: Option<&str>) -> std::io::Result<(u16, Value)> {
    let (status, body) = http_get_text_blocking(addr, path, token)?;
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

/// GET over a plain socket, returning the status and the body as text (for `/metrics`).
pub fn http_get_text_blocking(addr: &str, path: &str, token: Option<&str>) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok((status, body.to_owned()))
}

/// The journal's last sequence number as the running daemon reports it.
pub fn last_seq(http: &str) -> Option<u64> {
    let (_, body) = http_get_blocking(http, "/healthz", None).ok()?;
    body["journal"]["last_seq"].as_u64()
}

/// POST JSON with a token.
pub async fn post_json(addr: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    http(addr, "POST", path, Some(token), &[("content-type", "application/json")], Some(body.to_string().into_bytes()))
        .await
        .expect("HTTP request")
}

/// GET with a token.
pub async fn get(addr: &str, path: &str, token: &str) -> (u16, Value) {
    http(addr, "GET", path, Some(token), &[], None).await.expect("HTTP request")
}

/// Opens the daemon's SQLite file read-only, for checks that must not trust the API.
pub fn open_db(data_dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(data_dir.join("bellhop.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open bellhop.db")
}

/// Runs `bellhop verify` and asserts the chain is intact.
pub fn assert_chain_verifies(data_dir: &Path) {
    let out = bellhop(&["verify", "--data-dir", data_dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "journal chain does not verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A hand-driven device: publishes raw payloads and reads its acks, for tests that need exact bytes.
pub struct Device {
    client: rumqttc::AsyncClient,
    acks: tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    /// Messages received while waiting for another topic, oldest first.
    held: std::collections::VecDeque<(String, Vec<u8>)>,
    /// Its location.
    pub location: String,
    /// Its device id.
    pub device: String,
}

impl Device {
    /// Connects as `device` in `location`, subscribes to its ack topic (and `extra` topics), and waits for the
    /// subscription to be granted.
    pub async fn connect(port: u16, location: &str, device: &str, extra: &[String]) -> Device {
        Device::connect_as(port, location, device, extra, None).await
    }

    /// Like [`Device::connect`], logging in with `credentials` (user name, password) when given.
    pub async fn connect_as(
        port: u16,
        location: &str,
        device: &str,
        extra: &[String],
        credentials: Option<(&str, &str)>,
    ) -> Device {
        use rumqttc::{Event, MqttOptions, Packet, QoS};
        let mut options = MqttOptions::new(format!("{device}@{location}"), "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(30));
        if let Some((user, password)) = credentials {
            options.set_credentials(user, password);
        }
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 100);
        bellhop::mqtt::without_nagle(&mut eventloop);
        let (tx, acks) = tokio::sync::mpsc::unbounded_channel();
        let (subscribed_tx, mut subscribed) = tokio::sync::watch::channel(0usize);
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                            break;
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => subscribed_tx.send_modify(|n| *n += 1),
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        let topics = tv_protocol::Topics::new("bellhop").unwrap();
        let mut filters = vec![topics.ack(location, device)];
        filters.extend(extra.iter().cloned());
        for filter in &filters {
            client.subscribe(filter, QoS::AtLeastOnce).await.expect("subscribe");
        }
        let want = filters.len();
        tokio::time::timeout(Duration::from_secs(10), subscribed.wait_for(|n| *n >= want))
            .await
            .expect("subscriptions granted in time")
            .expect("event loop alive");
        Device { client, acks, held: Default::default(), location: location.into(), device: device.into() }
    }

    /// Publishes `payload` on this device's request topic.
    pub async fn publish_request(&self, payload: &[u8]) {
        let topic = tv_protocol::Topics::new("bellhop").unwrap().request(&self.location, &self.device);
        self.publish(&topic, payload).await;
    }

    /// Publishes `payload` on this device's feedback topic and returns the ack.
    pub async fn feedback(&mut self, payload: &[u8]) -> tv_protocol::Ack {
        let topic = tv_protocol::Topics::new("bellhop").unwrap().feedback(&self.location, &self.device);
        self.publish(&topic, payload).await;
        self.next_ack().await
    }

    /// Publishes `payload` on `topic` at QoS 1.
    pub async fn publish(&self, topic: &str, payload: &[u8]) {
        self.client.publish(topic, rumqttc::QoS::AtLeastOnce, false, payload.to_vec()).await.expect("publish");
    }

    /// Every message that arrived before the next one on `topic` (which is returned last), within 10 s: what this
    /// device was sent up to that point.
    pub async fn everything_until(&mut self, topic: &str) -> Vec<(String, Vec<u8>)> {
        let mut seen: Vec<_> = self.held.drain(..).collect();
        if let Some(i) = seen.iter().position(|(t, _)| t == topic) {
            self.held.extend(seen.drain(i + 1..));
            return seen;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let (t, payload) = tokio::time::timeout(left, self.acks.recv())
                .await
                .unwrap_or_else(|_| panic!("no message on {topic} within 10 s"))
                .expect("event loop alive");
            let done = t == topic;
            seen.push((t, payload));
            if done {
                return seen;
            }
        }
    }

    /// The next message on `topic`, within 10 s; messages on other topics are held for later calls.
    pub async fn next_on(&mut self, topic: &str) -> Vec<u8> {
        if let Some(i) = self.held.iter().position(|(t, _)| t == topic) {
            return self.held.remove(i).expect("found").1;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let (t, payload) = tokio::time::timeout(left, self.acks.recv())
                .await
                .unwrap_or_else(|_| panic!("no message on {topic} within 10 s"))
                .expect("event loop alive");
            if t == topic {
                return payload;
            }
            self.held.push_back((t, payload));
        }
    }

    /// The next ack, within 10 s.
    pub async fn next_ack(&mut self) -> tv_protocol::Ack {
        let topic = tv_protocol::Topics::new("bellhop").unwrap().ack(&self.location, &self.device);
        let payload = self.next_on(&topic).await;
        tv_protocol::decode_ack(&payload).expect("a well-formed ack")
    }

    /// Sends a request payload and returns its ack.
    pub async fn request(&mut self, payload: &[u8]) -> tv_protocol::Ack {
        self.publish_request(payload).await;
        self.next_ack().await
    }
}
