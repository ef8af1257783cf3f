//! The connection's socket as hyper sees it: it records when bytes last moved (for the idle timeout), and gives
//! hyper's own answers to unparseable requests (a bad request line, two different Content-Lengths, an oversize
//! head) the API's JSON error body. Hyper writes those as a bare head with `content-length: 0`; nothing the API
//! itself answers looks like that, because every API error has a body.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::api::error::ApiError;

/// When bytes last moved on a connection.
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    /// Starts now.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity { start: Instant::now(), last_ms: AtomicU64::new(0) })
    }

    fn touch(&self) {
        self.last_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// The last time bytes were read or written.
    pub fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// The socket, watched.
pub struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
    /// A rewritten answer being written: its bytes, how many are out, and the length hyper asked to write.
    replacement: Option<(Vec<u8>, usize, usize)>,
}

impl Watched {
    /// Wraps `inner`, recording into `activity`.
    pub fn new(inner: TcpStream, activity: Arc<Activity>) -> Watched {
        Watched { inner, activity, replacement: None }
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = ready!(Pin::new(&mut this.inner).poll_read(cx, buf));
        if buf.filled().len() > before {
            this.activity.touch();
        }
        Poll::Ready(result)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacement.is_none() {
            if let Some(bytes) = with_json_body(buf) {
                this.replacement = Some((bytes, 0, buf.len()));
            }
        }
        if let Some((bytes, written, claimed)) = &mut this.replacement {
            while *written < bytes.len() {
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                *written += n;
                this.activity.touch();
            }
            let claimed = *claimed;
            this.replacement = None;
            return Poll::Ready(Ok(claimed));
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        if n > 0 {
            this.activity.touch();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// When `head` is hyper's bare answer to an unparseable request (a 4xx head with `content-length: 0` and
/// nothing after it), the same answer with the JSON error body; otherwise `None`.
fn with_json_body(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let rest = text.strip_prefix("HTTP/1.1 ")?;
    let status = StatusCode::from_bytes(rest.get(..3)?.as_bytes()).ok()?;
    if !status.is_client_error() || !text.ends_with("\r\n\r\n") || text.matches("\r\n\r\n").count() != 1 {
        return None;
    }
    let mut lines = text.trim_end().split("\r\n");
    let status_line = lines.next()?;
    let headers: Vec<&str> = lines.collect();
    if !headers.iter().any(|h| h.eq_ignore_ascii_case("content-length: 0")) {
        return None;
    }
    let mut error = ApiError::for_status(status);
    error.message = match status.as_u16() {
        400 => "the request could not be parsed: a bad request line or header, or conflicting Content-Length".into(),
        414 => "the URL is too long".into(),
        431 => "the request head is too large (over 64 KiB, or over 100 headers)".into(),
        _ => error.message,
    };
    let body = error.body();
    let mut out = format!("{status_line}\r\n");
    for header in headers {
        let name = header.split(':').next().unwrap_or("").trim();
        if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("connection") {
            out.push_str(header);
            out.push_str("\r\n");
        }
    }
    out.push_str("content-type: application/json\r\ncache-control: no-store\r\nconnection: close\r\n");
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::with_json_body;

    #[test]
    fn bare_parse_error_answers_get_the_json_body() {
        let head = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 23 Nov 2026 10:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(with_json_body(head).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        assert!(head.contains("date: Mon, 23 Nov 2026"), "{out}");
        assert!(head.contains("content-type: application/json"), "{out}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{out}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "bad_request");
        let big = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(String::from_utf8(with_json_body(big).unwrap()).unwrap().contains("\"too_large\""));
    }

    #[test]
    fn the_api_answers_are_left_alone() {
        let ours = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        assert!(with_json_body(ours).is_none());
        let head_only = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n";
        assert!(with_json_body(head_only).is_none());
        assert!(with_json_body(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(with_json_body(b"{\"tickets\": []}").is_none());
    }
}
