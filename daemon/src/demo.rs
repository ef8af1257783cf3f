//! `bellhop demo`: a simulated property on this machine. It starts a private Mosquitto, runs the daemon on a
//! demo configuration, and lets TVs in a few dozen rooms raise requests, printing each ack as it arrives.
//!
//! The demo adopts only its own TVs: it does not use mDNS at all (its TVs speak MQTT only, and a demo must neither
//! browse nor advertise on the network it happens to run on), its TVs are bound to their rooms before it starts, and
//! any other device is quarantined (`binding = "confirm"`, `unknown = "quarantine"`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rand::Rng;
use tokio::sync::mpsc;
use tv_protocol::{AckResult, Request};

use crate::broker::LocalBroker;
use crate::sim::{start_tv, Answered, TvSpec};
use crate::vocab::{Actor, Role};
use crate::{app, cli, config};

/// Options of `bellhop demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// How many rooms have a TV.
    #[arg(long, default_value_t = 36)]
    pub rooms: u16,
    /// Requests per second, across all rooms.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Where the demo keeps its store and broker files (default: a new directory under /tmp).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: String,
}

const ITEMS: &[&str] = &["hk.towels", "hk.pillows", "hk.cleaning", "eng.ac", "eng.tv", "fnb.water", "fd.wakeup"];

/// Runs the demo until Ctrl-C or `--seconds`.
pub fn demo(args: DemoArgs) -> std::process::ExitCode {
    cli::block_on(run(args))
}

async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("bellhop-demo-{}", std::process::id())),
    };
    crate::perms::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    println!("Bellhop demo: a simulated property with {} rooms. Files in {}", args.rooms, dir.display());
    let broker = tokio::task::spawn_blocking({
        let dir = dir.join("mosquitto");
        move || LocalBroker::start(&dir)
    })
    .await??;
    println!("Mosquitto is listening on {}", broker.url());

    let http = pick_http(&args.http);
    let text = demo_config(&dir.join("data"), &broker.url(), &http, args.rooms);
    let config_path = dir.join("bellhop.toml");
    crate::perms::write_durably(&config_path, text.as_bytes())?;
    let config = config::parse(&config_path, &text).map_err(|e| anyhow::anyhow!("demo configuration: {e}"))?;
    clock_in_everyone(&config)?;
    bind_own_tvs(&config, args.rooms)?;
    let running = app::start(config).await?;
    let token = cli::issue_token(&dir.join("data"), Role::Admin, "demo")?;
    let api = format!("http://{}", running.http);
    println!();
    println!("The staff API is at {api}  (token for this demo: {token})");
    println!("  curl -s {api}/healthz");
    println!("  curl -s -H 'Authorization: Bearer {token}' '{api}/api/v1/tickets?status=open'");
    println!("  curl -s -H 'Authorization: Bearer {token}' {api}/api/v1/tickets/DEMO-1");
    println!("  curl -s -H 'Authorization: Bearer {token}' {api}/api/v1/staff");
    println!("Watch the wire:  mosquitto_sub -p {} -t 'bellhop/v1/#' -v", broker.port);
    println!("Staff handhelds: mosquitto_sub -p {} -t 'bellhop/v1/staff/+/notify' -v", broker.port);
    println!("Raise one yourself:  mosquitto_pub -p {} -q 1 -t 'bellhop/v1/loc/101/dev/tv-101/request' -m '{{\"id\":\"my-1\",\"item\":\"hk.towels\"}}'", broker.port);
    println!("Only the demo's own TVs are bound; bind a device of your own before it asks:");
    println!("  curl -s -X POST -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{{\"location\": \"101\"}}' {api}/api/v1/devices/my-tv/bind");
    println!();

    let (answers_tx, mut answers) = mpsc::unbounded_channel::<Answered>();
    let tvs: Vec<_> = (0..args.rooms)
        .map(|i| {
            let room = room_id(i);
            start_tv(
                TvSpec {
                    host: "127.0.0.1".into(),
                    port: broker.port,
                    root: "bellhop".into(),
                    location: room.clone(),
                    device: tv_id(&room),
                    retry: Duration::from_secs(2),
                    window: 1,
                },
                answers_tx.clone(),
            )
        })
        .collect();
    drop(answers_tx);

    let interval = Duration::from_secs_f64(1.0 / args.rate.clamp(0.1, 1000.0));
    let mut ticker = tokio::time::interval(interval);
    let stop_after = args.seconds.map(Duration::from_secs);
    let started = tokio::time::Instant::now();
    let mut sent = 0u64;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = ticker.tick() => {
                if stop_after.is_some_and(|d| started.elapsed() >= d) { break }
                let (tv, request) = {
                    let mut rng = rand::rng();
                    let tv = rng.random_range(0..tvs.len());
                    let item = ITEMS[rng.random_range(0..ITEMS.len())];
                    sent += 1;
                    (tv, Request { id: format!("demo-{sent}"), item: item.into(), qty: 1, note: None, lang: Some("en".into()), sent_at: None })
                };
                let _ = tvs[tv].send(request);
            }
            Some(answer) = answers.recv() => print_answer(&answer),
        }
    }
    println!("\nStopping ...");
    running.stop().await?;
    drop(broker);
    println!(
        "Stopped. The store is kept in {}; check it with: bellhop verify --data-dir {}",
        dir.display(),
        dir.join("data").display()
    );
    Ok(())
}

fn print_answer(a: &Answered) {
    let what = match a.ack.result {
        AckResult::Accepted => "accepted",
        AckResult::Duplicate => "duplicate",
        AckResult::Merged => "merged into open",
        AckResult::Rejected => "rejected",
    };
    let ticket = a.ack.ticket.as_deref().unwrap_or("-");
    let eta = a.ack.eta_s.map(|s| format!(", about {} min", s.div_ceil(60))).unwrap_or_default();
    println!("[{:>8}] {:<12} -> {what} {ticket}{eta}  ({} ms)", a.device, a.request.item, a.latency.as_millis());
}

/// Puts the demo's housekeepers and engineers on duty (journaled with actor `demo`), so tickets are assigned.
fn clock_in_everyone(config: &config::Config) -> anyhow::Result<()> {
    let mut store = crate::store::Store::open(&config.storage.data_dir)?;
    for member in config.people.staff.values().filter(|m| m.role == crate::vocab::Role::Staff) {
        let (reply, _) = tokio::sync::oneshot::channel();
        let command = crate::core::Command::SetDuty {
            actor: Actor::Demo,
            staff: member.id.clone(),
            duty: crate::vocab::Duty::On,
            reply,
        };
        crate::core::apply_once(&mut store, config, &crate::clock::SystemClock, command)?;
    }
    Ok(())
}

/// Binds the demo's own TVs to their rooms (journaled with actor `demo`): under the demo's policy nothing else is
/// bound without an installer.
fn bind_own_tvs(config: &config::Config, rooms: u16) -> anyhow::Result<()> {
    let mut store = crate::store::Store::open(&config.storage.data_dir)?;
    for i in 0..rooms {
        let room = room_id(i);
        let (reply, _) = tokio::sync::oneshot::channel();
        let command =
            crate::core::Command::BindDevice { actor: Actor::Demo, device: tv_id(&room), location: room, reply };
        crate::core::apply_once(&mut store, config, &crate::clock::SystemClock, command)?;
    }
    Ok(())
}

/// The device id of the demo's TV in `room`.
fn tv_id(room: &str) -> String {
    format!("tv-{room}")
}

fn pick_http(wanted: &str) -> String {
    if std::net::TcpListener::bind(wanted).is_ok() {
        wanted.to_owned()
    } else {
        "127.0.0.1:0".to_owned()
    }
}

fn room_id(i: u16) -> String {
    format!("{}{:02}", 1 + i / 12, 1 + i % 12)
}

fn demo_config(data_dir: &Path, broker: &str, http: &str, rooms: u16) -> String {
    let mut text = format!(
        r#"# Generated by `bellhop demo`.
[site]
code = "DEMO"
name = "Demo Hotel"
time_zone = "Europe/Lisbon"

[mqtt]
url = "{broker}"
client_id = "bellhop-demo"

[storage]
data_dir = "{data}"

[http]
listen = "{http}"

# Only the demo's own TVs (bound before it starts) may speak; anything else on its broker is quarantined, and mDNS
# is off: the demo neither browses nor advertises on the network it runs on.
[devices]
binding = "confirm"
unknown = "quarantine"

[devices.mdns]
enabled = false

[[departments]]
code = "housekeeping"
name = "Housekeeping"

[[departments]]
code = "engineering"
name = "Engineering"

[[departments]]
code = "fnb"
name = "Food and beverage"

[[departments]]
code = "front_desk"
name = "Front desk"
"#,
        data = data_dir.display()
    );
    let items = [
        ("hk.towels", "housekeeping", "housekeeping", "low", 15, "Extra towels"),
        ("hk.pillows", "housekeeping", "housekeeping", "low", 15, "Extra pillows"),
        ("hk.cleaning", "housekeeping", "housekeeping", "medium", 30, "Clean my room"),
        ("eng.ac", "engineering", "engineering", "high", 20, "Air conditioning not working"),
        ("eng.tv", "engineering", "engineering", "medium", 30, "TV problem"),
        ("fnb.water", "fnb", "fnb", "low", 10, "Bottled water"),
        ("fd.wakeup", "front_desk", "front_desk", "low", 5, "Wake-up call"),
    ];
    for (code, category, department, priority, eta, label) in items {
        text += &format!(
            "\n[[catalog]]\ncode = \"{code}\"\ncategory = \"{category}\"\ndepartment = \"{department}\"\npriority = \"{priority}\"\neta_min = {eta}\nmax_qty = 5\nlabels = {{ en = \"{label}\" }}\n"
        );
    }
    for i in 0..rooms {
        let room = room_id(i);
        text += &format!("\n[[locations]]\nid = \"{room}\"\nkind = \"room\"\nfloor = {}\n", 1 + i / 12);
    }
    text += DEMO_STAFF;
    text
}

/// Two housekeepers, an engineer, a waiter and a receptionist on duty, supervisors and a manager on shift around the clock, and short
/// escalation ladders so the demo shows escalations within minutes.
const DEMO_STAFF: &str = r#"
[[shifts]]
name = "always"
hours = "00:00-24:00"

[[staff]]
id = "ana"
name = "Ana"
departments = ["housekeeping"]
shifts = ["always"]

[[staff]]
id = "bea"
name = "Bea"
departments = ["housekeeping"]
shifts = ["always"]

[[staff]]
id = "rui"
name = "Rui"
departments = ["engineering"]
shifts = ["always"]

[[staff]]
id = "leo"
name = "Leo"
departments = ["fnb"]
shifts = ["always"]

[[staff]]
id = "eva"
name = "Eva"
departments = ["front_desk"]
shifts = ["always"]

[[staff]]
id = "sam"
name = "Sam"
role = "supervisor"
departments = ["housekeeping", "engineering", "fnb", "front_desk"]
shifts = ["always"]

[[staff]]
id = "mia"
name = "Mia"
role = "manager"
departments = ["housekeeping", "engineering", "fnb", "front_desk"]
shifts = ["always"]

[[sla]]
name = "demo"
response = "2m"
resolution = "10m"
escalation = "demo"

[[escalations]]
name = "demo"
levels = [{ after = "3m", to = "supervisor" }, { after = "10m", from = "created", to = "manager", until = "resolved" }]
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::devices::{Binding, Policy, Unknown};

    #[test]
    fn the_demo_adopts_no_device_but_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bellhop.toml");
        let text = demo_config(&dir.path().join("data"), "mqtt://127.0.0.1:1883", "127.0.0.1:0", 3);
        let config = config::parse(&path, &text).expect("the demo configuration is valid");
        assert!(!config.devices.mdns.enabled, "the demo must not browse or advertise on the network");
        assert_eq!(config.devices.policy, Policy { binding: Binding::Confirm, unknown: Unknown::Quarantine });

        // Its own TVs are bound before it starts.
        bind_own_tvs(&config, 3).unwrap();
        let reader = crate::store::Reader::open(&config.storage.data_dir).unwrap();
        let devices = reader.devices().list(None, None, None).unwrap();
        let bound: Vec<_> = devices.iter().map(|d| (d.id.as_str(), d.bound.as_deref(), d.state.as_str())).collect();
        assert_eq!(
            bound,
            [("tv-101", Some("101"), "bound"), ("tv-102", Some("102"), "bound"), ("tv-103", Some("103"), "bound")]
        );
    }
}
