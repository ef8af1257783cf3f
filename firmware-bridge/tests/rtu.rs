//! End to end over Modbus RTU: a socat pty pair, the tokio-modbus RTU server on one end and the
//! bridge's bus task (three units, one of them silent) on the other.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{controller, grms, wait_for, Device};
use firmware_bridge::{compile_rules, Bridge, BridgeEvent};
use tokio::time::Instant;

const SOS: usize = 11;
const WAIT: Duration = Duration::from_secs(10);

/// Kills the socat process this test started.
struct Socat(Child);

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn pty_pair(dir: &Path) -> (Socat, String, String) {
    let (a, b) = (dir.join("client"), dir.join("server"));
    let child = Command::new("socat")
        .args(["-d", "-d"])
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("socat is installed by scripts/setup");
    let socat = Socat(child);
    let deadline = Instant::now() + WAIT;
    while !(a.exists() && b.exists()) {
        assert!(Instant::now() < deadline, "socat did not create {} and {}", a.display(), b.display());
        tokio::time::sleep(Duration::from_millis(10)).await; // polling a condition, with a deadline
    }
    (socat, a.display().to_string(), b.display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_bus_alarm_and_silent_unit() {
    let dir = tempfile::tempdir().unwrap();
    let (_socat, client, server_path) = pty_pair(dir.path()).await;
    let device = Device::with_units(&[1, 2]);
    let server = tokio_modbus::server::rtu::Server::new_from_path(&server_path, 9600).unwrap();
    let served = device.clone();
    let server_task = tokio::spawn(async move { server.serve_forever(served).await });

    let controllers: String = [(1, 500), (2, 500), (3, 200)]
        .iter()
        .map(|(unit, timeout)| {
            format!(
                r#"
                [[controllers]]
                id = "rc-{unit}"
                location = "20{unit}"
                map = "smt-131"
                rtu = {{ device = "{client}", baud = 9600, unit = {unit} }}
                poll_interval_ms = 50
                timeout_ms = {timeout}
                "#
            )
        })
        .collect();
    let (config, maps) = grms(&format!(
        "{controllers}
        [[rules]]
        name = \"sos\"
        when = \"sos == true\"
        item = \"grms.sos\"
        on_clear = \"annotate\"
        "
    ));
    let rules = compile_rules(&config).unwrap();
    let (handle, mut rx) = Bridge::start(&config, &maps, &rules).unwrap();
    let mut seen = Vec::new();

    device.set(2, SOS, 1);
    let ev = wait_for(&mut rx, &mut seen, WAIT, |e| matches!(e, BridgeEvent::AlarmRaised { .. })).await;
    assert_eq!(controller(&ev), "rc-2");
    assert!(matches!(ev, BridgeEvent::AlarmRaised { ref location, .. } if location == "202"));
    device.set(2, SOS, 0);
    let ev = wait_for(&mut rx, &mut seen, WAIT, |e| matches!(e, BridgeEvent::AlarmCleared { .. })).await;
    assert!(matches!(ev, BridgeEvent::AlarmCleared { on_clear: firmware_bridge::OnClear::Annotate, .. }));
    assert_eq!(controller(&ev), "rc-2");

    // Unit 3 never answers: reported offline once, and units 1 and 2 keep working around it.
    if !seen.iter().any(|e| controller(e) == "rc-3") {
        wait_for(&mut rx, &mut seen, WAIT, |e| controller(e) == "rc-3").await;
    }
    device.set(1, SOS, 1);
    let ev = wait_for(&mut rx, &mut seen, WAIT, |e| matches!(e, BridgeEvent::AlarmRaised { .. })).await;
    assert_eq!(controller(&ev), "rc-1");
    let others: Vec<_> =
        seen.iter().filter(|e| controller(e) == "rc-3" || matches!(e, BridgeEvent::ControllerOffline { .. })).collect();
    assert!(
        matches!(others[..], [BridgeEvent::ControllerOffline { ref controller, .. }] if controller == "rc-3"),
        "{seen:#?}"
    );

    handle.stop().await;
    server_task.abort();
}
