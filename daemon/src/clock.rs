//! The injected wall clock: engines never read the time themselves.

/// A source of the current UTC time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> jiff::Timestamp;

    /// Now as RFC 3339 with millisecond precision, the journal's time format.
    fn now_rfc3339(&self) -> String {
        format_time(self.now())
    }
}

/// Formats a time the way the journal stores it: `2026-11-23T10:15:00.123Z`.
pub fn format_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}
