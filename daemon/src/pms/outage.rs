//! The link's outage clock: down for longer than configured raises one ticket (the core keeps it to one per
//! outage, across restarts); the link's return resolves it. The link starts down, so a PMS that never connects
//! raises it too.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::PmsLink;
use crate::core::{Command, CoreHandle, PmsSignal};

/// Runs until stopped.
pub(super) async fn run(after: Duration, link: Arc<PmsLink>, core: CoreHandle, mut stopped: watch::Receiver<bool>) {
    let mut up = link.watch_up();
    loop {
        if *up.borrow_and_update() {
            // Up (at start, this also clears a ticket left from an outage before a restart).
            send(&core, PmsSignal::LinkUp).await;
            tokio::select! {
                _ = super::pms_stopped(&mut stopped) => return,
                changed = up.changed() => if changed.is_err() { return },
            }
            continue;
        }
        let expired = tokio::select! {
            _ = super::pms_stopped(&mut stopped) => return,
            changed = up.changed() => { if changed.is_err() { return } false }
            _ = tokio::time::sleep(after) => true,
        };
        if expired {
            let why = link.snapshot().last_error.unwrap_or_else(|| "it has not come up".into());
            let note = format!("The PMS link has been down for over {} s: {why}", after.as_secs());
            send(&core, PmsSignal::LinkDown { note }).await;
            tokio::select! {
                _ = super::pms_stopped(&mut stopped) => return,
                _ = up.wait_for(|u| *u) => {}
            }
        }
    }
}

async fn send(core: &CoreHandle, signal: PmsSignal) {
    let what = format!("{signal:?}");
    match core.call(|reply| Command::Pms { signal, reply }).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) | Err(error) => tracing::warn!(%error, what, "The PMS link's outage could not be recorded."),
    }
}
