//! The operator commands that do not run the daemon: `status`, `verify`, `backup`, `restore`, `token create`, and
//! the runtime for the others. Errors are one line that says what to do.

use std::path::Path;
use std::process::ExitCode;

use crate::clock::SystemClock;
use crate::core::accounts::NewToken;
use crate::store::{Reader, Store};
use crate::vocab::{Actor, Role};

/// Exit status when the data is bad (sysexits EX_DATAERR).
const EX_DATAERR: u8 = 65;
/// Exit status when the store cannot be opened (sysexits EX_IOERR).
const EX_IOERR: u8 = 74;
/// The guest data asked for does not exist (sysexits EX_NOINPUT).
const EX_NOINPUT: u8 = 66;
/// Exit status when the daemon does not answer (sysexits EX_UNAVAILABLE).
const EX_UNAVAILABLE: u8 = 69;

/// `bellhop status`: asks the running daemon at `addr` how it is.
pub fn status(addr: std::net::SocketAddr) -> ExitCode {
    let addr = match addr.ip() {
        ip if ip.is_unspecified() && addr.is_ipv4() => std::net::SocketAddr::from(([127, 0, 0, 1], addr.port())),
        ip if ip.is_unspecified() => std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    };
    let health = match get_health(addr) {
        Ok(health) => health,
        Err(error) => {
            eprintln!(
                "bellhop status: no daemon answers on {addr} ({error}); is it running? Try: systemctl status bellhop"
            );
            return ExitCode::from(EX_UNAVAILABLE);
        }
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    println!("status:   {}", text(&health["status"]));
    println!("version:  {}", text(&health["version"]));
    println!("site:     {}", text(&health["site"]));
    println!("broker:   {}", if health["mqtt"]["connected"] == true { "connected" } else { "disconnected" });
    println!(
        "journal:  last sequence {}, {} events in {} commits, {} failed commits",
        health["journal"]["last_seq"],
        health["journal"]["events"],
        health["journal"]["commits"],
        health["journal"]["failed_commits"]
    );
    let sync = &health["sync"];
    if !sync.is_null() {
        println!(
            "sync:     through sequence {}, {} events ({} s) behind, last success {}, last error {}",
            sync["cursor"],
            sync["lag_events"],
            sync["lag_seconds"],
            text(&sync["last_success_at"]),
            text(&sync["last_error"])
        );
        if !sync["alarm"].is_null() {
            println!("ALARM:    {}", text(&sync["alarm"]));
        }
    }
    let pull = &health["config_pull"];
    if !pull.is_null() {
        println!(
            "config:   head office's {} in force, last checked {}, last error {}",
            text(&pull["etag"]),
            text(&pull["checked_at"]),
            text(&pull["error"])
        );
    }
    if !health["clock_warning"].is_null() {
        println!("CLOCK:    {}", text(&health["clock_warning"]));
    }
    let pms = &health["pms"];
    if !pms.is_null() {
        println!(
            "pms:      {} since {} ({} {}), {} records in, {} out, {} skipped, {} resyncs, last error {}",
            text(&pms["state"]),
            text(&pms["since"]),
            text(&pms["mode"]),
            text(&pms["address"]),
            pms["records_in"],
            pms["records_out"],
            pms["garbage"],
            pms["resyncs"],
            text(&pms["last_error"])
        );
    }
    if health["status"] == "ok" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// GET /healthz over a plain socket, with a deadline.
fn get_health(addr: std::net::SocketAddr) -> std::io::Result<serde_json::Value> {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_secs(5);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    write!(stream, "GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let body = raw.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    serde_json::from_str(body).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// `bellhop devices list`: the inventory from the journal's projection.
pub fn list_devices(data_dir: &Path, location: Option<&str>, offline: bool) -> ExitCode {
    let online = offline.then_some(false);
    let devices = match Reader::open(data_dir).and_then(|r| r.devices().list(location, None, online)) {
        Ok(devices) => devices,
        Err(error) => {
            eprintln!("bellhop devices list: {error}");
            return ExitCode::from(EX_IOERR);
        }
    };
    println!(
        "{:<20} {:<7} {:<10} {:<10} {:<11} {:<8} {:<16} last change",
        "device", "kind", "bound", "claims", "state", "online", "model/firmware"
    );
    for d in &devices {
        println!(
            "{:<20} {:<7} {:<10} {:<10} {:<11} {:<8} {:<16} {}",
            d.id,
            d.kind,
            d.bound.as_deref().unwrap_or("-"),
            d.claim.as_deref().unwrap_or("-"),
            d.state,
            if d.online { "yes" } else { "NO" },
            format!("{} {}", d.model, d.firmware).trim(),
            d.last_seen
        );
    }
    println!("{} devices, {} offline", devices.len(), devices.iter().filter(|d| !d.online).count());
    ExitCode::SUCCESS
}

/// `bellhop devices bind`: binds a device through the same rules as the daemon, journaled with actor `cli`.
pub fn bind_device(config: &crate::config::Config, device: &str, location: &str) -> ExitCode {
    let mut store = match Store::open(&config.storage.data_dir) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("bellhop devices bind: {error}");
            return ExitCode::from(EX_IOERR);
        }
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let command = crate::core::Command::BindDevice {
        actor: Actor::Cli,
        device: device.to_owned(),
        location: location.to_owned(),
        reply,
    };
    if let Err(error) = crate::core::apply_once(&mut store, config, &SystemClock, command) {
        eprintln!("bellhop devices bind: {error}");
        return ExitCode::from(EX_IOERR);
    }
    match answer.blocking_recv() {
        Ok(Ok(d)) => {
            println!("{} is bound to {} ({}).", d.id, d.bound.as_deref().unwrap_or("-"), d.state);
            ExitCode::SUCCESS
        }
        Ok(Err(error)) => {
            eprintln!("bellhop devices bind: {error}");
            ExitCode::from(64)
        }
        Err(_) => ExitCode::FAILURE,
    }
}

/// `bellhop guest show`: the personal data held under a reference or reservation number, as JSON.
pub fn show_guest(data_dir: &std::path::Path, key: &str) -> ExitCode {
    let found = crate::store::Reader::open(data_dir).and_then(|r| r.guests().find(key));
    match found {
        Ok(guests) if guests.is_empty() => {
            eprintln!("bellhop guest show: no guest data is held for {key:?}");
            ExitCode::from(EX_NOINPUT)
        }
        Ok(guests) => {
            let views: Vec<crate::api::views::GuestDataView> = guests.into_iter().map(Into::into).collect();
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "guests": views })).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bellhop guest show: {error}");
            ExitCode::from(EX_IOERR)
        }
    }
}

/// `bellhop guest erase`: deletes the personal data held under a reference or reservation number, through the
/// same command the daemon's writer applies (journaled with actor `cli`; safe while the daemon runs).
pub fn erase_guest(config: &crate::config::Config, key: &str) -> ExitCode {
    let mut store = match Store::open(&config.storage.data_dir) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("bellhop guest erase: {error}");
            return ExitCode::from(EX_IOERR);
        }
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let command = crate::core::Command::EraseGuest { actor: crate::vocab::Actor::Cli, key: key.to_owned(), reply };
    if let Err(error) = crate::core::apply_once(&mut store, config, &SystemClock, command) {
        eprintln!("bellhop guest erase: {error}");
        return ExitCode::from(EX_IOERR);
    }
    match answer.blocking_recv() {
        Ok(Ok(erased)) => {
            println!("Erased the personal data of {}.", erased.join(", "));
            ExitCode::SUCCESS
        }
        Ok(Err(crate::core::CoreError::NotFound(what))) => {
            eprintln!("bellhop guest erase: no {what}");
            ExitCode::from(EX_NOINPUT)
        }
        Ok(Err(error)) => {
            eprintln!("bellhop guest erase: {error}");
            ExitCode::from(EX_IOERR)
        }
        Err(_) => ExitCode::FAILURE,
    }
}

/// `bellhop grms read`: reads every point of one controller once and prints it.
pub fn grms_read(config: &crate::config::Config, id: &str) -> ExitCode {
    let found = config.grms.as_ref().and_then(|g| {
        let c = g.config.controllers.iter().find(|c| c.id == id)?;
        Some((c.clone(), g.maps.get(&c.map)?.clone()))
    });
    let Some((controller, map)) = found else {
        eprintln!("bellhop grms read: {} has no [[grms.controllers]] entry with id {id:?}", config.path.display());
        return ExitCode::from(64);
    };
    let Some((endpoint, unit)) = controller.endpoint() else {
        eprintln!("bellhop grms read: {id} needs exactly one of tcp or rtu");
        return ExitCode::from(64);
    };
    let timeout = std::time::Duration::from_millis(controller.timeout_ms);
    let mut read = None;
    let code = block_on(async {
        read = Some(firmware_bridge::read_points(&endpoint, unit, &map, timeout).await);
        Ok(())
    });
    match read {
        Some(Ok(points)) => {
            println!("{id} at {} ({}, unit {unit}):", controller.location, map.model);
            for (name, value) in points {
                let unit = map.point(&name).map(|p| p.unit.as_str()).unwrap_or("");
                println!("  {name:<16} {value} {unit}");
            }
            ExitCode::SUCCESS
        }
        Some(Err(error)) => {
            eprintln!("bellhop grms read: {id} did not answer: {error}. Check the address, unit id and wiring.");
            ExitCode::from(EX_UNAVAILABLE)
        }
        None => code,
    }
}

/// `bellhop backup`: a consistent copy of the journal while the daemon runs, verified before it is kept.
pub fn backup(data_dir: &Path, to: &Path) -> ExitCode {
    use std::io::IsTerminal;
    let interactive = std::io::stderr().is_terminal();
    let mut shown = -1i64;
    let mut progress = |share: f64| {
        let percent = (share * 100.0) as i64;
        if interactive && percent != shown {
            shown = percent;
            let filled = (share * 30.0) as usize;
            eprint!("\rbacking up [{}{}] {percent:>3}%", "#".repeat(filled), "-".repeat(30 - filled));
        }
    };
    match crate::store::backup(data_dir, to, &mut progress) {
        Ok(report) => {
            eprintln!();
            println!(
                "Backed up {} events (up to sequence {}) to {}; chain verified.",
                report.events,
                report.last_seq,
                to.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            if interactive {
                eprintln!();
            }
            eprintln!("bellhop backup: {error}");
            ExitCode::from(EX_IOERR)
        }
    }
}

/// `bellhop restore`: puts a verified backup in place of the journal; the daemon must be stopped.
pub fn restore(data_dir: &Path, from: &Path) -> ExitCode {
    match crate::store::restore(data_dir, from) {
        Ok(report) => {
            println!(
                "Restored {} events (up to sequence {}) into {}; the previous journal is kept as bellhop.db.before-restore.",
                report.events,
                report.last_seq,
                data_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(error @ crate::store::StoreError::BrokenCopy { .. }) => {
            eprintln!("bellhop restore: {} is not a good backup: {error}; nothing was changed.", from.display());
            ExitCode::from(EX_DATAERR)
        }
        Err(error) => {
            eprintln!("bellhop restore: {error}; nothing was changed.");
            ExitCode::from(EX_IOERR)
        }
    }
}

/// Runs a future on a multi-threaded runtime and maps its error to a one-line message and exit status 1.
pub fn block_on(work: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bellhop: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bellhop: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `bellhop verify`: walks the chain and says where it breaks.
pub fn verify(data_dir: &Path) -> ExitCode {
    let report = match Reader::open(data_dir).and_then(|r| r.verify()) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("bellhop verify: {error}");
            return ExitCode::from(EX_IOERR);
        }
    };
    match report.broken {
        None => {
            println!("Journal OK: {} events, chain intact up to sequence {}.", report.events, report.last_seq);
            ExitCode::SUCCESS
        }
        Some(b) => {
            eprintln!("Journal BROKEN at sequence {}: {}. Events before it are intact.", b.seq, b.reason);
            ExitCode::from(EX_DATAERR)
        }
    }
}

/// Issues a token in the store at `data_dir` and returns its secret. Safe while the daemon runs: the write takes the
/// store's write lock and chains onto whatever the daemon committed last.
pub fn issue_token(data_dir: &Path, role: Role, label: &str) -> anyhow::Result<String> {
    crate::account_cli::issue(
        data_dir,
        NewToken { role, label: label.into(), owner: None, department: None, expires_at: None },
    )
}
