//! The HTTP server under the router: accepting connections within a limit, backing off when `accept` fails, and
//! serving each connection with hyper under the header, body and idle timeouts.

mod backoff;
mod conn;
mod io;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::timeout::RequestBodyDeadlineLayer;

use backoff::AcceptBackoff;

use crate::log_limit::LogLimit;

/// How long open connections get to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// At most one line per this for each repeated warning.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// Connections over the limit being told so at once; beyond this many they are closed without a word.
const REFUSALS_IN_FLIGHT: usize = 64;

/// The server's limits (`[http]` in the configuration).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request head must arrive within this, from connecting or from the end of the previous response.
    pub header_timeout: Duration,
    /// A request body must arrive within this, from the end of its head.
    pub body_timeout: Duration,
    /// A connection with no traffic for this long is closed (after the response in progress, if any).
    pub idle_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
}

impl From<&crate::config::Http> for Limits {
    fn from(http: &crate::config::Http) -> Limits {
        Limits {
            header_timeout: http.header_timeout,
            body_timeout: http.body_timeout,
            idle_timeout: http.idle_timeout,
            max_connections: http.max_connections as usize,
        }
    }
}

/// The connection a request came on: the client's address (for the sign-in throttle and the journal) and whether
/// it came over TLS (session cookies are then `Secure` with the `__Host-` prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address and port.
    pub peer: std::net::SocketAddr,
    /// Whether the connection is HTTPS.
    pub secure: bool,
}

impl ConnectionInfo {
    /// The connection of a request; loopback over plain HTTP when the server did not say (an embedding serving the
    /// router itself).
    pub fn of(parts: &axum::http::request::Parts) -> ConnectionInfo {
        parts
            .extensions
            .get::<ConnectionInfo>()
            .copied()
            .unwrap_or(ConnectionInfo { peer: std::net::SocketAddr::from(([127, 0, 0, 1], 0)), secure: false })
    }
}

/// Serves `router` on `listener` until `shutdown`; connections already open then finish their current request.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits, mut shutdown: watch::Receiver<bool>) {
    let service = ServiceBuilder::new()
        .layer(NormalizePathLayer::trim_trailing_slash())
        .layer(RequestBodyDeadlineLayer::new(limits.body_timeout))
        .service(router);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT));
    let (closing, closing_rx) = watch::channel(false);
    let mut backoff = AcceptBackoff::default();
    let mut warnings = LogLimit::new(WARN_EVERY);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff.reset();
                match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let info = ConnectionInfo { peer, secure: false };
                        let service = TowerToHyperService::new(service.clone().map_request(
                            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                                request.extensions_mut().insert(info);
                                request
                            },
                        ));
                        let closing = closing_rx.clone();
                        tokio::spawn(async move {
                            conn::serve(stream, service, limits, closing).await;
                            drop(slot);
                        });
                    }
                    Err(_) => {
                        if let Some(held_back) = warnings.allow("connections full", Instant::now()) {
                            tracing::warn!(
                                max_connections = limits.max_connections,
                                held_back,
                                "HTTP connection limit reached; answering new connections 503."
                            );
                        }
                        if let Ok(refusal) = refusals.clone().try_acquire_owned() {
                            tokio::spawn(async move {
                                refuse(stream).await;
                                drop(refusal);
                            });
                        }
                    }
                }
            }
            Err(error) => {
                let pause = backoff.after(&error);
                if let Some(held_back) = warnings.allow("accept failed", Instant::now()) {
                    tracing::warn!(%error, held_back, retry_in = ?pause, "Could not accept an HTTP connection.");
                }
                if let Some(pause) = pause {
                    tokio::select! {
                        _ = shutdown.wait_for(|stop| *stop) => break,
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }
    drop(listener);
    closing.send_replace(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await.is_err() {
        tracing::warn!("Some HTTP connections did not finish within {SHUTDOWN_GRACE:?}.");
    }
}

/// Tells a connection over the limit `503` in the API's JSON, then closes it, within a second.
async fn refuse(mut stream: TcpStream) {
    let body =
        crate::api::error::ApiError::unavailable("the gateway is serving as many connections as it may; try again")
            .body();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncache-control: no-store\r\n\
         connection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let answer = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await?;
        // Read what the client sent until it closes, so closing does not reset the connection under the answer.
        let mut sink = [0u8; 1024];
        while tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
}
