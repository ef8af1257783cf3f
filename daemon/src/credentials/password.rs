//! Passwords: PBKDF2-HMAC-SHA256 on ring with a per-user random salt and 600,000 iterations (OWASP's current
//! recommendation), a constant-time check, a cap on concurrent hashing, and the minimum-strength rule.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::Semaphore;

/// Iterations for new hashes. Stored with each hash, so raising it later keeps old hashes checkable.
pub const ITERATIONS: u32 = 600_000;
/// How many hashes may run at once: the gateway has two cores, and one stays free for everything else.
pub const CONCURRENT_HASHES: usize = 1;
/// How many sign-ins may wait for a hashing slot; past that a sign-in is refused at once as busy.
pub const WAITING_HASHES: usize = 16;
/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// The longest password accepted (hashing cost does not depend on it, but a bound keeps requests small).
pub const MAX_LENGTH: usize = 256;

const SALT_BYTES: usize = 16;
const HASH_BYTES: usize = 32;
const SCHEME: &str = "pbkdf2-sha256";

/// Passwords too common to accept whatever their length (lower-cased comparison).
const COMMON: &[&str] = &[
    "password1234",
    "password12345",
    "password123456",
    "123456789012",
    "1234567890123",
    "12345678901234",
    "qwertyuiopasdf",
    "qwerty123456",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "welcome123456",
    "administrator",
    "changeme1234",
    "passw0rd1234",
    "hotelhotel123",
    "reception123",
    "housekeeping",
    "housekeeping1",
    "abcdefghijkl",
    "aaaaaaaaaaaa",
    "111111111111",
    "000000000000",
];

/// Why a password was not accepted, in words for the person choosing it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Shorter than [`MIN_LENGTH`].
    #[error("the password must have at least {MIN_LENGTH} characters")]
    TooShort,
    /// Longer than [`MAX_LENGTH`].
    #[error("the password must have at most {MAX_LENGTH} characters")]
    TooLong,
    /// Contains the user name.
    #[error("the password must not contain your user name")]
    HasUserName,
    /// On the list of common passwords, or one character repeated.
    #[error("the password is too common; choose a phrase of several words")]
    Common,
}

/// Checks the minimum-strength rule.
pub fn check_strength(user: &str, password: &str) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(WeakPassword::TooShort);
    }
    if chars > MAX_LENGTH {
        return Err(WeakPassword::TooLong);
    }
    let lower = password.to_lowercase();
    if !user.is_empty() && lower.contains(&user.to_lowercase()) {
        return Err(WeakPassword::HasUserName);
    }
    let first = lower.chars().next();
    if COMMON.contains(&lower.as_str()) || lower.chars().all(|c| Some(c) == first) {
        return Err(WeakPassword::Common);
    }
    Ok(())
}

/// Hashes `password` with a fresh random salt: `pbkdf2-sha256$ITERATIONS$salt$hash` (base64).
pub fn hash(password: &str) -> Result<String, ring::error::Unspecified> {
    let mut salt = [0u8; SALT_BYTES];
    SystemRandom::new().fill(&mut salt)?;
    Ok(hash_with(password, &salt, ITERATIONS))
}

fn hash_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut out = [0u8; HASH_BYTES];
    let rounds = NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, rounds, salt, password.as_bytes(), &mut out);
    format!("{SCHEME}${iterations}${}${}", B64.encode(salt), B64.encode(out))
}

/// Whether `password` matches `stored` (constant time in the hash comparison). A malformed `stored` never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(iterations), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(iterations), Ok(salt), Ok(expected)) = (iterations.parse::<u32>(), B64.decode(salt), B64.decode(expected))
    else {
        return false;
    };
    let Some(rounds) = NonZeroU32::new(iterations) else { return false };
    pbkdf2::verify(pbkdf2::PBKDF2_HMAC_SHA256, rounds, &salt, password.as_bytes(), &expected).is_ok()
}

/// A stand-in hash checked when the account does not exist, so an unknown user costs as much time as a known one.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_with("decoy password, never matches", &[0u8; SALT_BYTES], ITERATIONS))
}

/// Runs hashing on the blocking pool, at most [`CONCURRENT_HASHES`] at once and [`WAITING_HASHES`] waiting.
#[derive(Clone, Debug)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

/// The hasher is saturated: too many sign-ins wait already.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-ins at once; try again in a moment")]
pub struct Busy;

impl Default for Hasher {
    fn default() -> Self {
        Hasher { slots: Arc::new(Semaphore::new(CONCURRENT_HASHES)), waiting: Arc::new(AtomicUsize::new(0)) }
    }
}

impl Hasher {
    /// Runs `work` (a hash or a check) under the cap.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= WAITING_HASHES + CONCURRENT_HASHES {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let slot = self.slots.clone().acquire_owned().await;
        let result = match slot {
            Ok(slot) => {
                let done = tokio::task::spawn_blocking(move || {
                    let out = work();
                    drop(slot);
                    out
                })
                .await;
                done.map_err(|_| Busy)
            }
            Err(_) => Err(Busy),
        };
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash_with("correct horse battery", b"0123456789abcdef", 1000);
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert!(!verify("correct horse battery", "pbkdf2-sha256$0$AAAA$AAAA"));
        assert!(!verify("x", "garbage"));
    }

    #[test]
    fn salts_differ() {
        let (a, b) = (hash("same password here").unwrap(), hash("same password here").unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("pbkdf2-sha256$600000$"));
        assert!(verify("same password here", &a));
    }

    #[test]
    fn the_strength_rule_names_what_is_wrong() {
        assert_eq!(check_strength("ana", "short"), Err(WeakPassword::TooShort));
        assert_eq!(check_strength("ana.silva", "my name is ana.silva!"), Err(WeakPassword::HasUserName));
        assert_eq!(check_strength("ana", "Password1234"), Err(WeakPassword::Common));
        assert_eq!(check_strength("ana", "zzzzzzzzzzzzzz"), Err(WeakPassword::Common));
        assert_eq!(check_strength("ana", &"x".repeat(300)), Err(WeakPassword::TooLong));
        assert_eq!(check_strength("ana", "towels at dawn, pillows at dusk"), Ok(()));
    }

    #[tokio::test]
    async fn the_hasher_refuses_past_its_queue() {
        let hasher = Hasher::default();
        let gate = Arc::new(std::sync::Barrier::new(2));
        let held = {
            let (hasher, gate) = (hasher.clone(), gate.clone());
            tokio::spawn(async move { hasher.run(move || gate.wait()).await })
        };
        // Fill the queue behind the running job.
        let mut queued = Vec::new();
        while hasher.waiting.load(Ordering::Acquire) < WAITING_HASHES + CONCURRENT_HASHES {
            let hasher = hasher.clone();
            queued.push(tokio::spawn(async move { hasher.run(|| ()).await }));
            tokio::task::yield_now().await;
        }
        assert_eq!(hasher.run(|| ()).await, Err(Busy));
        gate.wait();
        assert!(held.await.unwrap().is_ok());
        for job in queued {
            assert_eq!(job.await.unwrap(), Ok(()));
        }
    }
}
