//! The outage clock: a device offline for longer than the grace period (inside the configured hours) gets one
//! offline ticket. Deadlines come from the liveness events the core commits, and from the journal at start-up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::config::Config;
use crate::core::{Command, CoreHandle};
use crate::event::EventBody;
use crate::store::ReadPool;

/// Runs until shutdown.
pub async fn run(
    configs: watch::Receiver<Arc<Config>>,
    core: CoreHandle,
    reads: ReadPool,
    mut stopped: watch::Receiver<bool>,
) {
    let mut committed = core.subscribe();
    // Device → when its grace ends.
    let mut due: BTreeMap<String, Instant> = BTreeMap::new();
    let grace = || configs.borrow().devices.offline_grace;
    if let Ok(devices) = reads.with(|r| r.devices().list(None, None, Some(false))).await {
        for d in devices.into_iter().filter(|d| d.offline_ticket.is_none() && d.offline_since.is_some()) {
            let since = d.offline_since.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok());
            let elapsed = since.map_or(Duration::ZERO, |s| {
                Duration::from_secs(jiff::Timestamp::now().as_second().saturating_sub(s.as_second()).max(0) as u64)
            });
            due.insert(d.id, Instant::now() + grace().saturating_sub(elapsed));
        }
    }
    loop {
        let next = due.values().min().copied();
        let batch = tokio::select! {
            biased;
            _ = stopped.changed() => break,
            batch = committed.recv() => Some(batch),
            _ = sleep_until(next) => None,
        };
        match batch {
            Some(Ok(batch)) => {
                for event in &batch.events {
                    if let EventBody::DeviceLiveness { device, online, .. } = &event.body {
                        if *online {
                            due.remove(device);
                        } else {
                            due.entry(device.clone()).or_insert_with(|| Instant::now() + grace());
                        }
                    }
                }
            }
            Some(Err(broadcast::error::RecvError::Lagged(missed))) => {
                tracing::warn!(missed, "The outage clock fell behind.")
            }
            Some(Err(broadcast::error::RecvError::Closed)) => break,
            None => {
                let now = Instant::now();
                let config = configs.borrow().clone();
                let expired: Vec<String> = due.iter().filter(|(_, at)| **at <= now).map(|(d, _)| d.clone()).collect();
                for device in expired {
                    match wait_for_hours(&config) {
                        None => {
                            due.remove(&device);
                            if core.send(Command::DeviceOutage { device }).await.is_err() {
                                return;
                            }
                        }
                        Some(wait) => {
                            due.insert(device, now + wait);
                        }
                    }
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `None` inside the configured hours (or when there are none); otherwise how long until they begin.
fn wait_for_hours(config: &Config) -> Option<Duration> {
    let (start, end) = config.devices.offline_hours?;
    let now = jiff::Timestamp::now().to_zoned(config.site.time_zone.clone());
    until_window(now.time(), start, end)
}

/// How long from `now` until the daily window `start..end` opens (windows may cross midnight); `None` inside it.
fn until_window(now: jiff::civil::Time, start: jiff::civil::Time, end: jiff::civil::Time) -> Option<Duration> {
    let inside = if start <= end { now >= start && now < end } else { now >= start || now < end };
    if inside {
        return None;
    }
    let secs = |t: jiff::civil::Time| i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second());
    Some(Duration::from_secs((secs(start) - secs(now)).rem_euclid(86_400) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;

    #[test]
    fn windows_open_and_wait_including_across_midnight() {
        let (day_start, day_end) = (time(7, 0, 0, 0), time(23, 0, 0, 0));
        assert_eq!(until_window(time(12, 0, 0, 0), day_start, day_end), None);
        assert_eq!(until_window(time(23, 30, 0, 0), day_start, day_end), Some(Duration::from_secs(7 * 3600 + 1800)));
        assert_eq!(until_window(time(6, 0, 0, 0), day_start, day_end), Some(Duration::from_secs(3600)));
        let (night_start, night_end) = (time(22, 0, 0, 0), time(6, 0, 0, 0));
        assert_eq!(until_window(time(23, 0, 0, 0), night_start, night_end), None);
        assert_eq!(until_window(time(2, 0, 0, 0), night_start, night_end), None);
        assert_eq!(until_window(time(12, 0, 0, 0), night_start, night_end), Some(Duration::from_secs(10 * 3600)));
    }
}
