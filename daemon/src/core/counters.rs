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
