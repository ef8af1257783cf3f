//! The operator commands that do not run the daemon: `verify`, `token create`, and the runtime for the others.

use std::path::Path;
use std::process::ExitCode;

use crate::api::{hash_secret, new_token, Role};
use crate::clock::{Clock, SystemClock};
use crate::event::EventBody;
use crate::store::{Reader, Store, TokenRecord};

pub use crate::demo::{demo, DemoArgs};

/// Exit status when the data is bad (sysexits EX_DATAERR).
const EX_DATAERR: u8 = 65;
/// Exit status when the store cannot be opened (sysexits EX_IOERR).
const EX_IOERR: u8 = 74;

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

/// `bellhop token create`: issues a token, journals it, prints the secret once.
pub fn create_token(data_dir: &Path, role: &str, label: &str) -> ExitCode {
    let Some(role) = Role::parse(role) else {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        eprintln!("bellhop token create: unknown role {role:?}; use one of {}", roles.join(", "));
        return ExitCode::from(64);
    };
    match issue_token(data_dir, role, label) {
        Ok(secret) => {
            println!("{secret}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bellhop token create: {error:#}");
            ExitCode::from(EX_IOERR)
        }
    }
}

/// Issues a token in the store at `data_dir` and returns its secret. Safe while the daemon runs: the write takes the
/// store's write lock and chains onto whatever the daemon committed last.
pub fn issue_token(data_dir: &Path, role: Role, label: &str) -> anyhow::Result<String> {
    let (id, secret) = new_token().map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    let mut store = Store::open(data_dir)?;
    let at = SystemClock.now_rfc3339();
    let mut txn = store.begin()?;
    let record = TokenRecord { id: id.clone(), role: role.as_str().into(), label: label.into() };
    txn.tokens().insert(&record, &hash_secret(&secret), &at)?;
    txn.append(
        &at,
        "cli",
        EventBody::TokenCreated { token: id, role: record.role.clone(), label: record.label.clone() },
    )?;
    txn.commit()?;
    Ok(secret)
}
