//! The throttle on failed sign-ins and bad bearer tokens, per account and per client address: the first failures
//! (two per account, eight per address) cost nothing more than the hash, then each further attempt must wait a growing delay (1 s, 2 s, 4 s, ... up to a
//! minute), and at the limit the account or address is locked for a while. In memory: a restart forgets it, and the
//! journal keeps every attempt and lock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures with no delay before the next attempt.
const FREE_FAILURES: u32 = 2;
/// The longest delay between attempts.
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A key's failures are forgotten after this long without one.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// The most keys remembered; past that the oldest quiet ones are dropped first.
const MAX_KEYS: usize = 100_000;
/// A client address may fail this many times more than one account before it is locked.
pub const ADDRESS_FACTOR: u32 = 4;

/// What the throttle counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A user name (whether or not it exists, so the answer does not tell).
    Account(String),
    /// A client address.
    Address(IpAddr),
}

impl Key {
    /// `account` or `address`, and the key in words, as journaled.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            Key::Account(user) => ("account", user.clone()),
            Key::Address(ip) => ("address", ip.to_string()),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last: Instant,
    next_allowed: Instant,
    locked_until: Option<Instant>,
}

/// Why an attempt is refused before it is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Too soon after the last failure: try again after this long.
    Slowed(Duration),
    /// Locked: try again after this long.
    Locked(Duration),
}

impl Hold {
    /// Seconds to wait, rounded up, at least 1.
    pub fn retry_after_s(self) -> u64 {
        let (Hold::Slowed(d) | Hold::Locked(d)) = self;
        d.as_secs() + u64::from(d.subsec_nanos() > 0).max(u64::from(d.is_zero()))
    }
}

/// A lock that a failure just caused, to journal and tell admins about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLock {
    /// What is locked.
    pub key: Key,
    /// Failures counted.
    pub failures: u32,
    /// For how long.
    pub duration: Duration,
}

/// A lock in force, for the admins' list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveLock {
    /// What is locked.
    pub key: Key,
    /// Failures counted.
    pub failures: u32,
    /// Time left.
    pub remaining: Duration,
}

/// The throttle.
#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Throttle {
    /// Whether an attempt on `key` must wait, at `now`.
    pub fn check(&self, key: &Key, now: Instant) -> Option<Hold> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        if let Some(until) = entry.locked_until.filter(|u| *u > now) {
            return Some(Hold::Locked(until - now));
        }
        (entry.next_allowed > now).then(|| Hold::Slowed(entry.next_allowed - now))
    }

    /// Counts a failure on `key`; returns the lock it causes once `limit` failures are reached.
    pub fn fail(&self, key: &Key, limit: u32, lock_for: Duration, now: Instant) -> Option<NewLock> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            entries.retain(|_, e| now.duration_since(e.last) < FORGET_AFTER && e.locked_until.is_some_and(|u| u > now));
        }
        let entry = entries.entry(key.clone()).or_insert(Entry {
            failures: 0,
            last: now,
            next_allowed: now,
            locked_until: None,
        });
        if now.duration_since(entry.last) >= FORGET_AFTER || entry.locked_until.is_some_and(|u| u <= now) {
            *entry = Entry { failures: 0, last: now, next_allowed: now, locked_until: None };
        }
        entry.failures += 1;
        entry.last = now;
        // Many people may share an address (a staff room's terminal, a NAT), so it gets as many free failures more.
        let free = match key {
            Key::Account(_) => FREE_FAILURES,
            Key::Address(_) => FREE_FAILURES * ADDRESS_FACTOR,
        };
        let over = entry.failures.saturating_sub(free);
        let delay = if over == 0 { Duration::ZERO } else { Duration::from_secs(1 << (over - 1).min(6)).min(MAX_DELAY) };
        entry.next_allowed = now + delay;
        if entry.failures >= limit {
            entry.locked_until = Some(now + lock_for);
            return Some(NewLock { key: key.clone(), failures: entry.failures, duration: lock_for });
        }
        None
    }

    /// Forgets `key`'s failures (a successful sign-in).
    pub fn succeed(&self, key: &Key) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// Locks in force at `now`.
    pub fn locks(&self, now: Instant) -> Vec<ActiveLock> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut locks: Vec<ActiveLock> = entries
            .iter()
            .filter_map(|(key, e)| {
                let until = e.locked_until.filter(|u| *u > now)?;
                Some(ActiveLock { key: key.clone(), failures: e.failures, remaining: until - now })
            })
            .collect();
        locks.sort_by_key(|lock| std::cmp::Reverse(lock.remaining));
        locks
    }

    /// Lifts the lock on `key` (an admin's decision).
    pub fn unlock(&self, key: &Key) -> bool {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_the_key_locks() {
        let throttle = Throttle::default();
        let key = Key::Account("ana".into());
        let t0 = Instant::now();
        let lock = Duration::from_secs(900);
        assert_eq!(throttle.fail(&key, 5, lock, t0), None);
        assert_eq!(throttle.check(&key, t0), None);
        assert_eq!(throttle.fail(&key, 5, lock, t0), None);
        assert_eq!(throttle.check(&key, t0), None);
        assert_eq!(throttle.fail(&key, 5, lock, t0), None);
        assert_eq!(throttle.check(&key, t0), Some(Hold::Slowed(Duration::from_secs(1))));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(throttle.check(&key, t1), None);
        assert_eq!(throttle.fail(&key, 5, lock, t1), None);
        assert_eq!(throttle.check(&key, t1), Some(Hold::Slowed(Duration::from_secs(2))));
        let t2 = t1 + Duration::from_secs(2);
        let locked = throttle.fail(&key, 5, lock, t2).unwrap();
        assert_eq!(locked.failures, 5);
        assert_eq!(throttle.check(&key, t2), Some(Hold::Locked(lock)));
        assert_eq!(throttle.locks(t2).len(), 1);
        assert_eq!(throttle.check(&key, t2 + lock), None);
        assert_eq!(throttle.check(&Key::Account("bo".into()), t2), None);
        throttle.succeed(&key);
        assert!(throttle.locks(t2).is_empty());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(Hold::Slowed(Duration::from_millis(1500)).retry_after_s(), 2);
        assert_eq!(Hold::Locked(Duration::from_secs(900)).retry_after_s(), 900);
    }
}
