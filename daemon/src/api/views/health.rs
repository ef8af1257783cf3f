//! Liveness (`/healthz`) and readiness (`/readyz`).

use serde::Serialize;
use utoipa::ToSchema;

use super::{schema, ErrorDetail};
use crate::readiness::NotReady;
use crate::sync::{PullStatus, SyncStatus};

/// Liveness and counters. Always answered 200 while the process runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    #[schema(schema_with = schema::health_status)]
    pub status: &'static str,
    /// The daemon's version.
    pub version: &'static str,
    /// The site code.
    pub site: String,
    /// The broker connection.
    pub mqtt: MqttHealth,
    /// What this daemon process committed since it started.
    pub journal: JournalHealth,
    /// The upload to head office; null without a `[sync]` section.
    pub sync: Option<SyncStatusView>,
    /// Configuration pull from head office; null when it is off.
    pub config_pull: Option<PullStatusView>,
    /// Why the gateway's clock looks wrong (before this version's release, or behind the journal); null when it
    /// looks right. Second-factor codes depend on it.
    pub clock_warning: Option<String>,
    /// The PMS link; null without a `[pms]` section.
    #[schema(value_type = Option<Object>)]
    pub pms: Option<crate::pms::PmsSnapshot>,
}

/// The broker connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct MqttHealth {
    /// Whether it is up.
    pub connected: Option<bool>,
}

/// The writer's counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct JournalHealth {
    /// The journal's last sequence number as the daemon last committed it.
    pub last_seq: u64,
    /// Transactions committed.
    pub commits: u64,
    /// Events committed.
    pub events: u64,
    /// Commits that failed.
    pub failed_commits: u64,
}

/// The uploader's status (docs/cloud-sync.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncStatusView {
    /// Highest sequence head office has acknowledged.
    pub cursor: u64,
    /// Highest sequence known to be in the journal.
    pub last_seq_seen: u64,
    /// Events not yet acknowledged.
    pub lag_events: u64,
    /// Age of the oldest unacknowledged event, in seconds.
    pub lag_seconds: u64,
    /// When head office last stored a batch.
    pub last_success_at: Option<String>,
    /// The last failure, kept after recovery.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<String>,
    /// Set while something needs a person.
    pub alarm: Option<String>,
    /// Head office's clock minus this gateway's, in seconds.
    pub clock_offset_s: Option<i64>,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
}

impl From<SyncStatus> for SyncStatusView {
    fn from(s: SyncStatus) -> SyncStatusView {
        SyncStatusView {
            cursor: s.cursor,
            last_seq_seen: s.last_seq_seen,
            lag_events: s.lag_events,
            lag_seconds: s.lag_seconds,
            last_success_at: s.last_success_at,
            last_error: s.last_error,
            last_error_at: s.last_error_at,
            alarm: s.alarm,
            clock_offset_s: s.clock_offset_s,
            consecutive_failures: s.consecutive_failures,
        }
    }
}

/// Configuration pull's status (docs/cloud-sync.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct PullStatusView {
    /// The ETag of head office's document in force.
    pub etag: Option<String>,
    /// When head office last answered.
    pub checked_at: Option<String>,
    /// Why the last pull failed or the latest document was refused.
    pub error: Option<String>,
}

impl From<PullStatus> for PullStatusView {
    fn from(s: PullStatus) -> PullStatusView {
        PullStatusView { etag: s.etag, checked_at: s.checked_at, error: s.error }
    }
}

/// The gateway can take requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyView {
    /// `ready`.
    pub status: &'static str,
}

/// The gateway cannot take requests: the error, and every reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotReadyView {
    /// `not_ready`, with every reason in words.
    pub error: ErrorDetail,
    /// `commits_failing` (the last commit failed: disk full, I/O error) and/or `broker_disconnected`.
    pub reasons: Vec<String>,
}

impl NotReadyView {
    /// The answer for these reasons.
    pub fn new(reasons: &[NotReady]) -> NotReadyView {
        let message = reasons.iter().map(|r| r.message()).collect::<Vec<_>>().join("; ");
        NotReadyView {
            error: ErrorDetail { code: "not_ready".into(), message },
            reasons: reasons.iter().map(|r| r.code().to_owned()).collect(),
        }
    }
}
