//! A private Mosquitto for the demo, the tests and the benchmarks: its own config, data directory and free port.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A Mosquitto process that this process started and will stop.
pub struct LocalBroker {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// Who may connect to a [`LocalBroker`], and to what.
enum Access<'a> {
    /// Anyone, to everything.
    Open,
    /// As the packaged broker: users from a password file, topics per an ACL file.
    Secured { password_file: &'a Path, acl_file: &'a Path },
}

/// Where Debian installs Mosquitto, and whether it is there.
pub fn find_mosquitto() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/sbin/mosquitto")];
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|p| p.join("mosquitto")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// Finds Mosquitto, installing it with apt when it is missing and we are root.
pub fn ensure_mosquitto() -> anyhow::Result<PathBuf> {
    if let Some(path) = find_mosquitto() {
        return Ok(path);
    }
    if !running_as_root() {
        bail!("Mosquitto is not installed; install it with: sudo apt-get install -y mosquitto mosquitto-clients");
    }
    eprintln!("Mosquitto is not installed; installing it with apt-get ...");
    for args in [&["update", "-q"][..], &["install", "-y", "-q", "mosquitto", "mosquitto-clients"][..]] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("running apt-get")?;
        if !status.success() {
            bail!("apt-get {} failed ({status})", args.join(" "));
        }
    }
    find_mosquitto().context("apt-get finished but mosquitto is still not found")
}

/// Tries `start` on up to five free ports: another process may take a port between choosing and binding it.
fn on_a_free_port(start: impl Fn(u16) -> anyhow::Result<LocalBroker>) -> anyhow::Result<LocalBroker> {
    let mut last = None;
    for _ in 0..5 {
        match start(free_port()?) {
            Ok(broker) => return Ok(broker),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("could not start Mosquitto")))
}

/// A port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl LocalBroker {
    /// Starts Mosquitto on a free port, with persistence in `dir`.
    pub fn start(dir: &Path) -> anyhow::Result<LocalBroker> {
        LocalBroker::start_with(dir, "")
    }

    /// Like [`LocalBroker::start`], with `extra` lines appended to its configuration (a size limit, say).
    pub fn start_with(dir: &Path, extra: &str) -> anyhow::Result<LocalBroker> {
        on_a_free_port(|port| LocalBroker::start_configured(dir, port, &Access::Open, extra))
    }

    /// Starts Mosquitto on a free port with the packaged broker's access rules: no anonymous clients, users from
    /// `password_file` (made with `mosquitto_passwd`), topics per `acl_file`, and the user name as client id.
    pub fn start_secured(dir: &Path, password_file: &Path, acl_file: &Path) -> anyhow::Result<LocalBroker> {
        let access = Access::Secured { password_file, acl_file };
        on_a_free_port(|port| LocalBroker::start_configured(dir, port, &access, ""))
    }

    /// Starts Mosquitto on `port` (used to restart a broker where it was).
    pub fn start_on(dir: &Path, port: u16) -> anyhow::Result<LocalBroker> {
        LocalBroker::start_configured(dir, port, &Access::Open, "")
    }

    fn start_configured(dir: &Path, port: u16, access: &Access<'_>, extra: &str) -> anyhow::Result<LocalBroker> {
        let mosquitto = ensure_mosquitto()?;
        crate::perms::create_dir(dir)?;
        let conf = dir.join("mosquitto.conf");
        let mut file = crate::perms::create_file(&conf)?;
        writeln!(file, "listener {port} 127.0.0.1")?;
        match access {
            Access::Open => writeln!(file, "allow_anonymous true")?,
            Access::Secured { password_file, acl_file } => {
                writeln!(file, "allow_anonymous false")?;
                writeln!(file, "password_file {}", password_file.display())?;
                writeln!(file, "acl_file {}", acl_file.display())?;
                writeln!(file, "use_username_as_clientid true")?;
            }
        }
        writeln!(file, "persistence true")?;
        writeln!(file, "persistence_location {}/", dir.display())?;
        writeln!(file, "autosave_interval 1")?;
        // The gateway acks only after commit: a wide window keeps group commit fed.
        writeln!(file, "max_inflight_messages 1000")?;
        writeln!(file, "set_tcp_nodelay true")?;
        writeln!(file, "max_queued_messages 100000")?;
        writeln!(file, "log_dest file {}/mosquitto.log", dir.display())?;
        if running_as_root() {
            // Stay root so the broker can write its persistence file in our directory.
            writeln!(file, "user root")?;
        }
        writeln!(file, "{extra}")?;
        drop(file);
        let child = Command::new(mosquitto)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting mosquitto")?;
        let mut broker = LocalBroker { port, dir: dir.to_path_buf(), child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(broker);
            }
            if let Some(child) = broker.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    bail!("mosquitto exited at start ({status}); see {}/mosquitto.log", broker.dir.display());
                }
            }
            if Instant::now() > deadline {
                bail!("mosquitto did not listen on port {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The broker's URL.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Stops it gracefully (SIGTERM, which saves its persistence file) and waits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
