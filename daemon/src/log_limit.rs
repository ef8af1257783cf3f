//! Rate limits for log lines that a misbehaving peer could repeat without end (a TV sending bad requests, a flood of
//! messages on foreign topics): at most one line per key per interval, and the next line says how many were held
//! back, so the log stays small and still tells the whole story.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Keys remembered before the stale ones are forgotten.
const MAX_KEYS: usize = 10_000;

/// The key that new keys share while every slot is taken.
const OVERFLOW: &str = "\u{0}overflow";

/// One limiter for one kind of log line, keyed by what the line is about (a device, a peer).
#[derive(Debug)]
pub struct LogLimit {
    every: Duration,
    /// Per key: when a line was last written, and how many were held back since.
    keys: HashMap<String, (Instant, u64)>,
}

impl LogLimit {
    /// At most one line per key every `every`.
    pub fn new(every: Duration) -> LogLimit {
        LogLimit { every, keys: HashMap::new() }
    }

    /// Whether a line about `key` may be written at `now`: `Some(n)` with the number of lines held back since the
    /// last one, or `None` to hold this one back.
    pub fn allow(&mut self, key: &str, now: Instant) -> Option<u64> {
        if !self.keys.contains_key(key) && self.keys.len() >= MAX_KEYS {
            let every = self.every;
            self.keys.retain(|_, (last, _)| now.saturating_duration_since(*last) < every);
        }
        // With every slot taken by a recent key, new keys share one budget.
        let key = if self.keys.len() >= MAX_KEYS && !self.keys.contains_key(key) { OVERFLOW } else { key };
        match self.keys.get_mut(key) {
            Some((last, held)) if now.saturating_duration_since(*last) < self.every => {
                *held += 1;
                None
            }
            Some((last, held)) => {
                *last = now;
                Some(std::mem::take(held))
            }
            None => {
                self.keys.insert(key.to_owned(), (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_key_per_interval_and_the_next_counts_what_was_held() {
        let mut limit = LogLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(limit.allow("tv-1", t0), Some(0));
        assert_eq!(limit.allow("tv-1", t0 + Duration::from_secs(1)), None);
        assert_eq!(limit.allow("tv-1", t0 + Duration::from_secs(2)), None);
        assert_eq!(limit.allow("tv-2", t0 + Duration::from_secs(2)), Some(0), "another key has its own budget");
        assert_eq!(limit.allow("tv-1", t0 + Duration::from_secs(10)), Some(2));
        assert_eq!(limit.allow("tv-1", t0 + Duration::from_secs(11)), None);
    }

    #[test]
    fn memory_stays_bounded_under_many_keys() {
        let mut limit = LogLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        for n in 0..3 * MAX_KEYS {
            limit.allow(&format!("device-{n}"), t0);
        }
        assert!(limit.keys.len() <= MAX_KEYS + 1);
        assert_eq!(limit.allow("one-more", t0), None, "new keys share one budget while the table is full");
        // Once the old keys are stale they make room again.
        assert_eq!(limit.allow("late", t0 + Duration::from_secs(11)), Some(0));
        assert!(limit.keys.contains_key("late"));
    }
}
