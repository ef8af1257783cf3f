//! The running bridge: one task per TCP controller and one per RTU bus, polling on schedule and
//! turning readings into [`BridgeEvent`]s.
//!
//! Controllers sharing a serial device are polled one after the other by the bus task (RTU is
//! half-duplex); every other controller has its own task, so a silent one only delays itself.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{validate, ControllerConfig, Endpoint, GrmsConfig, Maps};
use crate::link::Link;
use crate::map::Point;
use crate::plan::{plan_reads, PlanOptions, ReadRequest};
use crate::rules::OnClear;
use crate::rules::{Episodes, Outcome, Rule, Snapshot};

/// What the bridge reports to the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum BridgeEvent {
    /// A rule's episode began.
    AlarmRaised {
        /// Controller id.
        controller: String,
        /// Controller location.
        location: String,
        /// Rule name.
        rule: String,
        /// Catalog item.
        item: String,
        /// Values that raised it.
        detail: String,
    },
    /// A rule's episode ended.
    AlarmCleared {
        /// Controller id.
        controller: String,
        /// Controller location.
        location: String,
        /// Rule name.
        rule: String,
        /// Catalog item.
        item: String,
        /// Ticket handling.
        on_clear: OnClear,
    },
    /// The make-up-room button was pressed.
    MakeUpRoom {
        /// Controller id.
        controller: String,
        /// Controller location.
        location: String,
    },
    /// Do-not-disturb changed.
    DoNotDisturb {
        /// Controller id.
        controller: String,
        /// Controller location.
        location: String,
        /// New state.
        on: bool,
    },
    /// The controller stopped answering (once per outage).
    ControllerOffline {
        /// Controller id.
        controller: String,
        /// Controller location.
        location: String,
        /// Last error.
        error: String,
    },
    /// The controller answers again after an outage.
    ControllerOnline {
        /// Controller id.
        controller: String,
        /// Controller location.
        location: String,
    },
}

/// Starts the bridge.
#[derive(Debug)]
pub struct Bridge;

/// Controls a running bridge. Dropping it stops the bridge too.
#[derive(Debug)]
pub struct BridgeHandle {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl BridgeHandle {
    /// Stops every task and waits for them; the event channel then closes.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Event channel capacity; polling waits when the daemon falls this far behind.
const CHANNEL_CAPACITY: usize = 1024;
/// Longest wait between attempts to reach a silent controller.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Bridge {
    /// Validates the configuration and spawns the polling tasks (call inside a tokio runtime).
    /// `rules` are applied to every controller whose map has all the points a rule reads.
    pub fn start(
        config: &GrmsConfig,
        maps: &Maps,
        rules: &[Rule],
    ) -> Result<(BridgeHandle, mpsc::Receiver<BridgeEvent>), Vec<String>> {
        validate(config, maps)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (stop, stop_rx) = watch::channel(false);
        let mut buses: BTreeMap<String, (Endpoint, Vec<Station>)> = BTreeMap::new();
        let mut tasks = Vec::new();
        let options = PlanOptions { max_gap: config.max_gap };
        for c in &config.controllers {
            let (endpoint, unit) = c.endpoint().expect("validated");
            let station = Station::new(c, unit, &maps[&c.map], rules, options, config.offline_after);
            match &endpoint {
                Endpoint::Tcp { .. } => {
                    tasks.push(tokio::spawn(run_bus(Link::new(endpoint), vec![station], tx.clone(), stop_rx.clone())))
                }
                Endpoint::Rtu { device, .. } => {
                    buses.entry(device.clone()).or_insert_with(|| (endpoint.clone(), Vec::new())).1.push(station)
                }
            }
        }
        for (_, (endpoint, stations)) in buses {
            tasks.push(tokio::spawn(run_bus(Link::new(endpoint), stations, tx.clone(), stop_rx.clone())));
        }
        Ok((BridgeHandle { stop, tasks }, rx))
    }
}

/// Backoff after `failures` consecutive failed polls: the poll interval doubled per failure,
/// capped at [`MAX_BACKOFF`] (or the poll interval, if that is longer).
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    interval.saturating_mul(factor).min(MAX_BACKOFF.max(interval))
}

struct Group {
    points: Vec<Point>,
    requests: Vec<ReadRequest>,
    interval: Duration,
    next_due: Instant,
}

/// One controller's schedule and state, owned by its bus task.
struct Station {
    id: String,
    location: String,
    unit: u8,
    timeout: Duration,
    interval: Duration,
    groups: Vec<Group>,
    snapshot: Snapshot,
    episodes: Episodes,
    offline_after: u32,
    failures: u32,
    offline: bool,
    retry_at: Option<Instant>,
}

impl Station {
    fn new(
        c: &ControllerConfig,
        unit: u8,
        map: &crate::map::RegisterMap,
        rules: &[Rule],
        options: PlanOptions,
        offline_after: u32,
    ) -> Self {
        let now = Instant::now();
        let interval = Duration::from_millis(c.poll_interval_ms);
        let mut groups: Vec<Group> = Vec::new();
        let mut group = |points: Vec<Point>, interval| {
            if !points.is_empty() {
                let requests = plan_reads(&points, options);
                groups.push(Group { points, requests, interval, next_due: now });
            }
        };
        let grouped = |p: &Point| c.poll_groups.iter().any(|g| g.points.contains(&p.name));
        group(map.points.iter().filter(|p| !grouped(p)).cloned().collect(), interval);
        for g in &c.poll_groups {
            let points = map.points.iter().filter(|p| g.points.contains(&p.name)).cloned().collect();
            group(points, Duration::from_millis(g.interval_ms));
        }
        let rules = rules.iter().filter(|r| r.points().all(|p| map.point(p).is_some())).cloned().collect();
        Station {
            id: c.id.clone(),
            location: c.location.clone(),
            unit,
            timeout: Duration::from_millis(c.timeout_ms),
            interval,
            groups,
            snapshot: Snapshot::new(),
            episodes: Episodes::new(rules, map.door_station.clone()),
            offline_after,
            failures: 0,
            offline: false,
            retry_at: None,
        }
    }

    fn next_due(&self) -> Option<Instant> {
        let due = self.groups.iter().map(|g| g.next_due).min()?;
        Some(self.retry_at.map_or(due, |r| r.max(due)))
    }

    /// Polls every due group; returns the events.
    async fn poll(&mut self, link: &mut Link) -> Vec<BridgeEvent> {
        let now = Instant::now();
        let mut failure = None;
        for g in self.groups.iter_mut().filter(|g| g.next_due <= now) {
            match link.read_points(self.unit, &g.points, &g.requests, self.timeout).await {
                Ok(values) => {
                    for p in &g.points {
                        self.snapshot.remove(&p.name);
                    }
                    self.snapshot.extend(values);
                }
                Err(e) => {
                    for p in &g.points {
                        self.snapshot.remove(&p.name);
                    }
                    if !e.device_answered() {
                        failure = Some(e);
                        break;
                    }
                    tracing::warn!(controller = %self.id, error = %e, "Controller refused a read.");
                }
            }
            g.next_due += g.interval;
            if g.next_due <= now {
                g.next_due = now + g.interval;
            }
        }
        let mut events = Vec::new();
        let (controller, location) = (self.id.clone(), self.location.clone());
        match failure {
            Some(e) => {
                self.failures = self.failures.saturating_add(1);
                self.retry_at = Some(now + backoff(self.interval, self.failures));
                tracing::debug!(controller = %self.id, error = %e, failures = self.failures, "Poll failed.");
                if self.failures >= self.offline_after && !self.offline {
                    self.offline = true;
                    tracing::warn!(controller = %self.id, error = %e, "Controller offline.");
                    events.push(BridgeEvent::ControllerOffline { controller, location, error: e.to_string() });
                    return events;
                }
            }
            None => {
                if self.offline {
                    tracing::info!(controller = %self.id, "Controller online again.");
                    events.push(BridgeEvent::ControllerOnline { controller, location });
                }
                self.offline = false;
                self.failures = 0;
                self.retry_at = None;
            }
        }
        for o in self.episodes.step(now.into_std(), &self.snapshot) {
            let (controller, location) = (self.id.clone(), self.location.clone());
            events.push(match o {
                Outcome::AlarmRaised { rule, item, detail } => {
                    BridgeEvent::AlarmRaised { controller, location, rule, item, detail }
                }
                Outcome::AlarmCleared { rule, item, on_clear } => {
                    BridgeEvent::AlarmCleared { controller, location, rule, item, on_clear }
                }
                Outcome::MakeUpRoom => BridgeEvent::MakeUpRoom { controller, location },
                Outcome::DoNotDisturb(on) => BridgeEvent::DoNotDisturb { controller, location, on },
            });
        }
        events
    }
}

async fn run_bus(
    mut link: Link,
    mut stations: Vec<Station>,
    events: mpsc::Sender<BridgeEvent>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let Some(due) = stations.iter().filter_map(Station::next_due).min() else { return };
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep_until(due) => {}
        }
        let now = Instant::now();
        for station in stations.iter_mut().filter(|s| s.next_due().is_some_and(|d| d <= now)) {
            let out = tokio::select! {
                _ = stop.changed() => return,
                out = station.poll(&mut link) => out,
            };
            for ev in out {
                tokio::select! {
                    _ = stop.changed() => return,
                    sent = events.send(ev) => if sent.is_err() { return },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = Duration::from_secs;
        let got: Vec<_> = (1..=8).map(|n| backoff(s(1), n)).collect();
        assert_eq!(got, [s(1), s(2), s(4), s(8), s(16), s(30), s(30), s(30)]);
        assert_eq!(backoff(s(1), u32::MAX), s(30));
        assert_eq!(backoff(s(60), 3), s(60));
    }
}
