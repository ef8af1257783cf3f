//! One connection: hyper's HTTP/1.1 with the header timeout and a bounded head, the idle timeout on top, and an
//! orderly close when the server stops.

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::io::{Activity, Watched};
use super::{Limits, SHUTDOWN_GRACE};

/// The largest request head (request line and headers); a larger one is answered 431.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves one connection until the client closes it, a timeout closes it, or the server stops.
pub async fn serve<S>(stream: TcpStream, service: S, limits: Limits, mut closing: watch::Receiver<bool>)
where
    S: HttpService<Incoming, ResBody = Body>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES + 16 * 1024);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    // Once the connection is asked to close: the time by which it must have, or it is dropped.
    let mut give_up: Option<Instant> = None;
    loop {
        let idle_at = Instant::from_std(activity.last()) + limits.idle_timeout;
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "HTTP connection ended with an error.");
                }
                return;
            }
            _ = tokio::time::sleep_until(idle_at), if give_up.is_none() => {
                if Instant::from_std(activity.last()) + limits.idle_timeout <= Instant::now() {
                    // Closes at once between requests; otherwise after the response in progress, which the body
                    // deadline bounds.
                    connection.as_mut().graceful_shutdown();
                    give_up = Some(Instant::now() + limits.body_timeout + SHUTDOWN_GRACE);
                }
            }
            _ = closing.wait_for(|c| *c), if give_up.is_none() => {
                connection.as_mut().graceful_shutdown();
                give_up = Some(Instant::now() + SHUTDOWN_GRACE);
            }
            _ = tokio::time::sleep_until(give_up.unwrap_or_else(Instant::now)), if give_up.is_some() => {
                tracing::debug!("Dropping an HTTP connection that did not close in time.");
                return;
            }
        }
    }
}
