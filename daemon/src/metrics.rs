//! Counters the adapters keep, and the Prometheus text exposition of them with the core's and the store's figures.
//! The metrics and what to watch are described in `docs/metrics.md`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tv_protocol::{Ack, AckResult, ErrorCode};

use crate::config::Config;
use crate::core::{CoreStats, SlaCounters, TARGETS};
use crate::store::{Reader, StoreError};
use crate::vocab::Status;

const RESULTS: [(AckResult, &str); 4] = [
    (AckResult::Accepted, "accepted"),
    (AckResult::Duplicate, "duplicate"),
    (AckResult::Merged, "merged"),
    (AckResult::Rejected, "rejected"),
];

/// The SLA flags open tickets are counted under; `none` (tickets without a clock) only when there are some.
const FLAGS: [&str; 3] = ["green", "yellow", "red"];
/// The device kinds always reported; `unknown` is a device seen only over MQTT, which does not say its kind.
const DEVICE_KINDS: [&str; 4] = ["tv", "kiosk", "tablet", "unknown"];

/// The version and, when the build was given one (`BELLHOP_GIT_COMMIT`, set by `scripts/build-deb`), the commit.
const GIT_COMMIT: Option<&str> = option_env!("BELLHOP_GIT_COMMIT");

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

/// What `/metrics` reads from the store at each scrape: counts over the open tickets and the bound devices, both
/// small, so a scrape stays cheap however long the history.
#[derive(Clone, Debug, Default)]
pub struct StoreFigures {
    /// Open tickets by status.
    pub open_by_status: Vec<(Status, u64)>,
    /// Open tickets by department and SLA flag (`None`: no clock).
    pub open_by_department_flag: Vec<(String, Option<String>, u64)>,
    /// Bound devices by kind (empty: not advertised) and online state.
    pub devices: Vec<(String, bool, u64)>,
}

impl StoreFigures {
    /// Reads the figures on one read connection.
    pub fn read(reader: &Reader) -> Result<StoreFigures, StoreError> {
        Ok(StoreFigures {
            open_by_status: reader.tickets().open_by_status()?,
            open_by_department_flag: reader.tickets().open_by_department_and_flag()?,
            devices: reader.devices().bound_by_kind()?,
        })
    }
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
    pub fn render(&self, core: &CoreStats, store: &StoreFigures, config: &Config, mqtt_connected: bool) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        family(&mut out, "bellhop_build_info", "gauge", "Always 1; the labels say which build is running.");
        let commit = GIT_COMMIT.filter(|c| !c.is_empty()).map(|c| format!(",commit=\"{}\"", escape(c)));
        let _ = writeln!(
            out,
            "bellhop_build_info{{version=\"{}\"{}}} 1",
            env!("CARGO_PKG_VERSION"),
            commit.unwrap_or_default()
        );
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
            let n = store.open_by_status.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "bellhop_tickets_open{{status=\"{}\"}} {n}", status.as_str());
        }
        render_sla(&mut out, &core.sla, store, config);
        render_devices(&mut out, store);
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

/// Open tickets by department and flag (every configured department with each flag, zeros included, so alerts see
/// a series from the start), then breaches by target and escalations by level (every level some ladder has).
fn render_sla(out: &mut String, counters: &SlaCounters, store: &StoreFigures, config: &Config) {
    family(
        out,
        "bellhop_tickets_open_by_sla",
        "gauge",
        "Open tickets, by department and SLA flag (none: no SLA clock).",
    );
    let mut open: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for department in &config.departments {
        for flag in FLAGS {
            open.insert((department.code.as_str(), flag), 0);
        }
    }
    for (department, flag, n) in &store.open_by_department_flag {
        *open.entry((department.as_str(), flag.as_deref().unwrap_or("none"))).or_default() += n;
    }
    for ((department, flag), n) in open {
        let _ =
            writeln!(out, "bellhop_tickets_open_by_sla{{department=\"{}\",flag=\"{flag}\"}} {n}", escape(department));
    }
    family(
        out,
        "bellhop_sla_breaches_total",
        "counter",
        "SLA targets reached before they were met, by target, since the daemon started.",
    );
    for (i, target) in TARGETS.iter().enumerate() {
        let _ = writeln!(out, "bellhop_sla_breaches_total{{target=\"{target}\"}} {}", counters.breaches(i));
    }
    family(
        out,
        "bellhop_sla_escalations_total",
        "counter",
        "Escalation levels fired, by level, since the daemon started.",
    );
    let mut escalations = counters.escalations();
    let deepest = config.policies.sla.values().map(|p| p.clock.levels.len() as u32).max().unwrap_or(0);
    for level in 1..=deepest {
        escalations.entry(level).or_default();
    }
    for (level, n) in escalations {
        let _ = writeln!(out, "bellhop_sla_escalations_total{{level=\"{level}\"}} {n}");
    }
}

/// Devices bound to a location, and those of them offline, by kind.
fn render_devices(out: &mut String, store: &StoreFigures) {
    let mut bound: BTreeMap<&str, (u64, u64)> = DEVICE_KINDS.iter().map(|k| (*k, (0, 0))).collect();
    for (kind, online, n) in &store.devices {
        let kind = if kind.is_empty() { "unknown" } else { kind.as_str() };
        let entry = bound.entry(kind).or_default();
        entry.0 += n;
        if !online {
            entry.1 += n;
        }
    }
    family(out, "bellhop_devices_bound", "gauge", "Devices bound to a location, by kind.");
    for (kind, (n, _)) in &bound {
        let _ = writeln!(out, "bellhop_devices_bound{{kind=\"{}\"}} {n}", escape(kind));
    }
    family(out, "bellhop_devices_offline", "gauge", "Devices bound to a location that are offline, by kind.");
    for (kind, (_, n)) in &bound {
        let _ = writeln!(out, "bellhop_devices_offline{{kind=\"{}\"}} {n}", escape(kind));
    }
}

/// A label value as the text format wants it: backslash, double quote and line feed escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventBody};

    fn hotel() -> Config {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/hotel.toml")).unwrap();
        crate::config::parse(std::path::Path::new("hotel.toml"), &text).unwrap()
    }

    fn event(body: EventBody) -> Event {
        Event { seq: 1, at: "2026-11-23T10:00:00.000Z".into(), actor: "system".into(), body }
    }

    #[test]
    fn counts_acks_and_rejections_by_label() {
        let metrics = Metrics::default();
        metrics.count_ack(&Ack::accepted("a", "T-1", None));
        metrics.count_ack(&Ack::rejected("b", ErrorCode::UnknownItem, "no"));
        metrics.count_ack(&Ack::rejected("c", ErrorCode::UnknownItem, "no"));
        let store = StoreFigures { open_by_status: vec![(Status::New, 3)], ..StoreFigures::default() };
        let text = metrics.render(&CoreStats::default(), &store, &hotel(), true);
        assert!(text.contains("bellhop_device_requests_total{result=\"accepted\"} 1\n"), "{text}");
        assert!(text.contains("bellhop_device_requests_total{result=\"rejected\"} 2\n"), "{text}");
        assert!(text.contains("bellhop_device_rejections_total{code=\"unknown_item\"} 2\n"), "{text}");
        assert!(text.contains("bellhop_tickets_open{status=\"new\"} 3\n"), "{text}");
        assert!(text.contains("bellhop_tickets_open{status=\"assigned\"} 0\n"), "{text}");
        assert!(text.contains("bellhop_mqtt_connected 1\n"), "{text}");
        assert!(text.contains(&format!("bellhop_build_info{{version=\"{}\"", env!("CARGO_PKG_VERSION"))), "{text}");
        assert_well_formed(&text);
    }

    #[test]
    fn sla_outcomes_open_tickets_and_devices_by_label() {
        let config = hotel();
        let core = CoreStats::default();
        core.sla.count(&[
            event(EventBody::SlaBreached {
                ticket: "H-1".into(),
                target: crate::vocab::Target::Response,
                due_at: String::new(),
            }),
            event(EventBody::TicketEscalated {
                ticket: "H-1".into(),
                level: 2,
                reason: crate::vocab::Reason::Due,
                due_at: String::new(),
                to: "manager".into(),
                recipients: vec![],
            }),
            event(EventBody::TicketEscalated {
                ticket: "H-2".into(),
                level: 2,
                reason: crate::vocab::Reason::Manual,
                due_at: String::new(),
                to: "manager".into(),
                recipients: vec![],
            }),
        ]);
        let store = StoreFigures {
            open_by_status: vec![],
            open_by_department_flag: vec![
                ("housekeeping".into(), Some("red".into()), 2),
                ("engineering".into(), None, 1),
                ("gone \"old\"".into(), Some("green".into()), 1),
            ],
            devices: vec![("tv".into(), true, 5), ("tv".into(), false, 2), (String::new(), false, 1)],
        };
        let text = Metrics::default().render(&core, &store, &config, false);
        for line in [
            "bellhop_sla_breaches_total{target=\"response\"} 1",
            "bellhop_sla_breaches_total{target=\"resolution\"} 0",
            "bellhop_sla_escalations_total{level=\"1\"} 0",
            "bellhop_sla_escalations_total{level=\"2\"} 2",
            "bellhop_tickets_open_by_sla{department=\"housekeeping\",flag=\"red\"} 2",
            "bellhop_tickets_open_by_sla{department=\"housekeeping\",flag=\"green\"} 0",
            "bellhop_tickets_open_by_sla{department=\"engineering\",flag=\"none\"} 1",
            "bellhop_tickets_open_by_sla{department=\"gone \\\"old\\\"\",flag=\"green\"} 1",
            "bellhop_devices_bound{kind=\"tv\"} 7",
            "bellhop_devices_offline{kind=\"tv\"} 2",
            "bellhop_devices_offline{kind=\"kiosk\"} 0",
            "bellhop_devices_offline{kind=\"unknown\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
        }
        // Every configured department has a series for every flag, and every level of the deepest ladder one.
        for department in &config.departments {
            for flag in FLAGS {
                let series =
                    format!("bellhop_tickets_open_by_sla{{department=\"{}\",flag=\"{flag}\"}} ", department.code);
                assert!(text.contains(&series), "{series}");
            }
        }
        let deepest = config.policies.sla.values().map(|p| p.clock.levels.len()).max().unwrap();
        assert!(deepest >= 3, "the example hotel has a ladder of three levels");
        assert!(text.contains(&format!("bellhop_sla_escalations_total{{level=\"{deepest}\"}} 0")), "{text}");
        assert_well_formed(&text);
    }

    /// Every sample line belongs to a family announced with HELP and TYPE, and every family is announced once.
    fn assert_well_formed(text: &str) {
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name.trim_end_matches("_sum").trim_end_matches("_count");
            assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
        }
        let types: Vec<_> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        let mut unique = types.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(types.len(), unique.len(), "a family announced twice");
    }
}
