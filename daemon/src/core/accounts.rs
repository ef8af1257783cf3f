//! Changes to people's credentials, sessions and tokens, each journaled in the same transaction (the events never
//! hold a password, a code or a hash). The writer applies them for the API; the operator commands apply the same
//! function in their own transaction.

use crate::core::CoreError;
use crate::credentials::codes::{hash as hash_secret, new_token};
use crate::event::EventBody;
use crate::store::{AccountRecord, SessionRecord, StoreError, TokenRecord, Txn};
use crate::vocab::{Actor, Role};

/// A change to credentials, sessions or tokens. Hashing happens before (on the API's hashing pool); this only
/// stores.
#[derive(Clone, Debug)]
pub enum AccountChange {
    /// Issues a one-time enrolment code (by its hash), with the TOTP secret it offers. `reset` also clears the
    /// password, second factor, recovery codes and sessions.
    IssueEnrolment {
        /// The staff id.
        staff: String,
        /// The SHA-256 of the code.
        code_hash: Vec<u8>,
        /// The TOTP secret offered with it.
        totp_secret: Vec<u8>,
        /// When it expires (UTC, RFC 3339).
        expires_at: String,
        /// Clear the earlier credentials.
        reset: bool,
    },
    /// Sets the password (and second factor) from an open enrolment code.
    Enrol {
        /// The staff id.
        staff: String,
        /// The SHA-256 of the code given.
        code_hash: Vec<u8>,
        /// The new password's hash.
        password: String,
        /// The TOTP step the person proved, when they enrolled the second factor.
        totp_step: Option<i64>,
        /// The recovery codes' hashes.
        recovery: Vec<Vec<u8>>,
    },
    /// A successful sign-in: opens the session, records the TOTP step or uses up the recovery code.
    SignIn {
        /// The client address.
        address: String,
        /// The session to open.
        session: SessionRecord,
        /// The hash of its token.
        token_hash: Vec<u8>,
        /// The TOTP step used, if any.
        totp_step: Option<i64>,
        /// The recovery code used (its hash), if any.
        recovery: Option<Vec<u8>>,
    },
    /// Ends one session, or all of a person's.
    EndSessions {
        /// The staff id.
        staff: String,
        /// One session, or all of them.
        session: Option<String>,
        /// `sign_out`, `everywhere` or `admin`.
        why: String,
    },
    /// Records a session's last use (not journaled: it is how long a session stays, not a change of anything).
    Touch {
        /// The session.
        session: String,
        /// When (ms since the epoch).
        at_ms: i64,
    },
    /// Disables an account: ends its sessions and revokes the tokens it owns.
    Disable {
        /// The staff id.
        staff: String,
    },
    /// Stores a new token by its hash.
    CreateToken {
        /// The record.
        record: TokenRecord,
        /// The hash of its secret.
        secret_hash: Vec<u8>,
    },
    /// Revokes a token.
    RevokeToken {
        /// Its public id.
        token: String,
    },
}

fn refuse(why: impl Into<String>) -> Result<Result<(), CoreError>, StoreError> {
    Ok(Err(CoreError::Invalid(why.into())))
}

/// Applies `change` in `txn` at `at` (RFC 3339 UTC) for `actor`.
pub fn apply(
    txn: &mut Txn<'_>,
    at: &str,
    actor: &Actor,
    change: AccountChange,
) -> Result<Result<(), CoreError>, StoreError> {
    match change {
        AccountChange::IssueEnrolment { staff, code_hash, totp_secret, expires_at, reset } => {
            let mut account = txn.accounts().account(&staff)?.unwrap_or_default();
            if account.disabled && !reset {
                return refuse(format!("{staff}'s account is disabled; reset it to enable it again"));
            }
            if account.password.is_some() && !reset {
                return Ok(Err(CoreError::Conflict(format!(
                    "{staff} has already enrolled; reset the account to issue a new code"
                ))));
            }
            if reset {
                end_sessions(txn, at, actor, &staff, None, "reset")?;
                txn.accounts().set_recovery(&staff, &[])?;
                account = AccountRecord::default();
            }
            account.staff = staff.clone();
            account.enrolment_hash = Some(code_hash);
            account.enrolment_totp = Some(totp_secret);
            account.enrolment_expires = Some(expires_at.clone());
            account.updated_at = at.to_owned();
            txn.accounts().put(&account)?;
            txn.append(at, actor, EventBody::EnrolmentIssued { staff, expires_at, reset })?;
        }
        AccountChange::Enrol { staff, code_hash, password, totp_step, recovery } => {
            let Some(mut account) = txn.accounts().account(&staff)? else {
                return refuse("the enrolment code is wrong or has expired");
            };
            let open = account.enrolment_hash.as_deref() == Some(code_hash.as_slice())
                && account.enrolment_expires.as_deref().is_some_and(|e| e > at)
                && !account.disabled;
            if !open {
                return refuse("the enrolment code is wrong or has expired");
            }
            account.password = Some(password);
            account.totp_secret = match totp_step {
                Some(_) => account.enrolment_totp.take(),
                None => None,
            };
            account.totp_last_step = totp_step;
            account.enrolment_hash = None;
            account.enrolment_totp = None;
            account.enrolment_expires = None;
            account.updated_at = at.to_owned();
            txn.accounts().put(&account)?;
            txn.accounts().set_recovery(&staff, if totp_step.is_some() { &recovery } else { &[] })?;
            txn.append(at, actor, EventBody::AccountEnrolled { staff, totp: totp_step.is_some() })?;
        }
        AccountChange::SignIn { address, session, token_hash, totp_step, recovery } => {
            let Some(mut account) = txn.accounts().account(&session.staff)? else {
                return refuse("no such account");
            };
            if account.disabled {
                return refuse("the account is disabled");
            }
            let factor = match (totp_step, &recovery) {
                (Some(step), _) => {
                    // Checked again here, in the writer, so two sign-ins racing with one code cannot both pass.
                    if account.totp_last_step.is_some_and(|last| step <= last) {
                        return refuse("that code has been used already");
                    }
                    account.totp_last_step = Some(step);
                    account.updated_at = at.to_owned();
                    txn.accounts().put(&account)?;
                    Some("totp".to_owned())
                }
                (None, Some(hash)) => {
                    if !txn.accounts().take_recovery(&session.staff, hash)? {
                        return refuse("that recovery code has been used already");
                    }
                    Some("recovery".to_owned())
                }
                (None, None) => None,
            };
            txn.accounts().open_session(&session, &token_hash)?;
            txn.append(
                at,
                &Actor::Staff(session.staff.clone()),
                EventBody::SignInAttempted {
                    user: session.staff.clone(),
                    address,
                    outcome: "success".into(),
                    reason: None,
                    session: Some(session.id.clone()),
                    factor,
                },
            )?;
        }
        AccountChange::EndSessions { staff, session, why } => {
            if end_sessions(txn, at, actor, &staff, session.as_deref(), &why)? == 0 && session.is_some() {
                return Ok(Err(CoreError::NotFound("such session".into())));
            }
        }
        AccountChange::Touch { session, at_ms } => txn.accounts().touch_session(&session, at_ms)?,
        AccountChange::Disable { staff } => {
            let mut account = txn.accounts().account(&staff)?.unwrap_or_default();
            let sessions_ended = end_sessions(txn, at, actor, &staff, None, "disabled")?;
            let mut tokens_revoked = 0;
            for token in txn.tokens().owned_by(&format!("staff:{staff}"))? {
                if txn.tokens().revoke(&token.id, at)? {
                    tokens_revoked += 1;
                    txn.append(at, actor, EventBody::TokenRevoked { token: token.id })?;
                }
            }
            account.staff = staff.clone();
            account.disabled = true;
            account.enrolment_hash = None;
            account.enrolment_totp = None;
            account.enrolment_expires = None;
            account.updated_at = at.to_owned();
            txn.accounts().put(&account)?;
            txn.append(at, actor, EventBody::AccountDisabled { staff, sessions_ended, tokens_revoked })?;
        }
        AccountChange::CreateToken { record, secret_hash } => {
            txn.tokens().insert(&record, &secret_hash, at)?;
            txn.append(
                at,
                actor,
                EventBody::TokenCreated {
                    token: record.id,
                    role: record.role.unwrap_or(crate::vocab::Role::Staff),
                    label: record.label,
                    owner: record.owner,
                    department: record.department,
                    expires_at: record.expires_at,
                },
            )?;
        }
        AccountChange::RevokeToken { token } => {
            if !txn.tokens().revoke(&token, at)? {
                return Ok(Err(CoreError::NotFound(format!("live token {token}"))));
            }
            txn.append(at, actor, EventBody::TokenRevoked { token })?;
        }
    }
    Ok(Ok(()))
}

/// Ends a person's sessions (one, or all), journaling each; how many ended.
fn end_sessions(
    txn: &mut Txn<'_>,
    at: &str,
    actor: &Actor,
    staff: &str,
    only: Option<&str>,
    why: &str,
) -> Result<u32, StoreError> {
    let mut ended = 0;
    for session in txn.accounts().sessions_of(staff)? {
        if only.is_some_and(|id| id != session.id) {
            continue;
        }
        if txn.accounts().end_session(&session.id)? {
            ended += 1;
            txn.append(
                at,
                actor,
                EventBody::SessionEnded { staff: staff.to_owned(), session: session.id, why: why.to_owned() },
            )?;
        }
    }
    Ok(ended)
}

/// How long an enrolment code stays valid.
pub const ENROLMENT_HOURS: i64 = 72;

/// A token to issue.
#[derive(Clone, Debug)]
pub struct NewToken {
    /// Its role.
    pub role: Role,
    /// Its name.
    pub label: String,
    /// `staff:{id}` or `integration:{name}`.
    pub owner: Option<String>,
    /// The one department it may act in.
    pub department: Option<String>,
    /// When it stops working (UTC, RFC 3339).
    pub expires_at: Option<String>,
}

/// The record and secret of a fresh token.
pub fn token_change(token: NewToken) -> Result<(String, AccountChange), CoreError> {
    let (id, secret) = new_token().map_err(|_| CoreError::Unavailable("the system random source failed".into()))?;
    let record = TokenRecord {
        id,
        role: Some(token.role),
        label: token.label,
        owner: token.owner,
        department: token.department,
        expires_at: token.expires_at,
        ..TokenRecord::default()
    };
    let secret_hash = hash_secret(&secret);
    Ok((secret, AccountChange::CreateToken { record, secret_hash }))
}

/// A fresh enrolment code for `staff` (returned to show once) and the change that stores its hash.
pub fn enrolment_change(
    staff: &str,
    reset: bool,
    now: jiff::Timestamp,
) -> Result<(String, String, AccountChange), CoreError> {
    let random = |_| CoreError::Unavailable("the system random source failed".into());
    let code = crate::credentials::codes::enrolment().map_err(random)?;
    let totp_secret = crate::credentials::totp::new_secret().map_err(random)?;
    let expires = now + jiff::SignedDuration::from_hours(ENROLMENT_HOURS);
    let expires_at = expires.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let code_hash = crate::credentials::codes::hash(&crate::credentials::codes::normalise(&code));
    let change = AccountChange::IssueEnrolment {
        staff: staff.to_owned(),
        code_hash,
        totp_secret,
        expires_at: expires_at.clone(),
        reset,
    };
    Ok((code, expires_at, change))
}

/// `disabled`, `enrolled`, `enrolling` (a code is open) or `none`.
pub fn account_state(account: Option<&crate::store::AccountRecord>) -> &'static str {
    match account {
        Some(a) if a.disabled => "disabled",
        Some(a) if a.password.is_some() => "enrolled",
        Some(a) if a.enrolment_hash.is_some() => "enrolling",
        _ => "none",
    }
}
