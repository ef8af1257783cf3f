//! `[signin]`: how people sign in: the second factor and session time-outs per role, and the throttle on failed
//! attempts.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::errors::{ConfigError, SourceMap};
use crate::vocab::Role as StaffRole;

/// `[signin]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSignin {
    /// Failed sign-ins for one account before it is locked.
    pub lock_after: Option<u32>,
    /// How long a lock lasts, in seconds.
    pub lock_s: Option<u64>,
    /// Per role: `[signin.roles.staff]`.
    #[serde(default)]
    pub roles: BTreeMap<String, RawRolePolicy>,
}

/// `[signin.roles.ROLE]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRolePolicy {
    /// Whether a TOTP second factor is required.
    pub totp: Option<bool>,
    /// Idle time-out in seconds.
    pub idle_s: Option<u64>,
    /// Absolute session lifetime in seconds.
    pub lifetime_s: Option<u64>,
}

/// Sign-in rules for one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolePolicy {
    /// A TOTP second factor is required.
    pub totp: bool,
    /// A session unused this long ends (seconds).
    pub idle_s: u64,
    /// A session ends this long after sign-in whatever its use (seconds).
    pub lifetime_s: u64,
}

/// How people sign in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signin {
    /// Failed sign-ins for one account before it is locked (a client address gets four times as many).
    pub lock_after: u32,
    /// How long a lock lasts (seconds).
    pub lock_s: u64,
    /// Rules per role.
    pub roles: BTreeMap<StaffRole, RolePolicy>,
}

impl Signin {
    /// The rules for `role`.
    pub fn for_role(&self, role: StaffRole) -> RolePolicy {
        self.roles.get(&role).copied().unwrap_or_else(|| default_policy(role))
    }
}

impl Default for Signin {
    fn default() -> Self {
        Signin {
            lock_after: 5,
            lock_s: 900,
            roles: StaffRole::ALL.into_iter().map(|r| (r, default_policy(r))).collect(),
        }
    }
}

/// A housekeeper's shift-long session; short ones, and a second factor, for those who can change more.
pub fn default_policy(role: StaffRole) -> RolePolicy {
    const HOUR: u64 = 3600;
    match role {
        StaffRole::Staff | StaffRole::Supervisor => RolePolicy { totp: false, idle_s: 4 * HOUR, lifetime_s: 12 * HOUR },
        StaffRole::Manager => RolePolicy { totp: true, idle_s: HOUR, lifetime_s: 12 * HOUR },
        StaffRole::Admin => RolePolicy { totp: true, idle_s: 15 * 60, lifetime_s: 8 * HOUR },
        StaffRole::Analytics | StaffRole::Installer => RolePolicy { totp: false, idle_s: HOUR, lifetime_s: 12 * HOUR },
    }
}

/// Validates `[signin]`.
pub fn validate(raw: RawSignin, map: &SourceMap<'_>, errors: &mut Vec<ConfigError>) -> Signin {
    let mut signin = Signin::default();
    if let Some(n) = raw.lock_after {
        if !(1..=100).contains(&n) {
            errors.push(map.at("signin.lock_after", "must be from 1 to 100"));
        }
        signin.lock_after = n.clamp(1, 100);
    }
    if let Some(s) = raw.lock_s {
        if !(1..=86_400).contains(&s) {
            errors.push(map.at("signin.lock_s", "must be from 1 to 86400 seconds"));
        }
        signin.lock_s = s.clamp(1, 86_400);
    }
    for (name, policy) in raw.roles {
        let key = |field: &str| format!("signin.roles.{name}.{field}");
        let Some(role) = StaffRole::parse(&name) else {
            let roles: Vec<&str> = StaffRole::ALL.iter().map(|r| r.as_str()).collect();
            errors.push(
                map.at(&format!("signin.roles.{name}"), format!("{name:?} is not a role; use {}", roles.join(", "))),
            );
            continue;
        };
        let mut rules = default_policy(role);
        if let Some(totp) = policy.totp {
            rules.totp = totp;
        }
        if let Some(idle) = policy.idle_s {
            if !(1..=7 * 86_400).contains(&idle) {
                errors.push(map.at(&key("idle_s"), "must be from 1 to 604800 seconds"));
            }
            rules.idle_s = idle;
        }
        if let Some(lifetime) = policy.lifetime_s {
            if !(1..=30 * 86_400).contains(&lifetime) {
                errors.push(map.at(&key("lifetime_s"), "must be from 1 to 2592000 seconds"));
            }
            rules.lifetime_s = lifetime;
        }
        if rules.idle_s > rules.lifetime_s {
            errors.push(map.at(&key("idle_s"), "must not be longer than the lifetime"));
        }
        signin.roles.insert(role, rules);
    }
    signin
}
