//! Room controllers end to end: the real `bellhop` binary polls a real Modbus TCP server (tokio-modbus, in this test
//! process) holding an SMT-131 register image, and alarms become tickets once per episode, without storms.

mod support;

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::*;
use tokio::net::TcpListener;
use tokio_modbus::server::tcp::{accept_tcp_connection, Server};
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

/// SMT-131 holding-register addresses (0-based), as in docs/examples/smt-131.toml.
const DOOR_STATION: usize = 5;
const SOS: usize = 11;
const LEAK: usize = 12;
const SETPOINT: usize = 8;

/// The holding registers of one controller (unit 1).
#[derive(Clone, Default)]
struct Registers(Arc<Mutex<HashMap<usize, u16>>>);

impl Registers {
    fn set(&self, address: usize, value: u16) {
        self.0.lock().unwrap().insert(address, value);
    }

    fn get(&self, address: usize) -> u16 {
        self.0.lock().unwrap().get(&address).copied().unwrap_or(0)
    }
}

impl Service for Registers {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Option<Response>, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let mut regs = self.0.lock().unwrap();
        ready(match req.request {
            Request::WriteSingleRegister(address, value) => {
                regs.insert(usize::from(address), value);
                Ok(Some(Response::WriteSingleRegister(address, value)))
            }
            Request::WriteMultipleRegisters(start, words) => {
                for (i, w) in words.iter().enumerate() {
                    regs.insert(usize::from(start) + i, *w);
                }
                Ok(Some(Response::WriteMultipleRegisters(start, words.len() as u16)))
            }
            Request::ReadHoldingRegisters(start, n) => Ok(Some(Response::ReadHoldingRegisters(
                (start..start + n).map(|a| regs.get(&usize::from(a)).copied().unwrap_or(0)).collect(),
            ))),
            _ => Err(ExceptionCode::IllegalFunction),
        })
    }
}

/// Serves `registers` on `listener` until the returned sender is dropped or fired.
fn serve(
    listener: TcpListener,
    registers: Registers,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let on_connected = move |stream, addr| {
            let registers = registers.clone();
            async move { accept_tcp_connection(stream, addr, move |_| Ok(Some(registers.clone()))) }
        };
        let _ = Server::new(listener)
            .serve_until(&on_connected, |_| {}, async move {
                let _ = stopped.await;
            })
            .await;
    });
    (stop, task)
}

fn grms_config(port: u16) -> String {
    let map = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/smt-131.toml");
    format!(
        r#"
[[departments]]
code = "security"
name = "Security"

[[catalog]]
code = "grms.sos"
category = "safety"
department = "security"
priority = "critical"
emergency = true

[[catalog]]
code = "grms.leak"
category = "engineering"
department = "engineering"
priority = "high"

[[catalog]]
code = "grms.offline"
category = "engineering"
department = "engineering"
priority = "medium"

[[catalog]]
code = "hk.cleaning"
category = "housekeeping"
department = "housekeeping"
priority = "medium"

[grms]
offline_after = 2

[grms.maps]
smt-131 = "{map}"

[[grms.controllers]]
id = "rc-101"
location = "101"
map = "smt-131"
tcp = {{ host = "127.0.0.1", port = {port}, unit = 1 }}
poll_interval_ms = 100
timeout_ms = 300
allow_writes = true

[[grms.rules]]
name = "sos"
when = "sos == true"
item = "grms.sos"
on_clear = "annotate"

[[grms.rules]]
name = "leak"
when = "leak == true"
item = "grms.leak"
on_clear = "resolve"
"#
    )
}

/// The tickets at room 101 for `item`, through the API.
async fn tickets(http: &str, token: &str, item: &str) -> Vec<Value> {
    let (status, body) = get(http, "/api/v1/tickets?location=101&limit=100", token).await;
    assert_eq!(status, 200, "{body}");
    body["tickets"].as_array().unwrap().iter().filter(|t| t["item"] == item).cloned().collect()
}

async fn wait_for_tickets(
    http: &str,
    token: &str,
    item: &str,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let found = tickets(http, token, item).await;
        if check(&found) {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}; {item} tickets: {found:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn history(http: &str, token: &str, number: &str) -> Vec<Value> {
    let (_, body) = get(http, &format!("/api/v1/tickets/{number}"), token).await;
    body["history"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn alarms_raise_one_ticket_per_episode_and_clear_as_configured() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let registers = Registers::default();
    let (stop_server, server) = serve(listener, registers.clone());

    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let config = base_config(&dir.path().join("data"), broker.port, &grms_config(port)).replace(
        "code = \"housekeeping\"\nname = \"Housekeeping\"\n",
        "code = \"housekeeping\"\nname = \"Housekeeping\"\npause_on_dnd = true\n",
    );
    let daemon = Daemon::start(dir.path(), &config);
    let token = daemon.token("staff");
    let http = daemon.http.as_str();

    // SOS: one critical ticket, however many polls see the cord pulled.
    registers.set(SOS, 1);
    let sos = wait_for_tickets(http, &token, "grms.sos", "the SOS ticket", |t| t.len() == 1).await;
    assert_eq!(sos[0]["source"], "grms");
    assert_eq!(sos[0]["priority"], "critical");
    assert_eq!(sos[0]["department"], "security");
    let sos_number = sos[0]["number"].as_str().unwrap().to_owned();

    // A make-up-room press raises a housekeeping request; by then many more polls have seen the SOS.
    registers.set(DOOR_STATION, 1);
    let cleaning = wait_for_tickets(http, &token, "hk.cleaning", "the make-up-room request", |t| t.len() == 1).await;
    let cleaning_number = cleaning[0]["number"].as_str().unwrap().to_owned();
    assert_eq!(tickets(http, &token, "grms.sos").await.len(), 1, "the SOS raised more than one ticket");

    // SOS cleared: annotated and left open for security (on_clear = annotate).
    registers.set(SOS, 0);
    wait_until_async(Duration::from_secs(15), "the SOS clear annotation", || async {
        history(http, &token, &sos_number).await.iter().any(|e| e["kind"] == "ticket_commented").then_some(())
    })
    .await;
    assert_eq!(tickets(http, &token, "grms.sos").await[0]["status"], "new");

    // Leak: raised, then resolved automatically when it clears (on_clear = resolve).
    registers.set(LEAK, 1);
    wait_for_tickets(http, &token, "grms.leak", "the leak ticket", |t| t.len() == 1).await;
    registers.set(LEAK, 0);
    wait_for_tickets(http, &token, "grms.leak", "the leak ticket resolved", |t| t[0]["status"] == "resolved").await;

    // Do-not-disturb is recorded for the location.
    registers.set(DOOR_STATION, 2);
    let db_dir = daemon.data_dir.clone();
    poll_until(Duration::from_secs(15), || {
        open_db(&db_dir)
            .query_row("SELECT dnd FROM location_flags WHERE location = '101'", [], |r| r.get::<_, bool>(0))
            .unwrap_or(false)
    })
    .then_some(())
    .expect("do-not-disturb was not recorded");
    // It pauses the SLA clock of the room's housekeeping ticket (pause_on_dnd), not that of security's SOS.
    for (number, paused) in [(&cleaning_number, true), (&sos_number, false)] {
        let (_, body) = get(http, &format!("/api/v1/tickets/{number}"), &token).await;
        assert_eq!(body["ticket"]["sla"]["paused"], paused, "only pause_on_dnd departments pause: {body}");
    }

    // The controller stops answering: one offline ticket for the outage, annotated when it returns.
    let _ = stop_server.send(());
    server.await.unwrap();
    let offline = wait_for_tickets(http, &token, "grms.offline", "the offline ticket", |t| t.len() == 1).await;
    let offline_number = offline[0]["number"].as_str().unwrap().to_owned();
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("rebind the controller's port");
    let (_keep_serving, _server) = serve(listener, registers.clone());
    wait_until_async(Duration::from_secs(30), "the back-online annotation", || async {
        history(http, &token, &offline_number)
            .await
            .iter()
            .any(|e| e["kind"] == "ticket_commented" && e["text"].as_str().is_some_and(|t| t.contains("answers again")))
            .then_some(())
    })
    .await;
    assert_eq!(tickets(http, &token, "grms.offline").await.len(), 1, "one outage raised more than one ticket");
    assert_chain_verifies(&daemon.data_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn installers_read_a_controller_and_supervisors_write_its_setpoint() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let registers = Registers::default();
    registers.set(9, 231); // room temperature 23.1 °C
    let (_stop, _server) = serve(listener, registers.clone());
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, &grms_config(port)));

    let config = daemon.config.to_str().unwrap().to_owned();
    let read =
        tokio::task::spawn_blocking(move || bellhop(&["grms", "read", "--config", &config, "--controller", "rc-101"]))
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&read.stdout);
    assert!(read.status.success(), "{stdout}{}", String::from_utf8_lossy(&read.stderr));
    assert!(stdout.lines().any(|l| l.contains("room_temp") && l.contains("23.1")), "{stdout}");

    let supervisor = daemon.token("supervisor");
    let path = "/api/v1/grms/controllers/rc-101/points/setpoint";
    let (status, body) = post_json(&daemon.http, path, &supervisor, serde_json::json!({"value": 22.5})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(registers.get(SETPOINT), 225);
    let db = open_db(&daemon.data_dir);
    let journaled: String = db
        .query_row("SELECT payload FROM events WHERE kind = 'controller_point_written'", [], |r| r.get(0))
        .expect("the write is journaled");
    assert!(journaled.contains("\"outcome\":\"ok\""), "{journaled}");

    let (status, _) = post_json(
        &daemon.http,
        "/api/v1/grms/controllers/rc-101/points/room_temp",
        &supervisor,
        serde_json::json!({"value": 1}),
    )
    .await;
    assert_eq!(status, 409, "a read-only point was written");
    let staff = daemon.token("staff");
    let (status, _) = post_json(&daemon.http, path, &staff, serde_json::json!({"value": 30})).await;
    assert_eq!(status, 403);
    assert_eq!(registers.get(SETPOINT), 225);
}
