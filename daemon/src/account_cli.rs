//! The operator commands for people and tokens: `bellhop user create|reset|disable|list` and `bellhop token
//! create|list|revoke`. They write the store the way the daemon's writer does (the same
//! [`crate::core::accounts::apply`], under the store's write lock), so they are safe while the daemon runs.

use std::path::Path;
use std::process::ExitCode;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::core::accounts::{self, account_state, enrolment_change, token_change, AccountChange, NewToken};
use crate::core::CoreError;
use crate::store::{Reader, Store};
use crate::vocab::{Actor, Role};

const EX_USAGE: u8 = 64;
const EX_DATAERR: u8 = 65;
const EX_IOERR: u8 = 74;

/// Applies `change` to the store at `data_dir` as `cli`.
fn write(data_dir: &Path, change: AccountChange) -> anyhow::Result<Result<(), CoreError>> {
    let mut store = Store::open(data_dir)?;
    let at = SystemClock.now_rfc3339();
    let mut txn = store.begin()?;
    let outcome = accounts::apply(&mut txn, &at, &Actor::Cli, change)?;
    if outcome.is_ok() {
        txn.commit()?;
    }
    Ok(outcome)
}

/// Issues a token in the store at `data_dir` and returns its secret.
pub fn issue(data_dir: &Path, token: NewToken) -> anyhow::Result<String> {
    let (secret, change) = token_change(token)?;
    write(data_dir, change)??;
    Ok(secret)
}

fn report(what: &str, outcome: anyhow::Result<Result<(), CoreError>>) -> ExitCode {
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("bellhop {what}: {error}");
            ExitCode::from(EX_DATAERR)
        }
        Err(error) => {
            eprintln!("bellhop {what}: {error:#}");
            ExitCode::from(EX_IOERR)
        }
    }
}

/// `bellhop token create`: prints the secret once.
pub fn token_create(
    data_dir: &Path,
    role: &str,
    label: &str,
    owner: Option<String>,
    department: Option<String>,
    expires_in_days: Option<u32>,
) -> ExitCode {
    let Some(role) = Role::parse(role) else {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        eprintln!("bellhop token create: unknown role {role:?}; use one of {}", roles.join(", "));
        return ExitCode::from(EX_USAGE);
    };
    if let Some(owner) = &owner {
        let valid = ["staff:", "integration:"]
            .iter()
            .any(|p| owner.strip_prefix(p).is_some_and(|n| tv_protocol::validate_id(n).is_ok()));
        if !valid {
            eprintln!("bellhop token create: --owner must be staff:ID or integration:NAME, not {owner:?}");
            return ExitCode::from(EX_USAGE);
        }
    }
    let expires_at = expires_in_days.map(|days| {
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * i64::from(days)))
            .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    });
    match issue(data_dir, NewToken { role, label: label.into(), owner, department, expires_at }) {
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

/// `bellhop token list`: every token, never a secret.
pub fn token_list(data_dir: &Path) -> ExitCode {
    let tokens = match Reader::open(data_dir).and_then(|r| r.tokens().list()) {
        Ok(tokens) => tokens,
        Err(error) => {
            eprintln!("bellhop token list: {error}");
            return ExitCode::from(EX_IOERR);
        }
    };
    println!(
        "{:<12}  {:<10}  {:<24}  {:<14}  {:<24}  {:<24}  NAME",
        "ID", "ROLE", "OWNER", "DEPARTMENT", "EXPIRES", "REVOKED"
    );
    for t in tokens {
        let dash = || "-".to_owned();
        println!(
            "{:<12}  {:<10}  {:<24}  {:<14}  {:<24}  {:<24}  {}",
            t.id,
            t.role.map_or("unknown", |r| r.as_str()),
            t.owner.unwrap_or_else(dash),
            t.department.unwrap_or_else(dash),
            t.expires_at.unwrap_or_else(dash),
            t.revoked_at.unwrap_or_else(dash),
            t.label
        );
    }
    ExitCode::SUCCESS
}

/// `bellhop token revoke`: the token fails from the next request on.
pub fn token_revoke(data_dir: &Path, id: &str) -> ExitCode {
    let code = report("token revoke", write(data_dir, AccountChange::RevokeToken { token: id.to_owned() }));
    if code == ExitCode::SUCCESS {
        println!("Token {id} revoked.");
    }
    code
}

/// `bellhop user create|reset`: prints a one-time enrolment code for a person on the roster.
pub fn user_enrol(config: &Config, id: &str, reset: bool) -> ExitCode {
    let what = if reset { "user reset" } else { "user create" };
    let Some(member) = config.people.staff.get(id) else {
        eprintln!("bellhop {what}: {id:?} is not on the roster ([[staff]] in the configuration or the staff import)");
        return ExitCode::from(EX_USAGE);
    };
    let (code, expires_at, change) = match enrolment_change(id, reset, jiff::Timestamp::now()) {
        Ok(issued) => issued,
        Err(error) => return report(what, Ok(Err(error))),
    };
    let outcome = report(what, write(&config.storage.data_dir, change));
    if outcome == ExitCode::SUCCESS {
        println!("Enrolment code for {} ({id}): {code}", member.name);
        println!("Valid until {expires_at}, once. Hand it over in person; it is not stored in clear anywhere.");
    }
    outcome
}

/// `bellhop user disable`: no more sign-ins; sessions end and the person's tokens are revoked.
pub fn user_disable(config: &Config, id: &str) -> ExitCode {
    if !config.people.staff.contains_key(id) {
        eprintln!("bellhop user disable: {id:?} is not on the roster");
        return ExitCode::from(EX_USAGE);
    }
    let outcome =
        report("user disable", write(&config.storage.data_dir, AccountChange::Disable { staff: id.to_owned() }));
    if outcome == ExitCode::SUCCESS {
        println!("{id} is disabled; their sessions ended and their tokens are revoked.");
    }
    outcome
}

/// `bellhop user list`: everyone on the roster with the state of their sign-in.
pub fn user_list(config: &Config) -> ExitCode {
    let reader = match Reader::open(&config.storage.data_dir) {
        Ok(reader) => reader,
        Err(error) => {
            eprintln!("bellhop user list: {error}");
            return ExitCode::from(EX_IOERR);
        }
    };
    println!("{:<16}  {:<10}  {:<12}  {:<4}  {:<8}  NAME", "ID", "ROLE", "STATE", "TOTP", "SESSIONS");
    for member in config.people.staff.values() {
        let account = reader.accounts().account(&member.id).ok().flatten();
        let sessions = reader.accounts().sessions(Some(&member.id)).map(|s| s.len()).unwrap_or(0);
        let state = account_state(account.as_ref());
        let totp = account.as_ref().is_some_and(|a| a.totp_secret.is_some());
        println!(
            "{:<16}  {:<10}  {:<12}  {:<4}  {:<8}  {}",
            member.id,
            member.role.as_str(),
            state,
            if totp { "yes" } else { "no" },
            sessions,
            member.name
        );
    }
    ExitCode::SUCCESS
}
