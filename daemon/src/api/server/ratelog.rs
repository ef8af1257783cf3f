//! Rate-limited log lines: a warning that repeats (every failed `accept` while out of file descriptors) is written
//! at most once per interval, with how many were held back.

use std::time::{Duration, Instant};

/// Decides when a repeated line may be written again.
#[derive(Debug)]
pub struct RateLimited {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl RateLimited {
    /// At most one line per `every`.
    pub fn new(every: Duration) -> RateLimited {
        RateLimited { every, last: None, held_back: 0 }
    }

    /// `Some(n)` when a line may be written now, `n` being how many were held back since the last one; `None`
    /// when this one must be held back.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < self.every => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_held_back() {
        let start = Instant::now();
        let mut limit = RateLimited::new(Duration::from_secs(10));
        assert_eq!(limit.allow(start), Some(0));
        for i in 1..=1000 {
            assert_eq!(limit.allow(start + Duration::from_millis(i)), None);
        }
        assert_eq!(limit.allow(start + Duration::from_secs(10)), Some(1000));
        assert_eq!(limit.allow(start + Duration::from_secs(11)), None);
        assert_eq!(limit.allow(start + Duration::from_secs(25)), Some(1));
    }
}
