//! Test support for notifications: a notification provider's HTTPS endpoint (a certificate from a test CA made at
//! start) that records every request and can fail on demand, and a real SMTP server (`smtp_sink.py` on aiosmtpd)
//! that writes each mail it takes to a directory.

// Each test uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A test CA and a server certificate for 127.0.0.1 and localhost, in PEM.
pub struct TestCa {
    /// The CA certificate.
    pub ca_pem: String,
    /// The server's certificate.
    pub cert_pem: String,
    /// The server's key.
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl TestCa {
    /// Makes a CA and a server certificate signed by it.
    pub fn new() -> TestCa {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Bellhop test notification CA");
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.subject_alt_names.push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &ca).unwrap();
        TestCa {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// Writes the CA, certificate and key into `dir` and returns their paths.
    pub fn write(&self, dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let (ca, cert, key) = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"));
        std::fs::write(&ca, &self.ca_pem).unwrap();
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (ca, cert, key)
    }
}

/// What the provider does with the next connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Answer 200.
    Up,
    /// Close every connection at once, before TLS: the link is down.
    Unreachable,
    /// Answer with this status.
    Status(u16),
}

/// One request the provider answered 2xx.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// Headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The path and query.
    pub path: String,
    /// The body.
    pub body: String,
}

#[derive(Default)]
struct State {
    mode: Mutex<Option<Mode>>,
    delivered: Mutex<Vec<Delivered>>,
    refused: Mutex<u64>,
}

/// The provider's HTTPS endpoint.
pub struct Provider {
    /// Where it listens.
    pub port: u16,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Provider {
    /// Serves HTTPS with `ca`'s server certificate on a free port, starting in `mode`.
    pub async fn start(ca: &TestCa, mode: Mode) -> Provider {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ca.key_der.clone()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![ca.cert_der.clone()], key)
            .unwrap();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        *state.mode.lock().unwrap() = Some(mode);
        let task = tokio::spawn(serve(listener, acceptor, state.clone()));
        Provider { port, state, task }
    }

    /// Changes what the provider does from now on.
    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = Some(mode);
    }

    /// The requests answered 2xx so far.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.state.delivered.lock().unwrap().clone()
    }

    /// Connections dropped or requests answered with an error so far.
    pub fn refused(&self) -> u64 {
        *self.state.refused.lock().unwrap()
    }
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, state: Arc<State>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let mode = state.mode.lock().unwrap().unwrap_or(Mode::Up);
        if mode == Mode::Unreachable {
            *state.refused.lock().unwrap() += 1;
            drop(tcp);
            continue;
        }
        let (acceptor, state) = (acceptor.clone(), state.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let state = state.clone();
                async move {
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    let path = req.uri().to_string();
                    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let mode = state.mode.lock().unwrap().unwrap_or(Mode::Up);
                    let status = match mode {
                        Mode::Status(code) => code,
                        _ => 200,
                    };
                    if (200..300).contains(&status) {
                        let body = String::from_utf8_lossy(&body).into_owned();
                        state.delivered.lock().unwrap().push(Delivered { headers, path, body });
                    } else {
                        *state.refused.lock().unwrap() += 1;
                    }
                    let reply = Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(b"{}")))
                        .unwrap();
                    Ok::<_, std::convert::Infallible>(reply)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

/// The Python that has aiosmtpd: Debian's (`/usr/bin/python3`, where python3-aiosmtpd installs it) before any
/// other on the PATH.
fn python() -> &'static str {
    let has = |python: &str| {
        Command::new(python).args(["-c", "import aiosmtpd"]).status().map(|s| s.success()).unwrap_or(false)
    };
    if has("/usr/bin/python3") {
        "/usr/bin/python3"
    } else {
        assert!(has("python3"), "no python3 with aiosmtpd: run scripts/setup (python3-aiosmtpd)");
        "python3"
    }
}

/// A real SMTP server on a port, writing mails to a directory.
pub struct SmtpSink {
    child: Child,
    /// Where mails are written.
    pub dir: PathBuf,
}

impl SmtpSink {
    /// Starts `smtp_sink.py` on `port`, with STARTTLS required when a certificate and key are given.
    pub fn start(port: u16, dir: &Path, tls: Option<(&Path, &Path)>) -> SmtpSink {
        std::fs::create_dir_all(dir).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/support/smtp_sink.py");
        let mut command = Command::new(python());
        command.arg(script).arg(port.to_string()).arg(dir);
        if let Some((cert, key)) = tls {
            command.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start smtp_sink.py");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        assert_eq!(line.trim(), "READY", "the SMTP sink did not start");
        SmtpSink { child, dir: dir.to_owned() }
    }

    /// Every mail taken so far, whole.
    pub fn mails(&self) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
