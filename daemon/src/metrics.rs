//! Counters the adapters keep, and the Prometheus text exposition of them with the core's and the store's figures.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tv_protocol::{Ack, AckResult, ErrorCode};

use crate::core::CoreStats;
use crate::ticket::Status;

const RESULTS: [(AckResult, &str); 4] = [
    (AckResult::Accepted, "accepted"),
    (AckResult::Duplicate, "duplicate"),
    (AckResult::Merged, "merged"),
    (AckResult::Rejected, "rejected"),
];

/// Counters shared by the adapters.
#[derive(Debug, Default)]
pub struct Metrics {
    acks: [AtomicU64; RESULTS.len()],
    rejections: [AtomicU64; ErrorCode::ALL.len()],
    /// Room controllers currently not answering.
    pub controllers_offline: AtomicI64,
    /// Configuration reloads that were applied.
    pub reloads: AtomicU64,
    /// Configuration reloads that were refused.
    pub reload_failures: AtomicU64,
}

impl Metrics {
    /// Counts an ack that went out to a device (after its commit).
    pub fn count_ack(&self, ack: &Ack) {
        if let Some(i) = RESULTS.iter().position(|(r, _)| *r == ack.result) {
            self.acks[i].fetch_add(1, Ordering::Relaxed);
        }
        if let Some(i) = ack.error.as_ref().and_then(|e| ErrorCode::ALL.iter().position(|c| *c == e.code)) {
            self.rejections[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text format, version 0.0.4.
    pub fn render(&self, core: &CoreStats, open: &[(Status, u64)], mqtt_connected: bool) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        family(
            &mut out,
            "bellhop_device_requests_total",
            "counter",
            "Device requests and feedback answered, by result.",
        );
        for (i, (_, name)) in RESULTS.iter().enumerate() {
            let _ = writeln!(out, "bellhop_device_requests_total{{result=\"{name}\"}} {}", load(&self.acks[i]));
        }
        family(&mut out, "bellhop_device_rejections_total", "counter", "Device requests rejected, by error code.");
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            let _ = writeln!(out, "bellhop_device_rejections_total{{code=\"{code}\"}} {}", load(&self.rejections[i]));
        }
        family(&mut out, "bellhop_tickets_open", "gauge", "Open tickets, by status.");
        for status in Status::ALL.into_iter().filter(|s| s.is_open()) {
            let n = open.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "bellhop_tickets_open{{status=\"{}\"}} {n}", status.as_str());
        }
        let commits = load(&core.commits);
        let simple = [
            ("bellhop_journal_last_seq", "gauge", "The last committed journal sequence number.", load(&core.last_seq)),
            ("bellhop_commits_total", "counter", "Journal transactions committed.", commits),
            (
                "bellhop_commit_events_total",
                "counter",
                "Events committed (divide by commits for the batch size).",
                load(&core.events),
            ),
            (
                "bellhop_commit_failures_total",
                "counter",
                "Commits that failed; their commands were answered unavailable.",
                load(&core.failed_commits),
            ),
            ("bellhop_mqtt_connected", "gauge", "1 when the broker connection is up.", u64::from(mqtt_connected)),
            (
                "bellhop_grms_controllers_offline",
                "gauge",
                "Room controllers not answering.",
                self.controllers_offline.load(Ordering::Relaxed).max(0) as u64,
            ),
            ("bellhop_config_reloads_total", "counter", "Configuration reloads applied.", load(&self.reloads)),
            (
                "bellhop_config_reload_failures_total",
                "counter",
                "Configuration reloads refused.",
                load(&self.reload_failures),
            ),
        ];
        for (name, kind, help, value) in simple {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        family(&mut out, "bellhop_commit_seconds", "summary", "Time spent committing journal transactions.");
        let _ = writeln!(out, "bellhop_commit_seconds_sum {}", load(&core.commit_micros) as f64 / 1e6);
        let _ = writeln!(out, "bellhop_commit_seconds_count {commits}");
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_acks_and_rejections_by_label() {
        let metrics = Metrics::default();
        metrics.count_ack(&Ack::accepted("a", "T-1", None));
        metrics.count_ack(&Ack::rejected("b", ErrorCode::UnknownItem, "no"));
        metrics.count_ack(&Ack::rejected("c", ErrorCode::UnknownItem, "no"));
        let text = metrics.render(&CoreStats::default(), &[(Status::New, 3)], true);
        assert!(text.contains("bellhop_device_requests_total{result=\"accepted\"} 1\n"), "{text}");
        assert!(text.contains("bellhop_device_requests_total{result=\"rejected\"} 2\n"), "{text}");
        assert!(text.contains("bellhop_device_rejections_total{code=\"unknown_item\"} 2\n"), "{text}");
        assert!(text.contains("bellhop_tickets_open{status=\"new\"} 3\n"), "{text}");
        assert!(text.contains("bellhop_tickets_open{status=\"assigned\"} 0\n"), "{text}");
        assert!(text.contains("bellhop_mqtt_connected 1\n"), "{text}");
        // Every sample line belongs to a family announced with HELP and TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name.trim_end_matches("_sum").trim_end_matches("_count");
            assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
        }
    }
}
