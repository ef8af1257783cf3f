//! The `bellhop` command: the daemon and the operator's tools around it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bellhop::config::{self, Broker, Config};
use bellhop::{account_cli, app, cli, demo, logging};

/// Exit status for a bad configuration or command line (sysexits EX_USAGE).
const EX_USAGE: u8 = 64;

#[derive(Parser)]
#[command(
    name = "bellhop",
    version,
    about = "Service requests for a property's gateway: TVs, room controllers, staff."
)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon.
    Run {
        /// The configuration file.
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// Overrides storage.data_dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Overrides mqtt.url, e.g. mqtt://127.0.0.1:1883.
        #[arg(long)]
        mqtt: Option<String>,
        /// Overrides http.listen, e.g. 0.0.0.0:8080.
        #[arg(long)]
        http: Option<SocketAddr>,
    },
    /// Check a configuration file and report every problem with its line.
    CheckConfig {
        /// The configuration file.
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
    },
    /// Ask the running daemon how it is (its /healthz), with the address from the configuration.
    Status {
        /// The configuration file (for the HTTP address).
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// Ask this address instead, e.g. 127.0.0.1:8080.
        #[arg(long)]
        http: Option<SocketAddr>,
    },
    /// Copy the journal to a file while the daemon runs; the copy's chain is verified before it is kept.
    Backup {
        /// The data directory.
        #[arg(long, default_value = "/var/lib/bellhop")]
        data_dir: PathBuf,
        /// The backup file to create (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Replace the journal with a backup (the daemon must be stopped); the old journal is kept beside it.
    Restore {
        /// The data directory.
        #[arg(long, default_value = "/var/lib/bellhop")]
        data_dir: PathBuf,
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
    /// Check the journal's hash chain and say where it breaks.
    Verify {
        /// The data directory.
        #[arg(long, default_value = "/var/lib/bellhop")]
        data_dir: PathBuf,
    },
    /// The device inventory: list devices, bind one to a location.
    Devices {
        #[command(subcommand)]
        command: DevicesCmd,
    },
    /// Guests' personal data from the PMS link: show it (a subject access request) or erase it.
    Guest {
        #[command(subcommand)]
        command: GuestCmd,
    },
    /// Act as a TV for installers and vendors: advertise over mDNS, keep MQTT presence with a last will, and print
    /// the menu, the location's status and any acks. Runs until stopped.
    SimulateDevice(bellhop::sim::DeviceArgs),
    /// Room controllers (GRMS).
    Grms {
        #[command(subcommand)]
        command: GrmsCmd,
    },
    /// Manage API tokens: create, list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
    /// Manage people's sign-in: enrolment codes, resets, disabling, the list.
    User {
        #[command(subcommand)]
        command: UserCmd,
    },
    /// Run a simulated property: a local Mosquitto, the daemon, and TVs that raise requests.
    Demo(demo::DemoArgs),
    /// Import locations or staff from a CSV file into {data_dir}/imported.toml; nothing is imported when any row or
    /// the resulting configuration is bad. Reload the daemon afterwards (systemctl reload bellhop).
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        what: ImportWhat,
        /// The CSV file, with a header row.
        file: PathBuf,
        /// The configuration file.
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// Overrides storage.data_dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// What `bellhop import` reads.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportWhat {
    /// id,kind,building,wing,floor,class
    Locations,
    /// id,name,role,departments,skills,max_open,shifts,language (lists separated by `;`)
    Staff,
}

#[derive(Subcommand)]
enum DevicesCmd {
    /// List devices with their binding and online state.
    List {
        /// The data directory.
        #[arg(long, default_value = "/var/lib/bellhop")]
        data_dir: PathBuf,
        /// Only devices bound to (or claiming) this location.
        #[arg(long)]
        location: Option<String>,
        /// Only devices that are offline.
        #[arg(long)]
        offline: bool,
    },
    /// Bind a device to a location (confirm it, or move it); journaled with actor `cli`.
    Bind {
        /// The configuration file (for the locations and the data directory).
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// Overrides storage.data_dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The device id.
        #[arg(long)]
        device: String,
        /// The location.
        #[arg(long)]
        location: String,
    },
}

#[derive(Subcommand)]
enum GuestCmd {
    /// Print, as JSON, the personal data held under a guest reference or reservation number.
    Show {
        /// A guest reference (guest-12) or the PMS's reservation number.
        key: String,
        /// The data directory.
        #[arg(long, default_value = "/var/lib/bellhop")]
        data_dir: PathBuf,
    },
    /// Erase the personal data held under a guest reference or reservation number; journaled with actor `cli`.
    Erase {
        /// A guest reference (guest-12) or the PMS's reservation number.
        key: String,
        /// The configuration file.
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// Overrides storage.data_dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum GrmsCmd {
    /// Read every point of one controller now and print it: checks wiring, unit id and register map.
    Read {
        /// The configuration file naming the controller.
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// The controller's id, e.g. rc-101.
        #[arg(long)]
        controller: String,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token and print it (shown once; only its hash is stored).
    Create {
        /// staff, supervisor, manager, admin, analytics or installer.
        #[arg(long)]
        role: String,
        /// What the token is for (its name).
        #[arg(long, default_value = "")]
        label: String,
        /// Who it belongs to: staff:ID for a person, integration:NAME for another system.
        #[arg(long)]
        owner: Option<String>,
        /// The one department it may act in.
        #[arg(long)]
        department: Option<String>,
        /// It stops working after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// The data directory.
        #[arg(long, default_value = "/var/lib/bellhop")]
        data_dir: PathBuf,
    },
    /// List every token (never a secret): role, owner, scope, expiry, revocation.
    List {
        /// The data directory.
        #[arg(long, default_value = "/var/lib/bellhop")]
        data_dir: PathBuf,
    },
    /// Revoke a token by its id; it fails from the next request on.
    Revoke {
        /// The token's id (from `bellhop token list`).
        id: String,
        /// The data directory.
        #[arg(long, default_value = "/var/lib/bellhop")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Print a one-time enrolment code for a person on the roster, with which they set their password.
    Create {
        /// The staff id.
        id: String,
        /// The configuration file (for the roster and the data directory).
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// Overrides storage.data_dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Clear a person's password, second factor and sessions, and print a new enrolment code.
    Reset {
        /// The staff id.
        id: String,
        /// The configuration file.
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// Overrides storage.data_dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Stop a person signing in: their sessions end and the tokens they own are revoked.
    Disable {
        /// The staff id.
        id: String,
        /// The configuration file.
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// Overrides storage.data_dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Everyone on the roster with the state of their sign-in.
    List {
        /// The configuration file.
        #[arg(long, default_value = "/etc/bellhop/bellhop.toml")]
        config: PathBuf,
        /// Overrides storage.data_dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Cmd::Run { config, data_dir, mqtt, http } => {
            let config = match load(&config, data_dir, mqtt, http) {
                Ok(config) => config,
                Err(code) => return code,
            };
            logging::init(&config.log.level);
            cli::block_on(app::run(config))
        }
        Cmd::CheckConfig { config } => match config::load(&config) {
            Ok(cfg) => {
                println!(
                    "{}: OK ({} departments, {} catalog items, {} locations)",
                    config.display(),
                    cfg.departments.len(),
                    cfg.catalog.len(),
                    cfg.locations.len()
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(EX_USAGE)
            }
        },
        Cmd::Status { config, http } => {
            match http.map(Ok).unwrap_or_else(|| config::load(&config).map(|c| c.http.listen)) {
                Ok(addr) => cli::status(addr),
                Err(errors) => {
                    eprintln!("{errors}");
                    ExitCode::from(EX_USAGE)
                }
            }
        }
        Cmd::Backup { data_dir, to } => cli::backup(&data_dir, &to),
        Cmd::Restore { data_dir, from } => cli::restore(&data_dir, &from),
        Cmd::Verify { data_dir } => cli::verify(&data_dir),
        Cmd::Devices { command: DevicesCmd::List { data_dir, location, offline } } => {
            cli::list_devices(&data_dir, location.as_deref(), offline)
        }
        Cmd::Devices { command: DevicesCmd::Bind { config, data_dir, device, location } } => {
            match load(&config, data_dir, None, None) {
                Ok(config) => cli::bind_device(&config, &device, &location),
                Err(code) => code,
            }
        }
        Cmd::Guest { command: GuestCmd::Show { key, data_dir } } => cli::show_guest(&data_dir, &key),
        Cmd::Guest { command: GuestCmd::Erase { key, config, data_dir } } => {
            match load(&config, data_dir, None, None) {
                Ok(config) => cli::erase_guest(&config, &key),
                Err(code) => code,
            }
        }
        Cmd::SimulateDevice(args) => {
            logging::init("warn");
            cli::block_on(bellhop::sim::simulate_device(args))
        }
        Cmd::Grms { command: GrmsCmd::Read { config, controller } } => match config::load(&config) {
            Ok(config) => cli::grms_read(&config, &controller),
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(EX_USAGE)
            }
        },
        Cmd::Token { command: TokenCmd::Create { role, label, owner, department, expires_in_days, data_dir } } => {
            account_cli::token_create(&data_dir, &role, &label, owner, department, expires_in_days)
        }
        Cmd::Token { command: TokenCmd::List { data_dir } } => account_cli::token_list(&data_dir),
        Cmd::Token { command: TokenCmd::Revoke { id, data_dir } } => account_cli::token_revoke(&data_dir, &id),
        Cmd::User { command } => {
            let (config, data_dir) = match &command {
                UserCmd::Create { config, data_dir, .. }
                | UserCmd::Reset { config, data_dir, .. }
                | UserCmd::Disable { config, data_dir, .. }
                | UserCmd::List { config, data_dir } => (config.clone(), data_dir.clone()),
            };
            let config = match load(&config, data_dir, None, None) {
                Ok(config) => config,
                Err(code) => return code,
            };
            match command {
                UserCmd::Create { id, .. } => account_cli::user_enrol(&config, &id, false),
                UserCmd::Reset { id, .. } => account_cli::user_enrol(&config, &id, true),
                UserCmd::Disable { id, .. } => account_cli::user_disable(&config, &id),
                UserCmd::List { .. } => account_cli::user_list(&config),
            }
        }
        Cmd::Import { what, file, config, data_dir } => {
            let kind = match what {
                ImportWhat::Locations => bellhop::import::Kind::Locations,
                ImportWhat::Staff => bellhop::import::Kind::Staff,
            };
            match bellhop::import::import(&config, data_dir.as_deref(), kind, &file) {
                Ok(count) => {
                    println!(
                        "Imported {count} {} from {}. Reload the daemon to apply: systemctl reload bellhop (or POST /api/v1/admin/reload).",
                        kind.section(),
                        file.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for error in errors {
                        eprintln!("{error}");
                    }
                    eprintln!("Nothing was imported.");
                    ExitCode::from(EX_USAGE)
                }
            }
        }
        Cmd::Demo(args) => {
            logging::init("warn");
            demo::demo(args)
        }
    }
}

/// Loads the configuration and applies command-line overrides; on error prints every problem and returns 64.
fn load(
    path: &std::path::Path,
    data_dir: Option<PathBuf>,
    mqtt: Option<String>,
    http: Option<SocketAddr>,
) -> Result<Config, ExitCode> {
    // Head office's configuration, when it has sent one, is layered over the file (see config::load_layered).
    let mut config = config::load_layered(path, data_dir.as_deref()).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(EX_USAGE)
    })?;
    if let Some(dir) = data_dir {
        config.storage.data_dir = dir;
    }
    if let Some(url) = mqtt {
        config.mqtt.broker = Broker::parse(&url).map_err(|e| {
            eprintln!("--mqtt {url}: {e}");
            ExitCode::from(EX_USAGE)
        })?;
    }
    if let Some(addr) = http {
        config.http.listen = addr;
    }
    Ok(config)
}
