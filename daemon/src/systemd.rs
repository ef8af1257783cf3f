//! The service manager's view of the daemon: `READY=1` once listening, `WATCHDOG=1` while the writer loop answers,
//! and a one-line `STATUS=`. Every call is a no-op when not started by systemd (no `NOTIFY_SOCKET`).

use std::time::Duration;

use sd_notify::NotifyState;
use tokio::task::JoinHandle;

use crate::core::{Command, CoreHandle};

/// Tells systemd that start-up is complete.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Tells systemd that shutdown has begun.
pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("Shutting down: finishing in-flight work.")]);
}

/// Tells systemd the configuration is being reloaded, then that it is done.
pub fn reloading(done: bool, status: &str) {
    if done {
        notify(&[NotifyState::Ready, NotifyState::Status(status)]);
    } else {
        notify(&[NotifyState::Reloading, NotifyState::monotonic_usec_now().unwrap_or(NotifyState::Status(status))]);
    }
}

/// The watchdog interval systemd asks for: `WATCHDOG_USEC`, unless `WATCHDOG_PID` names another process (as in
/// libsystemd's `sd_watchdog_enabled`).
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok().filter(|&u| u > 0)?;
    match std::env::var("WATCHDOG_PID").ok().map(|p| p.parse::<u32>()) {
        Some(Ok(pid)) if pid != std::process::id() => None,
        _ => Some(Duration::from_micros(usec)),
    }
}

fn notify(state: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(false, state) {
        tracing::debug!(%error, "Could not notify the service manager.");
    }
}

/// When systemd asks for a watchdog, pings the writer at half the interval and sends `WATCHDOG=1` (with a fresh
/// `STATUS=` line from `status`) only when the writer answered in time, so a wedged core gets restarted.
pub fn watchdog(core: CoreHandle, status: impl Fn() -> String + Send + 'static) -> Option<JoinHandle<()>> {
    let period = watchdog_interval()? / 2;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            let ping = core.call(|reply| Command::Ping { reply });
            match tokio::time::timeout(period, ping).await {
                Ok(Ok(())) => notify(&[NotifyState::Watchdog, NotifyState::Status(&status())]),
                Ok(Err(_)) => return,
                Err(_) => {
                    tracing::error!("The writer did not answer within {period:?}; withholding the watchdog ping.")
                }
            }
        }
    }))
}
