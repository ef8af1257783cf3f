//! Running as an appliance: systemd notifications (ready, watchdog, reload, stopping), SIGHUP reload that keeps the
//! last good configuration, `/metrics`, and the operator commands `status`, `backup` and `restore`.

#[path = "support/receiver.rs"]
mod receiver;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

/// A stand-in for systemd's notification socket: a real datagram socket the daemon writes to.
struct NotifySocket {
    socket: UnixDatagram,
    seen: Vec<String>,
}

impl NotifySocket {
    fn bind(path: &std::path::Path) -> NotifySocket {
        let socket = UnixDatagram::bind(path).expect("bind the notify socket");
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        NotifySocket { socket, seen: Vec::new() }
    }

    /// Forgets what has already arrived.
    fn drain(&mut self) {
        let mut buf = [0u8; 4096];
        self.socket.set_nonblocking(true).unwrap();
        while self.socket.recv(&mut buf).is_ok() {}
        self.socket.set_nonblocking(false).unwrap();
    }

    /// Asserts that no notification contains `line` for `quiet` (reading everything that arrives meanwhile).
    fn expect_silence(&mut self, line: &str, quiet: Duration) {
        let deadline = Instant::now() + quiet;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                assert!(
                    !message.lines().any(|l| l == line),
                    "{line:?} arrived while the writer was wedged: {message:?}"
                );
            }
        }
    }

    /// Reads notifications until one contains `line`, within 20 s.
    fn wait_for(&mut self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                let found = message.lines().any(|l| l == line);
                self.seen.push(message);
                if found {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "no {line:?} from the daemon; saw {:?}", self.seen);
        }
    }
}

fn signal(daemon: &Daemon, name: &str) {
    let status = std::process::Command::new("kill").arg(format!("-{name}")).arg(daemon.child.id().to_string()).status();
    assert!(status.unwrap().success());
}

const EXTRA_ITEM: &str = "\n[[catalog]]\ncode = \"hk.iron\"\ncategory = \"housekeeping\"\ndepartment = \"housekeeping\"\npriority = \"low\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn systemd_sees_ready_watchdog_reload_and_stopping_and_a_bad_reload_changes_nothing() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let config_path = dir.path().join("bellhop.toml");
    let base = base_config(&dir.path().join("data"), broker.port, "");
    std::fs::write(&config_path, &base).unwrap();
    let socket_path = dir.path().join("notify.sock");
    let mut notify = NotifySocket::bind(&socket_path);
    let mut daemon = Daemon::start_with_env(
        dir.path(),
        &config_path,
        &[("NOTIFY_SOCKET", socket_path.to_str().unwrap()), ("WATCHDOG_USEC", "400000")],
    );
    notify.wait_for("READY=1");
    notify.wait_for("WATCHDOG=1");
    assert!(notify.seen.iter().any(|m| m.contains("STATUS=Running")), "{:?}", notify.seen);
    let token = daemon.token("staff");
    let raise = |item: &str| json!({"item": item, "location": "101"});

    // Before the reload the item is unknown; SIGHUP with it added makes it known without a restart.
    let (status, _) = post_json(&daemon.http, "/api/v1/tickets", &token, raise("hk.iron")).await;
    assert_eq!(status, 422);
    std::fs::write(&config_path, base.clone() + EXTRA_ITEM).unwrap();
    signal(&daemon, "HUP");
    notify.wait_for("RELOADING=1");
    notify.wait_for("READY=1");
    let (status, body) = post_json(&daemon.http, "/api/v1/tickets", &token, raise("hk.iron")).await;
    assert_eq!(status, 201, "{body}");

    // A broken file is refused whole: the last good configuration stays in force.
    std::fs::write(&config_path, base.replace("priority = \"low\"", "priority = \"soon\"") + EXTRA_ITEM).unwrap();
    signal(&daemon, "HUP");
    let metrics_token = daemon.token("installer");
    wait_until_async(Duration::from_secs(20), "the refused reload in /metrics", || async {
        let (status, text) = raw_get(&daemon.http, "/metrics", &metrics_token).await;
        (status == 200 && text.contains("bellhop_config_reload_failures_total 1")).then_some(())
    })
    .await;
    let (status, body) = post_json(&daemon.http, "/api/v1/tickets", &token, raise("hk.iron")).await;
    assert_eq!(status, 201, "the last good configuration was dropped: {body}");
    assert!(daemon.log_text().contains("soon"), "the refusal does not name the bad value:\n{}", daemon.log_text());

    // A wedged writer (here: another process holds the database's write lock) gets no watchdog pings, so systemd
    // would restart it; they resume once the writer is free.
    notify.wait_for("WATCHDOG=1");
    let lock = open_db_for_writing(&daemon.data_dir);
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    notify.drain();
    notify.expect_silence("WATCHDOG=1", Duration::from_millis(1500));
    lock.execute_batch("ROLLBACK").unwrap();
    notify.wait_for("WATCHDOG=1");

    let exit = daemon.terminate();
    assert!(exit.success(), "{exit}");
    notify.wait_for("STOPPING=1");
}

fn open_db_for_writing(data_dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(data_dir.join("bellhop.db")).expect("open bellhop.db")
}

/// GET returning the raw body, for the text exposition.
async fn raw_get(addr: &str, path: &str, token: &str) -> (u16, String) {
    let (addr, path, token) = (addr.to_owned(), path.to_owned(), token.to_owned());
    tokio::task::spawn_blocking(move || http_get_text_blocking(&addr, &path, Some(&token)).expect("HTTP GET"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_by_result_and_need_a_token() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, ""));
    daemon.wait_mqtt_connected();
    let mut tv = Device::connect(broker.port, "101", "tv-101", &[]).await;
    tv.request(br#"{"id":"a","item":"hk.towels"}"#).await;
    tv.request(br#"{"id":"a","item":"hk.towels"}"#).await;
    tv.request(br#"{"id":"b","item":"hk.unicorn"}"#).await;
    let token = daemon.token("installer");
    let (status, text) = raw_get(&daemon.http, "/metrics", &token).await;
    assert_eq!(status, 200, "{text}");
    for line in [
        "bellhop_device_requests_total{result=\"accepted\"} 1",
        "bellhop_device_requests_total{result=\"duplicate\"} 1",
        "bellhop_device_requests_total{result=\"rejected\"} 1",
        "bellhop_device_rejections_total{code=\"unknown_item\"} 1",
        "bellhop_tickets_open{status=\"new\"} 1",
        "bellhop_mqtt_connected 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    let (status, _) = raw_get(&daemon.http, "/metrics", "bh_not-a-token").await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_backup_and_restore_for_operators() {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let mut daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, ""));
    daemon.wait_mqtt_connected();
    let data = daemon.data_dir.to_str().unwrap().to_owned();

    let out = bellhop(&["status", "--http", &daemon.http]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("status:   ok") && stdout.contains("broker:   connected"), "{stdout}");

    // An online backup while TVs keep raising requests.
    let mut tv = Device::connect(broker.port, "102", "tv-102", &[]).await;
    for n in 0..20 {
        tv.request(format!(r#"{{"id":"r{n}","item":"hk.towels"}}"#).as_bytes()).await;
    }
    // The backup runs while another TV keeps the writer busy; it holds at least what was committed before it began.
    let backed_up = last_seq(&daemon.http).unwrap();
    let backup = dir.path().join("backup.db");
    let (to, data_dir) = (backup.to_str().unwrap().to_owned(), data.clone());
    let taking = tokio::task::spawn_blocking(move || bellhop(&["backup", "--data-dir", &data_dir, "--to", &to]));
    let mut busy = Device::connect(broker.port, "103", "tv-103", &[]).await;
    while !taking.is_finished() {
        let n = last_seq(&daemon.http).unwrap_or(0);
        busy.request(format!(r#"{{"id":"w{n}","item":"hk.towels"}}"#).as_bytes()).await;
    }
    let out = taking.await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("chain verified"));
    let again = bellhop(&["backup", "--data-dir", &data, "--to", backup.to_str().unwrap()]);
    assert!(!again.status.success(), "a backup overwrote an existing file");

    // Restore refuses while the daemon runs, and works once it has stopped.
    let refused = bellhop(&["restore", "--data-dir", &data, "--from", backup.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(74));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it first"));
    tv.request(br#"{"id":"after-backup","item":"eng.ac"}"#).await;
    assert!(daemon.terminate().success());
    let out = bellhop(&["restore", "--data-dir", &data, "--from", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verified = bellhop(&["verify", "--data-dir", &data]);
    assert!(verified.status.success());
    let db = open_db(&daemon.data_dir);
    let restored: i64 = db.query_row("SELECT max(seq) FROM events", [], |r| r.get(0)).unwrap();
    assert!(restored as u64 >= backed_up, "the backup lost events: {restored} < {backed_up}");
    let after: i64 = db.query_row("SELECT count(*) FROM tickets WHERE item = 'eng.ac'", [], |r| r.get(0)).unwrap();
    assert_eq!(after, 0, "the restore kept a ticket raised after the backup");
    assert!(daemon.data_dir.join("bellhop.db.before-restore").exists());

    // A corrupt backup is refused and changes nothing.
    let bad = dir.path().join("bad.db");
    std::fs::write(&bad, b"not a database").unwrap();
    let out = bellhop(&["restore", "--data-dir", &data, "--from", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(bellhop(&["verify", "--data-dir", &data]).status.success());

    let out = bellhop(&["status", "--http", &daemon.http]);
    assert_eq!(out.status.code(), Some(69), "status of a stopped daemon");
}

/// `bellhop demo`, started as a user would, with its standard output read line by line.
struct Demo {
    child: std::process::Child,
    /// Where its API listens (`http://…`).
    api: String,
    token: String,
}

impl Demo {
    fn start(dir: &std::path::Path) -> Demo {
        use std::io::BufRead;
        let mut child = std::process::Command::new(BELLHOP)
            .args(["demo", "--http", "127.0.0.1:0", "--rooms", "2", "--rate", "0.2", "--dir"])
            .arg(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start bellhop demo");
        let (found_tx, found) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        // Keep reading after the API line, so the demo never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("The staff API is at ") {
                    let api = rest.split_whitespace().next().unwrap_or_default().to_owned();
                    let token = rest.split("token for this demo: ").nth(1).unwrap_or_default().trim_end_matches(')');
                    let _ = found_tx.send((api, token.to_owned()));
                }
            }
        });
        let (api, token) = found.recv_timeout(Duration::from_secs(60)).expect("the demo prints its API and token");
        Demo { child, api, token }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        // Ctrl-C stops the demo and its Mosquitto; kill it only if it does not.
        let _ = std::process::Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        if !poll_until(Duration::from_secs(20), || self.child.try_wait().ok().flatten().is_some()) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// In `bellhop demo`, `POST /api/v1/admin/reload` answers at once, as on an installed gateway: applied (200), or
/// refused with the file's errors (422); it used to wait for ever for an answer nobody gave.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_answers_a_reload_at_once() {
    let dir = scratch();
    let demo = Demo::start(dir.path());
    let addr = demo.api.trim_start_matches("http://").to_owned();
    // A generous bound for a loaded machine: the reload itself takes milliseconds.
    let bound = Duration::from_secs(5);
    let reload = || post_json(&addr, "/api/v1/admin/reload", &demo.token, json!({}));
    let (status, body) = tokio::time::timeout(bound, reload()).await.expect("the reload answered");
    assert_eq!((status, &body["reloaded"]), (200, &json!(true)), "{body}");

    let config = dir.path().join("bellhop.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replacen("code = \"DEMO\"", "code = \"DEMO\"\nno_such_key = 1", 1)).unwrap();
    let (status, body) = tokio::time::timeout(bound, reload()).await.expect("the refusal answered");
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("no_such_key"), "{body}");
}

/// `bellhop` run through a shell with umask 000, as a careless hand might.
fn under_umask_000(args: &[&std::ffi::OsStr]) -> std::process::Command {
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "umask 000 && exec \"$@\"", "sh", BELLHOP]).args(args);
    command
}

/// A child process that a failed assertion does not leave running.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every directory under `root` (itself included) and every file in them, with its mode.
fn modes(root: &std::path::Path) -> Vec<(std::path::PathBuf, bool, u32)> {
    let mut out = vec![(root.to_owned(), true, std::fs::metadata(root).unwrap().permissions().mode() & 0o7777)];
    for entry in std::fs::read_dir(root).unwrap().map(Result::unwrap) {
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            out.extend(modes(&entry.path()));
        } else {
            out.push((entry.path(), false, meta.permissions().mode() & 0o7777));
        }
    }
    out
}

fn assert_private(root: &std::path::Path, want: &[&str]) {
    let found = modes(root);
    for (path, is_dir, mode) in &found {
        let expected = if *is_dir { 0o750 } else { 0o640 };
        assert_eq!(*mode, expected, "{} is {mode:o}, not {expected:o}", path.display());
    }
    for name in want {
        assert!(found.iter().any(|(p, _, _)| p.ends_with(name)), "{name} was not made: {found:?}");
    }
}

/// Run by hand with umask 000, the daemon and the operator commands still make the data directory (and the missing
/// directory above it) 0750 and every file they write 0640: the database with its -wal and -shm, the lock, the sync
/// cursor, head office's managed.toml, imported.toml, a backup, and what a restore leaves.
#[tokio::test(flavor = "multi_thread")]
async fn the_data_directory_is_private_whatever_the_umask() {
    const GATEWAY: &str = "hotel-perms";
    const SECRET: &[u8] = b"hotel-perms-secret-0123456789abcd";
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let receiver = receiver::Receiver::start(receiver::Options {
        gateways: vec![(GATEWAY.into(), SECRET.to_vec())],
        ..Default::default()
    })
    .await;
    receiver.set_config(
        GATEWAY,
        "[[departments]]\ncode = \"housekeeping\"\nname = \"Housekeeping\"\n\n[[catalog]]\ncode = \"hk.robe\"\n\
         category = \"housekeeping\"\ndepartment = \"housekeeping\"\npriority = \"low\"\n",
    );
    std::fs::write(dir.path().join("sync.secret"), SECRET).unwrap();
    std::fs::write(dir.path().join("ho-ca.pem"), receiver.ca_pem()).unwrap();
    let home = dir.path().join("var");
    let data_dir = home.join("data");
    let sync = format!(
        "\n[sync]\nurl = \"{}\"\ngateway_id = \"{GATEWAY}\"\nsecret_file = \"sync.secret\"\nca_file = \"ho-ca.pem\"\n\
         backoff_max_s = 1\nconfig_poll_s = 1\n",
        receiver.url()
    );
    let config = dir.path().join("bellhop.toml");
    std::fs::write(&config, base_config(&data_dir, broker.port, &sync)).unwrap();
    let http = format!("127.0.0.1:{}", free_port().unwrap());
    let mut daemon = KilledOnDrop(
        under_umask_000(&["run".as_ref(), "--config".as_ref(), config.as_os_str(), "--http".as_ref(), http.as_ref()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start bellhop run"),
    );
    let stop = |daemon: &mut KilledOnDrop| {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(daemon.0.id().to_string()).status();
        wait_until(Duration::from_secs(30), "the daemon to stop", || daemon.0.try_wait().ok().flatten())
    };
    let up = {
        let http = http.clone();
        tokio::task::spawn_blocking(move || {
            // Up, and connected to the broker (so its subscriptions are in place before a TV speaks).
            poll_until(Duration::from_secs(20), || {
                http_get_blocking(&http, "/healthz", None).is_ok_and(|(_, body)| body["mqtt"]["connected"] == true)
            })
        })
    };
    if !up.await.unwrap() {
        panic!("the daemon did not answer /healthz connected to the broker");
    }

    // A request (journaled through the daemon, so uploaded at once: a cursor), a token and an import, the last two
    // under umask 000 too.
    let mut tv = Device::connect(broker.port, "101", "tv-101", &[]).await;
    tv.request(br#"{"id":"a","item":"hk.towels"}"#).await;
    let token = under_umask_000(&[
        "token".as_ref(),
        "create".as_ref(),
        "--role".as_ref(),
        "admin".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
    ])
    .output()
    .unwrap();
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    let csv = dir.path().join("rooms.csv");
    std::fs::write(&csv, "id,kind,floor\n301,room,3\n").unwrap();
    let import = under_umask_000(&[
        "import".as_ref(),
        "locations".as_ref(),
        csv.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ])
    .output()
    .unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    wait_until_async(Duration::from_secs(60), "the cursor and head office's configuration", || {
        let ready = ["sync-cursor", "managed.toml", "bellhop.db-wal"].iter().all(|f| data_dir.join(f).exists());
        std::future::ready(ready.then_some(()))
    })
    .await;
    let backup = dir.path().join("backups/before.db");
    std::fs::create_dir_all(backup.parent().unwrap()).unwrap();
    std::fs::set_permissions(backup.parent().unwrap(), std::fs::Permissions::from_mode(0o750)).unwrap();
    let out = under_umask_000(&[
        "backup".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
        "--to".as_ref(),
        backup.as_os_str(),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_private(
        &home,
        &[
            "data",
            "bellhop.db",
            "bellhop.db-wal",
            "bellhop.db-shm",
            "bellhop.lock",
            "sync-cursor",
            "managed.toml",
            "imported.toml",
        ],
    );
    assert_private(backup.parent().unwrap(), &["before.db"]);
    assert!(stop(&mut daemon).success());

    let out = under_umask_000(&[
        "restore".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
        "--from".as_ref(),
        backup.as_os_str(),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_private(&home, &["bellhop.db", "bellhop.db.before-restore"]);
}
