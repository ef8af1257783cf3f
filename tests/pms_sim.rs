//! A PMS simulator for the end-to-end tests, written from `docs/pms.md` alone: it frames, writes and reads FIAS
//! records with its own few lines of code (never the `fias` crate), so the tests check the wire independently of
//! Bellhop's codec. It speaks raw TCP, as the PMS's side of the link, in either direction.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The PMS's end of one connection.
pub struct Pms {
    stream: TcpStream,
    pending: Vec<u8>,
    /// Every record received, in order (record text between STX and ETX).
    pub received: Vec<String>,
}

/// A listener for a daemon in client mode, on a free port.
pub fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the simulated PMS");
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

impl Pms {
    /// Waits (up to `limit`) for the daemon to connect to `listener`.
    pub fn accept(listener: &TcpListener, limit: Duration) -> Pms {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + limit;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    return Pms::over(stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the daemon did not connect to the PMS within {limit:?}");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }

    /// Connects to a daemon in server mode, retrying until `limit`.
    pub fn connect(addr: &str, limit: Duration) -> Pms {
        let deadline = Instant::now() + limit;
        loop {
            match TcpStream::connect(addr) {
                Ok(stream) => return Pms::over(stream),
                Err(e) => {
                    assert!(Instant::now() < deadline, "cannot connect to the daemon's PMS port {addr}: {e}");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    fn over(stream: TcpStream) -> Pms {
        stream.set_nodelay(true).unwrap();
        Pms { stream, pending: Vec::new(), received: Vec::new() }
    }

    /// Sends one record, framed: STX, the text, ETX.
    pub fn send(&mut self, record: &str) {
        let mut bytes = vec![0x02];
        bytes.extend(record.as_bytes());
        bytes.push(0x03);
        self.send_raw(&bytes);
    }

    /// Sends bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the daemon");
    }

    /// The next record from the daemon within `limit`; `None` on timeout, panics if the daemon closed the link.
    pub fn recv(&mut self, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(start) = self.pending.iter().position(|b| *b == 0x02) {
                if let Some(len) = self.pending[start..].iter().position(|b| *b == 0x03) {
                    let record = String::from_utf8_lossy(&self.pending[start + 1..start + len]).into_owned();
                    self.pending.drain(..start + len + 1);
                    self.received.push(record.clone());
                    return Some(record);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left.min(Duration::from_millis(200)))).unwrap();
            let mut buffer = [0u8; 1024];
            match self.stream.read(&mut buffer) {
                Ok(0) => panic!("the daemon closed the PMS link; received so far: {:?}", self.received),
                Ok(n) => self.pending.extend(&buffer[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Reads records until one of type `kind` comes (within `limit`) and returns it.
    pub fn expect(&mut self, kind: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left) {
                Some(record) if record.starts_with(&format!("{kind}|")) => return record,
                Some(_) => {}
                None => panic!("no {kind} record within {limit:?}; received: {:?}", self.received),
            }
        }
    }

    /// Whether the daemon closes the connection within `limit` (anything it sends first is kept).
    pub fn closed_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut buffer = [0u8; 1024];
        while Instant::now() < deadline {
            self.stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
            match self.stream.read(&mut buffer) {
                Ok(0) => return true,
                Ok(n) => self.pending.extend(&buffer[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return true,
            }
        }
        false
    }

    /// The PMS's side of a link start: the daemon's LS, our LS, then its LD, its LRs, LA and a resync request.
    /// Returns the record types the daemon asked for with LR.
    pub fn start_link(&mut self) -> Vec<String> {
        let limit = Duration::from_secs(10);
        self.expect("LS", limit);
        self.send("LS|DA261127|TI120000|");
        let description = self.expect("LD", limit);
        assert!(description.contains("|IF") && description.contains("|V#"), "LD without IF or V#: {description}");
        let mut wanted = Vec::new();
        loop {
            let record = self.recv(limit).expect("the daemon's link records");
            if let Some(rest) = record.strip_prefix("LR|") {
                let ri = rest.split('|').find_map(|f| f.strip_prefix("RI")).unwrap_or_default();
                wanted.push(ri.to_owned());
            } else if record.starts_with("LA|") {
                break;
            } else {
                panic!("unexpected record during the link start: {record}");
            }
        }
        self.expect("DR", limit);
        self.send("LA|");
        wanted
    }

    /// Answers a resync request: DS, one GI per record given, DE.
    pub fn resync(&mut self, check_ins: &[&str]) {
        self.send("DS|");
        for record in check_ins {
            self.send(record);
        }
        self.send("DE|");
    }
}
