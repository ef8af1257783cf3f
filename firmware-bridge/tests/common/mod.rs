//! Shared test helpers: an in-memory Modbus device, a TCP server for it, and deadline-based event waits.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use firmware_bridge::{BridgeEvent, GrmsConfig, Maps};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_modbus::server::tcp::{accept_tcp_connection, Server};
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

/// The SMT-131 example map shipped in the docs.
pub const SMT_131: &str = include_str!("../../../docs/examples/smt-131.toml");

/// Holding registers 0..64 per unit id; units not listed never answer.
#[derive(Clone, Default)]
pub struct Device {
    units: Arc<Mutex<HashMap<u8, Vec<u16>>>>,
}

impl Device {
    pub fn with_units(units: &[u8]) -> Self {
        let d = Device::default();
        d.units.lock().unwrap().extend(units.iter().map(|u| (*u, vec![0; 64])));
        d
    }

    pub fn set(&self, unit: u8, address: usize, value: u16) {
        self.units.lock().unwrap().get_mut(&unit).unwrap()[address] = value;
    }

    pub fn get(&self, unit: u8, address: usize) -> u16 {
        self.units.lock().unwrap()[&unit][address]
    }
}

impl Service for Device {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Option<Response>, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let mut units = self.units.lock().unwrap();
        let Some(regs) = units.get_mut(&req.slave) else { return ready(Ok(None)) };
        let range = |start: u16, n: usize| {
            let s = usize::from(start);
            if s + n <= regs.len() {
                Ok(s..s + n)
            } else {
                Err(ExceptionCode::IllegalDataAddress)
            }
        };
        let result = match req.request {
            Request::ReadHoldingRegisters(a, n) => {
                range(a, usize::from(n)).map(|r| Some(Response::ReadHoldingRegisters(regs[r].to_vec())))
            }
            Request::WriteSingleRegister(a, v) => range(a, 1).map(|r| {
                regs[r.start] = v;
                Some(Response::WriteSingleRegister(a, v))
            }),
            Request::WriteMultipleRegisters(a, words) => range(a, words.len()).map(|r| {
                regs[r].copy_from_slice(&words);
                Some(Response::WriteMultipleRegisters(a, words.len() as u16))
            }),
            _ => Err(ExceptionCode::IllegalFunction),
        };
        ready(result)
    }
}

/// A running TCP server; `stop` closes the listener and every connection.
pub struct TcpDevice {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl TcpDevice {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

pub fn serve_tcp(listener: TcpListener, device: Device) -> TcpDevice {
    serve_service(listener, device)
}

/// Serves any Modbus service (one clone per connection) on `listener`.
pub fn serve_service<S>(listener: TcpListener, service: S) -> TcpDevice
where
    S: Service<Request = SlaveRequest<'static>, Response = Option<Response>, Exception = ExceptionCode>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = Server::new(listener);
        let on_connected = move |stream, socket_addr| {
            let service = service.clone();
            async move { accept_tcp_connection(stream, socket_addr, move |_| Ok(Some(service.clone()))) }
        };
        let abort = async move {
            let _ = stopped.await;
        };
        let _ = server.serve_until(&on_connected, |_err| {}, abort).await;
    });
    TcpDevice { addr, stop, task }
}

/// Parses a `[grms]` section (without the header) and loads the SMT-131 map as `smt-131`.
pub fn grms(section: &str) -> (GrmsConfig, Maps) {
    let config: GrmsConfig = toml::from_str(section).unwrap();
    let maps = [("smt-131".to_string(), firmware_bridge::parse_map(SMT_131).unwrap())].into_iter().collect();
    (config, maps)
}

/// Receives events until one matches `pred` or `within` passes; every event received is appended to `seen`.
pub async fn wait_for(
    rx: &mut mpsc::Receiver<BridgeEvent>,
    seen: &mut Vec<BridgeEvent>,
    within: Duration,
    pred: impl Fn(&BridgeEvent) -> bool,
) -> BridgeEvent {
    let deadline = Instant::now() + within;
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no matching event within {within:?}; saw {seen:#?}"))
            .expect("event channel closed");
        seen.push(ev.clone());
        if pred(&ev) {
            return ev;
        }
    }
}

/// Controller id of an event.
pub fn controller(ev: &BridgeEvent) -> &str {
    match ev {
        BridgeEvent::AlarmRaised { controller, .. }
        | BridgeEvent::AlarmCleared { controller, .. }
        | BridgeEvent::MakeUpRoom { controller, .. }
        | BridgeEvent::DoNotDisturb { controller, .. }
        | BridgeEvent::ControllerOffline { controller, .. }
        | BridgeEvent::ControllerOnline { controller, .. } => controller,
    }
}
