//! The SLA scheduler: sleeps until the earliest SLA deadline in the store, then asks the core to handle what is
//! due. No per-ticket timers and no polling of tickets: one timer, reset whenever a commit brings an earlier
//! deadline. It also looks every [`CHECK_EVERY`] (and whenever a virtual clock is moved) so the writer can notice a
//! step of the system clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::core::{Command, CoreHandle};

/// The longest sleep: a step of the system clock is noticed within this.
pub const CHECK_EVERY: Duration = Duration::from_secs(30);

/// Starts the scheduler; it stops with `shutdown`.
pub fn start(core: CoreHandle, clock: Arc<dyn Clock>, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(run(core, clock, shutdown))
}

async fn run(core: CoreHandle, clock: Arc<dyn Clock>, mut shutdown: watch::Receiver<bool>) {
    let mut due = core.sla_due();
    let mut moved = clock.changes();
    loop {
        // Handle what is due now (the answer also updates `due`).
        match core.call(|reply| Command::SlaTick { reply }).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                // The store refused (disk full, I/O error): try again shortly rather than spin.
                tracing::warn!(%error, "SLA clocks could not be handled; trying again in a second.");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => return,
        }
        // Sleep until the earliest deadline, waking early when an earlier one is committed or the time is moved.
        loop {
            let wait = match *due.borrow_and_update() {
                Some(ms) => Duration::from_millis((ms - clock.now().as_millisecond()).max(0) as u64),
                None => CHECK_EVERY,
            };
            if wait.is_zero() {
                break;
            }
            let moved_changed = async {
                match &mut moved {
                    Some(rx) => {
                        let _ = rx.changed().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                _ = tokio::time::sleep(wait.min(CHECK_EVERY)) => break,
                changed = due.changed() => if changed.is_err() { return },
                // The time was moved (a virtual clock): look now, as after a periodic check.
                _ = moved_changed => break,
            }
        }
    }
}
