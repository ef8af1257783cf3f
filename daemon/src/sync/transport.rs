//! HTTPS to the receiver: rustls on ring (never aws-lc-rs), system roots plus an optional CA file, an optional
//! client certificate, and one HTTP/1.1 keep-alive connection that is dropped after any failure.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub use crate::config::sync::client_config;
use crate::config::sync::Endpoint;

/// The largest reply body read: an upload's reply is a few bytes, head office's configuration document at most this.
pub const MAX_REPLY_BYTES: usize = 8 * 1024 * 1024;

/// A complete reply.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The `Date` header, if any.
    pub date: Option<String>,
    /// `Retry-After` in seconds, if given as a number.
    pub retry_after: Option<u64>,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
    /// The whole body.
    pub body: Bytes,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Conn {
    sender: SendRequest<Full<Bytes>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One receiver, one connection at a time.
pub struct Client {
    endpoint: Endpoint,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    conn: Option<Conn>,
}

impl Client {
    /// A client for `endpoint`; `tls` is required for an `https` endpoint.
    pub fn new(endpoint: Endpoint, tls: Option<Arc<ClientConfig>>) -> Result<Client, String> {
        let tls = match (endpoint.tls, tls) {
            (false, _) => None,
            (true, None) => return Err("https needs a TLS configuration".into()),
            (true, Some(config)) => {
                let name = ServerName::try_from(endpoint.host.clone())
                    .map_err(|e| format!("sync.url: bad host name {}: {e}", endpoint.host))?;
                Some((TlsConnector::from(config), name))
            }
        };
        Ok(Client { endpoint, tls, conn: None })
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    async fn connect(&self) -> Result<Conn, String> {
        let tcp = TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.endpoint.authority))?;
        tcp.set_nodelay(true).ok();
        let io: Box<dyn Io> = match &self.tls {
            None => Box::new(tcp),
            Some((connector, name)) => Box::new(
                connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| format!("TLS with {}: {e}", self.endpoint.authority))?,
            ),
        };
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| format!("HTTP: {e}"))?;
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "sync connection ended");
            }
        });
        Ok(Conn { sender, task })
    }

    /// POSTs `body` with `headers` to the endpoint's path and reads the whole reply. A reused keep-alive connection
    /// that turns out to be closed is replaced once (the request is idempotent). The connection is kept only after a
    /// complete reply; dropping this future (a timeout) drops the connection.
    pub async fn post(&mut self, headers: &[(&str, String)], body: Bytes) -> Result<Reply, String> {
        let path = self.endpoint.path.clone();
        self.request(hyper::Method::POST, &path, headers, body).await
    }

    /// Sends one request to `path` on the receiver and reads the whole reply, with the same connection handling as
    /// [`Client::post`].
    pub async fn request(
        &mut self,
        method: hyper::Method,
        path: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Reply, String> {
        let reused = self.conn.take();
        let fresh_attempt = reused.is_none();
        let mut conn = match reused {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let result = match self.send(&mut conn, &method, path, headers, body.clone()).await {
            Err(Failure::BeforeReply(_)) if !fresh_attempt => {
                conn = self.connect().await?;
                self.send(&mut conn, &method, path, headers, body).await
            }
            other => other,
        };
        match result {
            Ok(reply) => {
                if !conn.sender.is_closed() {
                    self.conn = Some(conn);
                }
                Ok(reply)
            }
            Err(Failure::BeforeReply(e) | Failure::DuringReply(e)) => Err(e),
        }
    }

    async fn send(
        &self,
        conn: &mut Conn,
        method: &hyper::Method,
        path: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Reply, Failure> {
        conn.sender.ready().await.map_err(|e| Failure::BeforeReply(format!("connection: {e}")))?;
        let mut request = hyper::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, self.endpoint.authority.as_str())
            .header(hyper::header::CONTENT_LENGTH, body.len());
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request.body(Full::new(body)).map_err(|e| Failure::BeforeReply(format!("request: {e}")))?;
        let response = conn.sender.send_request(request).await.map_err(|e| Failure::BeforeReply(format!("{e}")))?;
        let status = response.status().as_u16();
        let header = |name: hyper::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let date = header(hyper::header::DATE);
        let retry_after = header(hyper::header::RETRY_AFTER).and_then(|v| v.trim().parse().ok());
        let etag = header(hyper::header::ETAG);
        let body = Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|e| Failure::DuringReply(format!("reading the reply ({status}): {e}")))?
            .to_bytes();
        Ok(Reply { status, date, retry_after, etag, body })
    }
}

enum Failure {
    /// No reply began: the connection was closed or refused the request.
    BeforeReply(String),
    /// The reply was cut or too long.
    DuringReply(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sync::SyncConfig;

    #[test]
    fn the_tls_config_uses_ring_and_reports_bad_files_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = SyncConfig::new("https://ho.example", "g", dir.path().join("s"));
        config.ca_file = Some(dir.path().join("missing.pem"));
        assert!(client_config(&config).unwrap_err().starts_with("sync.ca_file:"));
        std::fs::write(dir.path().join("empty.pem"), "").unwrap();
        config.ca_file = Some(dir.path().join("empty.pem"));
        assert!(client_config(&config).unwrap_err().contains("no PEM certificate"));
        config.ca_file = None;
        config.client_cert_file = Some(dir.path().join("c.pem"));
        config.client_key_file = Some(dir.path().join("k.pem"));
        assert!(client_config(&config).is_err());
    }
}
