//! What the writer counts for monitoring from each committed batch: SLA breaches by target and escalations by
//! level. `metrics.rs` renders them; keeping them here lets the writer count without knowing about metrics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::event::{Event, EventBody};

/// The SLA targets a breach is counted under.
pub const TARGETS: [&str; 2] = ["response", "resolution"];

/// SLA breaches and escalations, counted by the writer from each batch it has committed (since the daemon started,
/// as Prometheus counters are).
#[derive(Debug, Default)]
pub struct SlaCounters {
    breaches: [AtomicU64; TARGETS.len()],
    /// Escalations by level (from 1).
    escalations: Mutex<BTreeMap<u32, u64>>,
}

impl SlaCounters {
    /// Counts the breaches and escalations among committed events.
    pub fn count(&self, events: &[Event]) {
        for event in events {
            match &event.body {
                EventBody::SlaBreached { target, .. } => {
                    if let Some(i) = TARGETS.iter().position(|t| *t == target.as_str()) {
                        self.breaches[i].fetch_add(1, Ordering::Relaxed);
                    }
                }
                EventBody::TicketEscalated { level, .. } => {
                    *self.escalations.lock().unwrap_or_else(|e| e.into_inner()).entry(*level).or_default() += 1;
                }
                _ => {}
            }
        }
    }

    /// Breaches so far of the target at `index` in [`TARGETS`].
    pub fn breaches(&self, index: usize) -> u64 {
        self.breaches[index].load(Ordering::Relaxed)
    }

    /// Escalations so far, by level.
    pub fn escalations(&self) -> BTreeMap<u32, u64> {
        self.escalations.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The channel families a notice is counted under.
pub const CHANNEL_FAMILIES: [&str; 3] = ["email", "webhook", "mqtt"];

/// Notice deliveries, failed attempts and notices given up, by channel family (`email`, `webhook`, `mqtt`), counted
/// by the writer from each committed batch.
#[derive(Debug, Default)]
pub struct NoticeCounters {
    delivered: [AtomicU64; CHANNEL_FAMILIES.len()],
    failed: [AtomicU64; CHANNEL_FAMILIES.len()],
    given_up: [AtomicU64; CHANNEL_FAMILIES.len()],
}

fn family(channel: &str) -> usize {
    match channel {
        "email" => 0,
        "mqtt" => 2,
        _ => 1,
    }
}

impl NoticeCounters {
    /// Counts the outcomes among committed events.
    pub fn count(&self, events: &[Event]) {
        for event in events {
            match &event.body {
                EventBody::NoticeDelivered { channel, .. } => {
                    self.delivered[family(channel)].fetch_add(1, Ordering::Relaxed);
                }
                EventBody::NoticeFailed { channel, retry_at, .. } => {
                    self.failed[family(channel)].fetch_add(1, Ordering::Relaxed);
                    if retry_at.is_none() {
                        self.given_up[family(channel)].fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ => {}
            }
        }
    }

    /// (delivered, failed attempts, given up) of the family at `index` in [`CHANNEL_FAMILIES`].
    pub fn get(&self, index: usize) -> (u64, u64, u64) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (load(&self.delivered[index]), load(&self.failed[index]), load(&self.given_up[index]))
    }
}
