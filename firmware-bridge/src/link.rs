//! One Modbus connection (TCP socket or RTU serial bus) with timeouts, reconnects and frame gaps,
//! plus one-shot `read_points` / `write_point` for the CLI.

use std::time::Duration;

use tokio::time::Instant;
use tokio_modbus::client::{Client, Context};
use tokio_modbus::slave::SlaveContext;
use tokio_modbus::{ExceptionCode, Request, Response, Slave};

use crate::config::{Endpoint, Parity};
use crate::map::{Kind, Point, RegisterMap};
use crate::plan::{locate, plan_reads, PlanOptions, ReadRequest};
use crate::value::{decode, encode, Encoded, Raw, Value};

/// Why a Modbus exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// No answer within the time limit (the connection is dropped and reopened).
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The link broke or could not be opened (the connection is dropped and reopened).
    #[error("link: {0}")]
    Link(String),
    /// The device answered with a Modbus exception: it is alive but refused the request.
    #[error("device refused: {0}")]
    Exception(ExceptionCode),
    /// The device answered with something that does not fit the request.
    #[error("unexpected response: {0}")]
    Unexpected(String),
    /// No such point in the map.
    #[error("no point named `{0}`")]
    UnknownPoint(String),
    /// The point is not marked `writable = true`.
    #[error("point `{0}` is not writable")]
    NotWritable(String),
    /// The value cannot be written to the point.
    #[error(transparent)]
    Encode(#[from] crate::value::EncodeError),
}

impl BridgeError {
    /// True when the device answered (so it is online even though the request failed).
    pub fn device_answered(&self) -> bool {
        matches!(self, BridgeError::Exception(_))
    }
}

/// Raw data returned by one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Coils or discrete inputs.
    Bits(Vec<bool>),
    /// Registers.
    Words(Vec<u16>),
}

/// The Modbus RTU silent interval (3.5 characters of 11 bits; fixed 1.75 ms above 19200 baud).
pub fn frame_gap(baud: u32) -> Duration {
    if baud > 19_200 || baud == 0 {
        Duration::from_micros(1750)
    } else {
        Duration::from_micros(3_500_000 * 11 / u64::from(baud))
    }
}

/// A lazily (re)opened connection. After any timeout or I/O error the context is dropped, so a
/// late reply can never be mistaken for the answer to the next request.
pub(crate) struct Link {
    endpoint: Endpoint,
    ctx: Option<Context>,
    gap: Duration,
    last_frame: Option<Instant>,
}

impl Link {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        let gap = match &endpoint {
            Endpoint::Tcp { .. } => Duration::ZERO,
            Endpoint::Rtu { baud, .. } => frame_gap(*baud),
        };
        Link { endpoint, ctx: None, gap, last_frame: None }
    }

    async fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Context, BridgeError> {
        match endpoint {
            Endpoint::Tcp { host, port } => {
                let stream = tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host.as_str(), *port)))
                    .await
                    .map_err(|_| BridgeError::Timeout(timeout))?
                    .map_err(|e| BridgeError::Link(format!("connect {host}:{port}: {e}")))?;
                stream.set_nodelay(true).map_err(|e| BridgeError::Link(e.to_string()))?;
                Ok(tokio_modbus::client::tcp::attach(stream))
            }
            Endpoint::Rtu { device, baud, parity, stop_bits } => {
                let builder = tokio_serial::new(device, *baud)
                    .data_bits(tokio_serial::DataBits::Eight)
                    .parity(match parity {
                        Parity::None => tokio_serial::Parity::None,
                        Parity::Even => tokio_serial::Parity::Even,
                        Parity::Odd => tokio_serial::Parity::Odd,
                    })
                    .stop_bits(if *stop_bits == 2 { tokio_serial::StopBits::Two } else { tokio_serial::StopBits::One });
                let port = tokio_serial::SerialStream::open(&builder)
                    .map_err(|e| BridgeError::Link(format!("open {device}: {e}")))?;
                Ok(tokio_modbus::client::rtu::attach(port))
            }
        }
    }

    /// Sends one request to `unit` and waits at most `timeout` for the answer.
    pub(crate) async fn call(
        &mut self,
        unit: u8,
        request: Request<'static>,
        timeout: Duration,
    ) -> Result<Response, BridgeError> {
        if let Some(last) = self.last_frame {
            tokio::time::sleep_until(last + self.gap).await;
        }
        let ctx = match &mut self.ctx {
            Some(ctx) => ctx,
            None => {
                let ctx = Self::connect(&self.endpoint, timeout).await;
                self.last_frame = Some(Instant::now());
                self.ctx.insert(ctx?)
            }
        };
        ctx.set_slave(Slave(unit));
        let result = tokio::time::timeout(timeout, ctx.call(request)).await;
        self.last_frame = Some(Instant::now());
        match result {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(code))) => Err(BridgeError::Exception(code)),
            Ok(Err(e)) => {
                self.ctx = None;
                Err(BridgeError::Link(e.to_string()))
            }
            Err(_) => {
                self.ctx = None;
                Err(BridgeError::Timeout(timeout))
            }
        }
    }

    /// Performs one planned read.
    pub(crate) async fn read(&mut self, unit: u8, r: &ReadRequest, timeout: Duration) -> Result<Block, BridgeError> {
        let request = match r.kind {
            Kind::Coil => Request::ReadCoils(r.start, r.count),
            Kind::DiscreteInput => Request::ReadDiscreteInputs(r.start, r.count),
            Kind::InputRegister => Request::ReadInputRegisters(r.start, r.count),
            Kind::HoldingRegister => Request::ReadHoldingRegisters(r.start, r.count),
        };
        let n = usize::from(r.count);
        let block = match self.call(unit, request, timeout).await? {
            Response::ReadCoils(b) | Response::ReadDiscreteInputs(b) if r.kind.is_bits() => Block::Bits(b),
            Response::ReadInputRegisters(w) | Response::ReadHoldingRegisters(w) if !r.kind.is_bits() => Block::Words(w),
            other => return Err(BridgeError::Unexpected(format!("{other:?} for {r:?}"))),
        };
        let len = match &block {
            Block::Bits(b) => b.len(),
            Block::Words(w) => w.len(),
        };
        if len < n {
            return Err(BridgeError::Unexpected(format!("{len} values for {r:?}")));
        }
        Ok(block)
    }

    /// Reads `requests` and decodes `points` from them. Points that cannot be decoded are left out
    /// (and logged). Stops at the first failed request.
    pub(crate) async fn read_points<'p>(
        &mut self,
        unit: u8,
        points: impl IntoIterator<Item = &'p Point>,
        requests: &[ReadRequest],
        timeout: Duration,
    ) -> Result<Vec<(String, Value)>, BridgeError> {
        let mut blocks = Vec::with_capacity(requests.len());
        for r in requests {
            blocks.push(self.read(unit, r, timeout).await?);
        }
        let mut out = Vec::new();
        for p in points {
            let Some((i, offset)) = locate(requests, p) else { continue };
            let raw = match &blocks[i] {
                Block::Bits(b) => Raw::Bits(&b[offset..]),
                Block::Words(w) => Raw::Words(&w[offset..]),
            };
            match decode(p, raw) {
                Ok(v) => out.push((p.name.clone(), v)),
                Err(e) => tracing::warn!(error = %e, "Point not decoded."),
            }
        }
        Ok(out)
    }
}

/// Reads every point of `map` once (for `bellhop grms read`), in map order.
pub async fn read_points(
    endpoint: &Endpoint,
    unit: u8,
    map: &RegisterMap,
    timeout: Duration,
) -> Result<Vec<(String, Value)>, BridgeError> {
    let requests = plan_reads(&map.points, PlanOptions::default());
    let mut link = Link::new(endpoint.clone());
    link.read_points(unit, &map.points, &requests, timeout).await
}

/// Writes one point once. Only points with `writable = true` may be written.
pub async fn write_point(
    endpoint: &Endpoint,
    unit: u8,
    map: &RegisterMap,
    name: &str,
    value: Value,
    timeout: Duration,
) -> Result<(), BridgeError> {
    let point = map.point(name).ok_or_else(|| BridgeError::UnknownPoint(name.to_string()))?;
    if !point.writable {
        return Err(BridgeError::NotWritable(name.to_string()));
    }
    let request = match encode(point, value)? {
        Encoded::Bit(b) => Request::WriteSingleCoil(point.address, b),
        Encoded::Words(w) if w.len() == 1 => Request::WriteSingleRegister(point.address, w[0]),
        Encoded::Words(w) => Request::WriteMultipleRegisters(point.address, w.into()),
    };
    Link::new(endpoint.clone()).call(unit, request, timeout).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_gap_follows_baud() {
        assert_eq!(frame_gap(9600), Duration::from_micros(4010));
        assert_eq!(frame_gap(19_200), Duration::from_micros(2005));
        assert_eq!(frame_gap(115_200), Duration::from_micros(1750));
    }
}
