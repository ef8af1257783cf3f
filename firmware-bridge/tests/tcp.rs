//! End to end over Modbus TCP: a real tokio-modbus server on 127.0.0.1:0 and the running bridge.

mod common;

use std::time::Duration;

use common::{controller, grms, serve_tcp, wait_for, Device, SMT_131};
use firmware_bridge::{
    compile_rules, parse_map, read_points, write_point, Bridge, BridgeError, BridgeEvent, Endpoint, OnClear, Value,
};
use tokio::net::TcpListener;

const SOS: usize = 11;
const DOOR: usize = 5;
const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_door_station_and_one_offline_per_outage() {
    let device = Device::with_units(&[1]);
    let server = serve_tcp(TcpListener::bind("127.0.0.1:0").await.unwrap(), device.clone());
    let addr = server.addr;
    // A controller that accepts connections and never answers, with a long timeout: it must not
    // delay the healthy one.
    let black_hole = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_port = black_hole.local_addr().unwrap().port();
    let hole = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = black_hole.accept().await {
            held.push(s);
        }
    });

    let (config, maps) = grms(&format!(
        r#"
        [[controllers]]
        id = "rc-101"
        location = "101"
        map = "smt-131"
        tcp = {{ host = "127.0.0.1", port = {port}, unit = 1 }}
        poll_interval_ms = 50
        timeout_ms = 500

        [[controllers]]
        id = "rc-dead"
        location = "102"
        map = "smt-131"
        tcp = {{ host = "127.0.0.1", port = {dead_port}, unit = 1 }}
        poll_interval_ms = 50
        timeout_ms = 2000

        [[rules]]
        name = "sos"
        when = "sos == true"
        item = "grms.sos"

        [[rules]]
        name = "hot"
        when = "room_temp > 28"
        while = "occupancy"
        on_delay_s = 900
        item = "grms.hvac"
        "#,
        port = addr.port()
    ));
    let rules = compile_rules(&config).unwrap();
    let (handle, mut rx) = Bridge::start(&config, &maps, &rules).unwrap();
    let mut seen = Vec::new();
    let ours = |ev: &BridgeEvent| controller(ev) == "rc-101";

    device.set(1, SOS, 1);
    let ev = wait_for(&mut rx, &mut seen, Duration::from_secs(1), |e| {
        ours(e) && matches!(e, BridgeEvent::AlarmRaised { .. })
    })
    .await;
    assert_eq!(
        ev,
        BridgeEvent::AlarmRaised {
            controller: "rc-101".into(),
            location: "101".into(),
            rule: "sos".into(),
            item: "grms.sos".into(),
            detail: "sos = true (sos == true)".into(),
        }
    );
    device.set(1, SOS, 0);
    let ev = wait_for(&mut rx, &mut seen, WAIT, |e| ours(e) && matches!(e, BridgeEvent::AlarmCleared { .. })).await;
    assert!(matches!(ev, BridgeEvent::AlarmCleared { ref rule, on_clear: OnClear::Resolve, .. } if rule == "sos"));

    device.set(1, DOOR, 1);
    wait_for(&mut rx, &mut seen, WAIT, |e| ours(e) && matches!(e, BridgeEvent::MakeUpRoom { .. })).await;
    device.set(1, DOOR, 2);
    let ev = wait_for(&mut rx, &mut seen, WAIT, |e| ours(e) && matches!(e, BridgeEvent::DoNotDisturb { .. })).await;
    assert!(matches!(ev, BridgeEvent::DoNotDisturb { on: true, .. }));

    // Outage: exactly one offline report, then one online report once it answers again.
    server.stop().await;
    let mark = seen.len();
    wait_for(&mut rx, &mut seen, WAIT, |e| ours(e) && matches!(e, BridgeEvent::ControllerOffline { .. })).await;
    let server = serve_tcp(TcpListener::bind(addr).await.unwrap(), device.clone());
    wait_for(&mut rx, &mut seen, WAIT, |e| ours(e) && matches!(e, BridgeEvent::ControllerOnline { .. })).await;
    let offline = seen[mark..].iter().filter(|e| ours(e) && matches!(e, BridgeEvent::ControllerOffline { .. }));
    assert_eq!(offline.count(), 1, "{seen:#?}");

    // Alarms work again after the reconnect.
    device.set(1, SOS, 1);
    wait_for(&mut rx, &mut seen, WAIT, |e| ours(e) && matches!(e, BridgeEvent::AlarmRaised { .. })).await;

    // The silent controller was reported once, too.
    if !seen.iter().any(|e| controller(e) == "rc-dead") {
        wait_for(&mut rx, &mut seen, Duration::from_secs(30), |e| controller(e) == "rc-dead").await;
    }
    let dead: Vec<_> = seen.iter().filter(|e| controller(e) == "rc-dead").collect();
    assert!(matches!(dead[..], [BridgeEvent::ControllerOffline { .. }]), "{dead:#?}");
    assert!(!seen.iter().any(|e| matches!(e, BridgeEvent::AlarmRaised { rule, .. } if rule == "hot")));

    handle.stop().await;
    while let Some(ev) = tokio::time::timeout(WAIT, rx.recv()).await.unwrap() {
        seen.push(ev);
    }
    server.stop().await;
    hole.abort();
}

#[tokio::test]
async fn one_shot_read_and_write() {
    let device = Device::with_units(&[7]);
    let server = serve_tcp(TcpListener::bind("127.0.0.1:0").await.unwrap(), device.clone());
    let endpoint = Endpoint::Tcp { host: "127.0.0.1".into(), port: server.addr.port() };
    let map = parse_map(SMT_131).unwrap();
    let timeout = Duration::from_secs(5);
    device.set(7, 9, 0xFFF6); // room_temp -1.0 °C
    device.set(7, 3, 1); // occupied

    write_point(&endpoint, 7, &map, "setpoint", Value::Number(22.5), timeout).await.unwrap();
    assert_eq!(device.get(7, 8), 225);
    let err = write_point(&endpoint, 7, &map, "sos", Value::Bool(true), timeout).await.unwrap_err();
    assert!(matches!(err, BridgeError::NotWritable(ref p) if p == "sos"), "{err}");
    let err = write_point(&endpoint, 7, &map, "setpoint", Value::Number(1e9), timeout).await.unwrap_err();
    assert!(matches!(err, BridgeError::Encode(_)), "{err}");

    let values = read_points(&endpoint, 7, &map, timeout).await.unwrap();
    let get = |n: &str| values.iter().find(|(k, _)| k == n).map(|(_, v)| *v).unwrap();
    assert_eq!(values.len(), map.points.len());
    assert_eq!(get("setpoint"), Value::Number(22.5));
    assert_eq!(get("room_temp"), Value::Number(-1.0));
    assert_eq!(get("occupancy"), Value::Bool(true));
    assert_eq!(get("sos"), Value::Bool(false));

    // A unit that does not answer times out instead of hanging.
    let err = read_points(&endpoint, 9, &map, Duration::from_millis(200)).await.unwrap_err();
    assert!(matches!(err, BridgeError::Timeout(_)), "{err}");
    server.stop().await;
}
