//! The retention timer: asks the writer, shortly after start and then at the configured interval, to delete the
//! personal data of guests who checked out longer ago than `pms.retain_days` (journaled as `guest_data_deleted`).

use std::time::Duration;

use tokio::sync::watch;

use crate::core::{Command, CoreHandle};

/// The first pass, a moment after start.
const FIRST: Duration = Duration::from_secs(2);

/// Runs until stopped.
pub(super) async fn run(every: Duration, core: CoreHandle, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + FIRST, every);
    loop {
        tokio::select! {
            _ = super::pms_stopped(&mut stopped) => return,
            _ = tick.tick() => {}
        }
        match core.call(|reply| Command::PruneGuests { reply }).await {
            Ok(Ok(0)) => {}
            Ok(Ok(deleted)) => tracing::info!(guests = deleted, "Deleted guest data past its retention period."),
            Ok(Err(error)) | Err(error) => tracing::warn!(%error, "Could not delete guest data past its retention."),
        }
    }
}
