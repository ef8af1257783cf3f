//! A head-office receiver for the tests of cloud sync, built from `docs/cloud-sync.md` (which is the contract; this
//! file is test support): HTTPS with a certificate generated at start, the refusals in the order the document gives
//! them, idempotent storage on (gateway, seq), hash-chain verification, and fault injection ("fakes"). Storage is in
//! memory.

// Each test uses a different part of this module.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ring::{digest, hmac};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Largest request body accepted (compressed and decompressed).
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Largest accepted difference between the request's timestamp and the receiver's clock.
const MAX_SKEW_S: i64 = 900;

/// A fault to inject into one request. Each queued fake applies to one request, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fake {
    /// Answer 500 without storing anything.
    Fail500,
    /// Store the batch, then answer 500 (the gateway must re-send; the re-send is a duplicate).
    StoreThenFail500,
    /// Store the batch, then wait this long before answering (longer than the gateway's timeout: a timeout).
    Slow(Duration),
    /// Read only the start of the request body, then close the connection without a reply.
    CutRequest,
    /// Store the batch, then send a reply whose body is cut short (Content-Length larger than what is sent).
    CutReply,
    /// Store the batch, then reply a `stored_through` lower than the truth (behind the gateway's cursor).
    Stale,
    /// Store the batch, then repeat the previous reply's `stored_through`.
    Duplicate,
    /// Store the batch, then reply what was replied two requests ago (replies arriving out of order).
    OutOfOrder,
    /// Store the batch, then claim 1,000 more events than stored (a misbehaving receiver).
    Overshoot,
    /// Store the batch, then answer 200 with a body that is not JSON.
    Garbage,
}

/// One stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedEvent {
    /// Sequence number.
    pub seq: u64,
    /// UTC time.
    pub at: String,
    /// Actor.
    pub actor: String,
    /// Kind.
    pub kind: String,
    /// Ticket, if any.
    pub ticket: Option<String>,
    /// The payload's raw JSON text, exactly as received (what the hash covers).
    pub payload: String,
    /// Previous hash.
    pub prev_hash: [u8; 32],
    /// Hash.
    pub hash: [u8; 32],
}

/// A refused request, for assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status sent.
    pub status: u16,
    /// The `error` text sent.
    pub error: String,
}

/// How to start a receiver.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Known gateways and their secrets.
    pub gateways: Vec<(String, Vec<u8>)>,
    /// Require a client certificate issued by the receiver's CA.
    pub require_client_cert: bool,
    /// Added to the receiver's clock in its `Date` header (to test clock-offset reporting).
    pub date_ahead_s: i64,
}

/// Events stored for one gateway, and its secret.
pub struct GatewayLog {
    secret: Vec<u8>,
    events: Vec<ReceivedEvent>,
    duplicates: u64,
}

#[derive(Deserialize)]
struct InBatch<'a> {
    gateway: String,
    #[serde(borrow)]
    events: Vec<InEvent<'a>>,
}

#[derive(Deserialize)]
struct InEvent<'a> {
    seq: u64,
    at: String,
    actor: String,
    kind: String,
    ticket: Option<String>,
    #[serde(borrow)]
    payload: &'a RawValue,
    prev_hash: String,
    hash: String,
}

/// Why a batch was refused while storing.
struct Conflict(String);

/// The journal hash: `SHA-256(prev ‖ u64be(seq) ‖ for at, actor, kind, payload: u32be(len) ‖ bytes)`.
pub fn chain_hash(prev: &[u8; 32], seq: u64, at: &str, actor: &str, kind: &str, payload: &str) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(prev);
    ctx.update(&seq.to_be_bytes());
    for field in [at, actor, kind, payload] {
        ctx.update(&(field.len() as u32).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    let mut out = [0; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn hash32(hex_text: &str) -> Option<[u8; 32]> {
    hex::decode(hex_text).ok()?.try_into().ok()
}

impl GatewayLog {
    /// The highest sequence stored contiguously from 1.
    pub fn stored_through(&self) -> u64 {
        self.events.len() as u64
    }

    /// Stores the consecutive events that extend the log: events already held must match (a re-send, ignored),
    /// the next one must chain onto the last stored hash, and anything after a gap is not stored.
    fn store(&mut self, events: Vec<InEvent<'_>>) -> Result<(), Conflict> {
        for event in events {
            let stored = self.stored_through();
            let (Some(prev_hash), Some(hash)) = (hash32(&event.prev_hash), hash32(&event.hash)) else {
                return Err(Conflict(format!("event {}: prev_hash and hash must be 64 hex digits", event.seq)));
            };
            if event.seq == 0 {
                return Err(Conflict("event 0: sequences start at 1".into()));
            }
            if event.seq <= stored {
                if self.events[event.seq as usize - 1].hash != hash {
                    return Err(Conflict(format!("event {} differs from the one stored (hash mismatch)", event.seq)));
                }
                self.duplicates += 1;
                continue;
            }
            if event.seq > stored + 1 {
                break; // a gap: keep nothing beyond it; the reply tells the gateway where to resume
            }
            let expected_prev = self.events.last().map_or([0; 32], |e| e.hash);
            if prev_hash != expected_prev {
                return Err(Conflict(format!("event {}: prev_hash does not match event {stored}", event.seq)));
            }
            let payload = event.payload.get();
            if chain_hash(&prev_hash, event.seq, &event.at, &event.actor, &event.kind, payload) != hash {
                return Err(Conflict(format!("event {}: hash does not match its content", event.seq)));
            }
            self.events.push(ReceivedEvent {
                seq: event.seq,
                at: event.at,
                actor: event.actor,
                kind: event.kind,
                ticket: event.ticket,
                payload: payload.to_owned(),
                prev_hash,
                hash,
            });
        }
        Ok(())
    }
}

struct State {
    gateways: Mutex<HashMap<String, GatewayLog>>,
    fakes: Mutex<VecDeque<Fake>>,
    replies: Mutex<Vec<u64>>,
    refusals: Mutex<Vec<Refusal>>,
    requests: AtomicU64,
    tls_failures: AtomicU64,
    date_ahead_s: i64,
    /// Per gateway: the configuration document served at `/config` and its ETag.
    configs: Mutex<HashMap<String, (String, String)>>,
    /// Per gateway: the `/config-status` reports received.
    config_reports: Mutex<HashMap<String, Vec<serde_json::Value>>>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Generates a CA, a server certificate for `127.0.0.1` and `localhost`, and a client certificate, then serves
    /// HTTPS on `127.0.0.1` at a free port.
    pub async fn start(options: Options) -> Receiver {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Bellhop test head office CA");
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();

        let server_key = rcgen::KeyPair::generate().unwrap();
        let mut server_params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        server_params.subject_alt_names.push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
        server_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params.signed_by(&server_key, &ca).unwrap();

        let client_key = rcgen::KeyPair::generate().unwrap();
        let mut client_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params.distinguished_name.push(rcgen::DnType::CommonName, "gateway");
        client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params.signed_by(&client_key, &ca).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder =
            ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().unwrap();
        let builder = if options.require_client_cert {
            let mut roots = RootCertStore::empty();
            roots.add(ca.der().clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![server_cert.der().clone()];
        let mut tls = builder.with_single_cert(chain, key).unwrap();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(tls));

        let gateways = options
            .gateways
            .into_iter()
            .map(|(id, secret)| (id, GatewayLog { secret, events: Vec::new(), duplicates: 0 }))
            .collect();
        let state = Arc::new(State {
            gateways: Mutex::new(gateways),
            fakes: Mutex::new(VecDeque::new()),
            replies: Mutex::new(Vec::new()),
            refusals: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            tls_failures: AtomicU64::new(0),
            date_ahead_s: options.date_ahead_s,
            configs: Mutex::new(HashMap::new()),
            config_reports: Mutex::new(HashMap::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(serve(listener, acceptor, state.clone()));
        Receiver {
            addr,
            ca_pem: ca.pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            state,
            task,
        }
    }

    /// The base URL to configure as `sync.url`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA certificate (PEM) to configure as `sync.ca_file`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A client certificate (PEM) issued by the CA.
    pub fn client_cert_pem(&self) -> &str {
        &self.client_cert_pem
    }

    /// Its private key (PEM, PKCS#8).
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
    }

    /// Queues `fake` for the next `times` requests (after any already queued).
    pub fn fake(&self, fake: Fake, times: usize) {
        let mut fakes = self.state.fakes.lock().unwrap();
        fakes.extend(std::iter::repeat_n(fake, times));
    }

    /// Drops every fake still queued: head office is reachable again.
    pub fn clear_fakes(&self) {
        self.state.fakes.lock().unwrap().clear();
    }

    /// Fakes still queued.
    pub fn fakes_pending(&self) -> usize {
        self.state.fakes.lock().unwrap().len()
    }

    /// Requests received (including faked and refused ones).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// TLS handshakes that failed.
    pub fn tls_failures(&self) -> u64 {
        self.state.tls_failures.load(Ordering::SeqCst)
    }

    /// The events stored for `gateway`, in order.
    pub fn events(&self, gateway: &str) -> Vec<ReceivedEvent> {
        self.state.gateways.lock().unwrap().get(gateway).map(|g| g.events.clone()).unwrap_or_default()
    }

    /// The highest sequence stored for `gateway`.
    pub fn stored_through(&self, gateway: &str) -> u64 {
        self.state.gateways.lock().unwrap().get(gateway).map_or(0, |g| g.stored_through())
    }

    /// Re-sent events that were already stored and ignored.
    pub fn duplicates(&self, gateway: &str) -> u64 {
        self.state.gateways.lock().unwrap().get(gateway).map_or(0, |g| g.duplicates)
    }

    /// Requests refused with a 4xx, in order.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.state.refusals.lock().unwrap().clone()
    }

    /// Publishes a configuration document for a gateway; its ETag is the quoted hex SHA-256 of the text.
    pub fn set_config(&self, gateway: &str, document: &str) -> String {
        let etag = format!("\"{}\"", hex::encode(digest::digest(&digest::SHA256, document.as_bytes())));
        self.state.configs.lock().unwrap().insert(gateway.to_owned(), (etag.clone(), document.to_owned()));
        etag
    }

    /// The configuration reports a gateway has sent, oldest first.
    pub fn config_reports(&self, gateway: &str) -> Vec<serde_json::Value> {
        self.state.config_reports.lock().unwrap().get(gateway).cloned().unwrap_or_default()
    }
}

/// Checks a request's gateway, timestamp, body digest and signature; the refusal to send when they do not hold.
fn authenticate(
    state: &State,
    gateway: &str,
    method: &str,
    path: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Result<(), Box<Reply>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let secret = match state.gateways.lock().unwrap().get(gateway) {
        Some(log) => log.secret.clone(),
        None => return Err(Box::new(refuse(state, StatusCode::NOT_FOUND, format!("unknown gateway {gateway}")))),
    };
    let (timestamp, digest_header) = (header("x-bellhop-timestamp"), header("x-bellhop-content-sha256"));
    if header("x-bellhop-gateway") != gateway {
        return Err(Box::new(refuse(state, StatusCode::BAD_REQUEST, "X-Bellhop-Gateway does not match the path")));
    }
    match timestamp.parse::<jiff::Timestamp>() {
        Ok(at) if jiff::Timestamp::now().duration_since(at).as_secs().abs() <= MAX_SKEW_S => {}
        _ => return Err(Box::new(refuse(state, StatusCode::UNAUTHORIZED, "missing or stale X-Bellhop-Timestamp"))),
    }
    if hex::encode(digest::digest(&digest::SHA256, body)) != digest_header {
        return Err(Box::new(refuse(
            state,
            StatusCode::BAD_REQUEST,
            "X-Bellhop-Content-SHA256 does not match the body",
        )));
    }
    let string_to_sign = format!("{method}\n{path}\n{timestamp}\n{digest_header}");
    let tag = header("x-bellhop-signature").strip_prefix("v1=").and_then(|h| hex::decode(h).ok()).unwrap_or_default();
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
    hmac::verify(&key, string_to_sign.as_bytes(), &tag)
        .map_err(|_| Box::new(refuse(state, StatusCode::UNAUTHORIZED, "bad signature")))
}

/// `GET .../config` and `POST .../config-status`.
async fn handle_config(
    state: Arc<State>,
    req: Request<Incoming>,
    gateway: String,
    leaf: &str,
) -> Result<Reply, std::io::Error> {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let headers = req.headers().clone();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(refuse(&state, StatusCode::PAYLOAD_TOO_LARGE, "body too large or unreadable")),
    };
    if let Err(reply) = authenticate(&state, &gateway, &method, &path, &headers, &body) {
        return Ok(*reply);
    }
    match (method.as_str(), leaf) {
        ("GET", "config") => {
            let Some((etag, document)) = state.configs.lock().unwrap().get(&gateway).cloned() else {
                return Ok(refuse(&state, StatusCode::NOT_FOUND, "no configuration for this gateway"));
            };
            let unchanged = headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str());
            let reply = Response::builder().header("etag", etag.as_str());
            Ok(if unchanged {
                reply.status(StatusCode::NOT_MODIFIED).body(ReplyBody::Whole(Full::new(Bytes::new()))).unwrap()
            } else {
                reply
                    .status(StatusCode::OK)
                    .header("content-type", "application/toml")
                    .body(ReplyBody::Whole(Full::new(Bytes::from(document))))
                    .unwrap()
            })
        }
        ("POST", "config-status") => match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(report) => {
                state.config_reports.lock().unwrap().entry(gateway).or_default().push(report);
                Ok(json(&state, StatusCode::OK, serde_json::json!({})))
            }
            Err(_) => Ok(refuse(&state, StatusCode::BAD_REQUEST, "the report is not JSON")),
        },
        _ => Ok(refuse(&state, StatusCode::METHOD_NOT_ALLOWED, "GET config or POST config-status")),
    }
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, state: Arc<State>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let (acceptor, state) = (acceptor.clone(), state.clone());
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(_) => {
                    state.tls_failures.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            };
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

type Reply = Response<ReplyBody>;

/// A reply body: whole, or cut after some bytes (for [`Fake::CutReply`]).
pub enum ReplyBody {
    /// The whole body.
    Whole(Full<Bytes>),
    /// Sends these bytes, then fails, so the connection is closed before Content-Length is reached.
    Cut(Option<Bytes>),
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            ReplyBody::Whole(full) => Pin::new(full).poll_frame(cx).map_err(|never| match never {}),
            ReplyBody::Cut(part) => match part.take() {
                Some(bytes) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                None => Poll::Ready(Some(Err(std::io::Error::other("fake: reply cut")))),
            },
        }
    }
}

fn json(state: &State, status: StatusCode, value: serde_json::Value) -> Reply {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(state.date_ahead_s);
    let date = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&at).unwrap();
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("date", date)
        .body(ReplyBody::Whole(Full::new(Bytes::from(value.to_string()))))
        .unwrap()
}

fn refuse(state: &State, status: StatusCode, error: impl Into<String>) -> Reply {
    let error = error.into();
    if status.is_client_error() {
        state.refusals.lock().unwrap().push(Refusal { status: status.as_u16(), error: error.clone() });
    }
    json(state, status, serde_json::json!({ "error": error }))
}

/// Handles one request. Order: route, gateway, timestamp, body digest, signature, decompress, parse, store.
async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, std::io::Error> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_owned();
    // Configuration requests are never faked: the fakes are for the upload path.
    for leaf in ["config", "config-status"] {
        let suffix = format!("/{leaf}");
        if let Some(gateway) = path.strip_prefix("/v1/gateways/").and_then(|rest| rest.strip_suffix(suffix.as_str())) {
            return handle_config(state.clone(), req, gateway.to_owned(), leaf).await;
        }
    }
    let fake = state.fakes.lock().unwrap().pop_front();
    let Some(gateway) = path.strip_prefix("/v1/gateways/").and_then(|rest| rest.strip_suffix("/events")) else {
        return Ok(refuse(&state, StatusCode::NOT_FOUND, "no such endpoint"));
    };
    let gateway = gateway.to_owned();
    if req.method() != hyper::Method::POST {
        return Ok(refuse(&state, StatusCode::METHOD_NOT_ALLOWED, "POST only"));
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (gateway_header, timestamp, digest_header, signature, encoding) = (
        header("x-bellhop-gateway"),
        header("x-bellhop-timestamp"),
        header("x-bellhop-content-sha256"),
        header("x-bellhop-signature"),
        header("content-encoding"),
    );
    let mut body = req.into_body();
    if fake == Some(Fake::CutRequest) {
        let _ = body.frame().await;
        return Err(std::io::Error::other("fake: connection cut mid-request"));
    }
    let raw = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(refuse(&state, StatusCode::PAYLOAD_TOO_LARGE, "body too large or unreadable")),
    };

    let secret = match state.gateways.lock().unwrap().get(&gateway) {
        Some(log) => log.secret.clone(),
        None => return Ok(refuse(&state, StatusCode::NOT_FOUND, format!("unknown gateway {gateway}"))),
    };
    if gateway_header != gateway {
        return Ok(refuse(&state, StatusCode::BAD_REQUEST, "X-Bellhop-Gateway does not match the path"));
    }
    match timestamp.parse::<jiff::Timestamp>() {
        Ok(at) if jiff::Timestamp::now().duration_since(at).as_secs().abs() <= MAX_SKEW_S => {}
        Ok(_) => return Ok(refuse(&state, StatusCode::UNAUTHORIZED, "timestamp too far from the receiver's clock")),
        Err(_) => return Ok(refuse(&state, StatusCode::UNAUTHORIZED, "missing or malformed X-Bellhop-Timestamp")),
    }
    if hex::encode(digest::digest(&digest::SHA256, &raw)) != digest_header {
        return Ok(refuse(&state, StatusCode::BAD_REQUEST, "X-Bellhop-Content-SHA256 does not match the body"));
    }
    let string_to_sign = format!("POST\n{path}\n{timestamp}\n{digest_header}");
    let tag = signature.strip_prefix("v1=").and_then(|h| hex::decode(h).ok()).unwrap_or_default();
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
    if hmac::verify(&key, string_to_sign.as_bytes(), &tag).is_err() {
        return Ok(refuse(&state, StatusCode::UNAUTHORIZED, "bad signature"));
    }

    if fake == Some(Fake::Fail500) {
        return Ok(json(&state, StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({"error": "fake: failure"})));
    }
    let text = match encoding.as_str() {
        "gzip" => {
            let mut out = Vec::new();
            let reader = std::io::Read::take(flate2::read::GzDecoder::new(&raw[..]), MAX_BODY as u64 + 1);
            if std::io::copy(&mut std::io::BufReader::new(reader), &mut out).is_err() || out.len() > MAX_BODY {
                return Ok(refuse(&state, StatusCode::BAD_REQUEST, "body is not valid gzip or too large"));
            }
            out
        }
        "" | "identity" => raw.to_vec(),
        other => return Ok(refuse(&state, StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("encoding {other}"))),
    };
    let batch: InBatch<'_> = match serde_json::from_slice(&text) {
        Ok(batch) => batch,
        Err(e) => return Ok(refuse(&state, StatusCode::BAD_REQUEST, format!("bad batch: {e}"))),
    };
    if batch.gateway != gateway {
        return Ok(refuse(&state, StatusCode::BAD_REQUEST, "batch.gateway does not match the path"));
    }
    if batch.events.is_empty() {
        return Ok(refuse(&state, StatusCode::BAD_REQUEST, "a batch holds at least one event"));
    }
    let (before, truth) = {
        let mut gateways = state.gateways.lock().unwrap();
        let log = gateways.get_mut(&gateway).expect("checked above");
        let before = log.stored_through();
        if let Err(Conflict(error)) = log.store(batch.events) {
            drop(gateways);
            return Ok(refuse(&state, StatusCode::CONFLICT, error));
        }
        (before, log.stored_through())
    };

    let reply = {
        let mut replies = state.replies.lock().unwrap();
        let value = match &fake {
            Some(Fake::Stale) => before.saturating_sub(1),
            Some(Fake::Duplicate) => replies.last().copied().unwrap_or(0),
            Some(Fake::OutOfOrder) => replies.len().checked_sub(2).map_or(0, |i| replies[i]),
            Some(Fake::Overshoot) => truth + 1000,
            _ => truth,
        };
        replies.push(value);
        value
    };
    match fake {
        Some(Fake::StoreThenFail500) => {
            Ok(json(&state, StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({"error": "fake: failure"})))
        }
        Some(Fake::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(json(&state, StatusCode::OK, serde_json::json!({ "stored_through": reply })))
        }
        Some(Fake::CutReply) => {
            let text = serde_json::json!({ "stored_through": reply }).to_string();
            let part = Bytes::copy_from_slice(&text.as_bytes()[..text.len() / 2]);
            Ok(Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("content-length", text.len() + 100)
                .body(ReplyBody::Cut(Some(part)))
                .unwrap())
        }
        Some(Fake::Garbage) => Ok(Response::builder()
            .status(StatusCode::OK)
            .body(ReplyBody::Whole(Full::new(Bytes::from_static(b"{\"stored_thr"))))
            .unwrap()),
        _ => Ok(json(&state, StatusCode::OK, serde_json::json!({ "stored_through": reply }))),
    }
}

/// Checks a list of received events as a whole: sequences 1..=n, each linked and hashed correctly.
pub fn verify_chain(events: &[ReceivedEvent]) -> Result<(), String> {
    let mut prev = [0u8; 32];
    for (i, e) in events.iter().enumerate() {
        if e.seq != i as u64 + 1 {
            return Err(format!("position {i} holds event {}", e.seq));
        }
        if e.prev_hash != prev || chain_hash(&prev, e.seq, &e.at, &e.actor, &e.kind, &e.payload) != e.hash {
            return Err(format!("event {} does not chain", e.seq));
        }
        prev = e.hash;
    }
    Ok(())
}
