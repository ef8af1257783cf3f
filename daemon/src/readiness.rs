//! Readiness, kept apart from liveness: whether the gateway can take requests now. The writer records when a
//! commit fails (and clears it when one that wrote events succeeds); the broker session says whether it is
//! connected. `GET /readyz` and the systemd status line read it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::core::CoreHandle;
use crate::mqtt::MqttLink;

/// How long a failed commit keeps the gateway not ready when nothing has been committed since. Traffic that
/// commits clears it at once; without traffic the gateway offers itself again after this long and finds out.
pub const COMMIT_FAILURE_HOLD: Duration = Duration::from_secs(30);

/// Why the gateway cannot take requests now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotReady {
    /// The last commit failed (a full disk, an I/O error) and none has succeeded since.
    CommitsFailing,
    /// The MQTT broker connection is down: devices cannot reach the gateway.
    BrokerDisconnected,
}

impl NotReady {
    /// A stable, machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            NotReady::CommitsFailing => "commits_failing",
            NotReady::BrokerDisconnected => "broker_disconnected",
        }
    }

    /// For people.
    pub fn message(self) -> &'static str {
        match self {
            NotReady::CommitsFailing => {
                "the last commit to the journal failed (is the disk full?); requests are answered unavailable"
            }
            NotReady::BrokerDisconnected => "the MQTT broker connection is down; devices cannot reach the gateway",
        }
    }
}

/// The signals readiness is made of.
#[derive(Clone)]
pub struct Readiness {
    core: CoreHandle,
    mqtt: Option<Arc<MqttLink>>,
    clock: Arc<dyn Clock>,
}

impl Readiness {
    /// Readiness from the writer's counters, the broker link (none: not checked) and the clock the writer uses.
    pub fn new(core: CoreHandle, mqtt: Option<Arc<MqttLink>>, clock: Arc<dyn Clock>) -> Readiness {
        Readiness { core, mqtt, clock }
    }

    /// Every reason the gateway cannot take requests now; empty when it can.
    pub fn check(&self) -> Vec<NotReady> {
        let failed_at = self.core.stats().commit_failed_at.load(Ordering::Relaxed);
        evaluate(failed_at, self.clock.steady(), self.mqtt.as_ref().map(|link| link.is_connected()))
    }
}

/// The reasons from the signals: when the last commit failed (steady milliseconds plus one, 0 for never or cleared),
/// the steady clock now, and whether the broker is connected (`None` when there is no broker to check).
fn evaluate(commit_failed_at: u64, steady_now: Duration, broker_connected: Option<bool>) -> Vec<NotReady> {
    let mut reasons = Vec::new();
    let now = steady_now.as_millis() as u64 + 1;
    if commit_failed_at != 0 && now.saturating_sub(commit_failed_at) < COMMIT_FAILURE_HOLD.as_millis() as u64 {
        reasons.push(NotReady::CommitsFailing);
    }
    if broker_connected == Some(false) {
        reasons.push(NotReady::BrokerDisconnected);
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_commit_holds_readiness_until_cleared_or_the_hold_passes() {
        let at = |s: u64| Duration::from_secs(s);
        let failed = at(100).as_millis() as u64 + 1;
        assert!(evaluate(0, at(100), Some(true)).is_empty());
        assert_eq!(evaluate(failed, at(100), Some(true)), [NotReady::CommitsFailing]);
        assert_eq!(evaluate(failed, at(129), Some(true)), [NotReady::CommitsFailing]);
        assert!(evaluate(failed, at(131), Some(true)).is_empty(), "the hold has passed");
        assert!(evaluate(0, at(101), None).is_empty(), "cleared by a commit that wrote events");
    }

    #[test]
    fn a_lost_broker_is_not_ready_and_both_reasons_are_given() {
        let failed = 1;
        assert_eq!(evaluate(0, Duration::ZERO, Some(false)), [NotReady::BrokerDisconnected]);
        assert_eq!(
            evaluate(failed, Duration::ZERO, Some(false)),
            [NotReady::CommitsFailing, NotReady::BrokerDisconnected]
        );
    }
}
