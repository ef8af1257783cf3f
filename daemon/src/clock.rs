//! The injected wall clock: engines never read the time themselves.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// A source of the current UTC time, and of steady elapsed time to tell a clock step from time passing.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> jiff::Timestamp;

    /// Time elapsed on a steady clock that NTP does not step (only differences matter).
    fn steady(&self) -> Duration {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed()
    }

    /// The wall and the steady clock read together.
    fn reading(&self) -> (jiff::Timestamp, Duration) {
        (self.now(), self.steady())
    }

    /// Tells when the time moves other than by itself passing (only a virtual clock does).
    fn changes(&self) -> Option<watch::Receiver<()>> {
        None
    }

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

/// A clock that moves only when told: for tests of SLA clocks over days in a moment, and of clock steps.
#[derive(Debug)]
pub struct VirtualClock {
    /// The wall time and the steady time.
    times: Mutex<(jiff::Timestamp, Duration)>,
    changed: watch::Sender<()>,
}

impl VirtualClock {
    /// A clock that reads `start`.
    pub fn new(start: jiff::Timestamp) -> VirtualClock {
        VirtualClock { times: Mutex::new((start, Duration::ZERO)), changed: watch::channel(()).0 }
    }

    fn change(&self, wall_ms: i64, steady: Duration) {
        {
            let mut times = self.times.lock().unwrap_or_else(|e| e.into_inner());
            times.0 += jiff::SignedDuration::from_millis(wall_ms);
            times.1 += steady;
        }
        self.changed.send_replace(());
    }

    /// Lets time pass.
    pub fn advance(&self, by: Duration) {
        self.change(by.as_millis() as i64, by);
    }

    /// Steps the wall clock without time passing, as NTP does (negative: backwards).
    pub fn step(&self, by_ms: i64) {
        self.change(by_ms, Duration::ZERO);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> jiff::Timestamp {
        self.times.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    fn steady(&self) -> Duration {
        self.times.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    fn reading(&self) -> (jiff::Timestamp, Duration) {
        *self.times.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn changes(&self) -> Option<watch::Receiver<()>> {
        Some(self.changed.subscribe())
    }
}
