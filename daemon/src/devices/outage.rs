//! The outage clock: wakes when a device offline since some instant is owed its offline ticket (after the grace
//! period, inside the configured hours, as `engine::outage` says) and asks the core, which decides again with the
//! writer's time and raises one ticket per outage. Outages come from the liveness events the core commits, and from
//! the store at start-up; times come from the injected clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::clock::Clock;
use crate::config::Config;
use crate::core::{Command, CoreHandle};
use crate::engine::outage;
use crate::event::EventBody;
use crate::store::ReadPool;

/// The longest sleep, so that a step of the wall clock is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Runs until shutdown.
pub async fn run(
    mut configs: watch::Receiver<Arc<Config>>,
    core: CoreHandle,
    reads: ReadPool,
    clock: Arc<dyn Clock>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut committed = core.subscribe();
    let mut moved = clock.changes();
    // Device → since when it is offline (without its ticket yet).
    let mut offline: BTreeMap<String, jiff::Timestamp> = BTreeMap::new();
    if let Ok(devices) = reads.with(|r| r.devices().list(None, None, Some(false))).await {
        for d in devices.into_iter().filter(|d| d.offline_ticket.is_none()) {
            if let Some(since) = d.offline_since.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok()) {
                offline.insert(d.id, since);
            }
        }
    }
    loop {
        let config = configs.borrow_and_update().clone();
        let rules = config.devices.outage_rules();
        let now = clock.now();
        let due: Vec<String> = offline
            .iter()
            .filter(|(_, since)| outage::is_due(**since, now, &rules, &config.site.time_zone))
            .map(|(device, _)| device.clone())
            .collect();
        for device in due {
            offline.remove(&device);
            if core.send(Command::DeviceOutage { device }).await.is_err() {
                return;
            }
        }
        let next = offline.values().map(|since| outage::due_at(*since, &rules, &config.site.time_zone)).min();
        let wait = next.map(|at| Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO).min(MAX_SLEEP));
        let batch = tokio::select! {
            biased;
            _ = stopped.changed() => break,
            batch = committed.recv() => Some(batch),
            Ok(()) = configs.changed() => None,
            _ = changed(&mut moved) => None,
            _ = sleep(wait) => None,
        };
        match batch {
            Some(Ok(batch)) => {
                for event in &batch.events {
                    if let EventBody::DeviceLiveness { device, online, .. } = &event.body {
                        if *online {
                            offline.remove(device);
                        } else {
                            let since = event.at.parse::<jiff::Timestamp>().unwrap_or_else(|_| clock.now());
                            offline.entry(device.clone()).or_insert(since);
                        }
                    }
                }
            }
            Some(Err(broadcast::error::RecvError::Lagged(missed))) => {
                tracing::warn!(missed, "The outage clock fell behind.")
            }
            Some(Err(broadcast::error::RecvError::Closed)) => break,
            None => {}
        }
    }
}

async fn sleep(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}

/// Resolves when a virtual clock moves; never for the system clock.
async fn changed(moved: &mut Option<watch::Receiver<()>>) {
    let Some(receiver) = moved else { return std::future::pending().await };
    if receiver.changed().await.is_err() {
        // The clock is gone: stop listening to it.
        *moved = None;
    }
}
