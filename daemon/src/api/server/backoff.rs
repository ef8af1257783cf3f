//! Back-off for `accept` errors. Out of file descriptors (EMFILE, ENFILE) or memory, `accept` fails at once every
//! time it is called; without a pause the accept loop spins at full CPU. Errors that concern only the one
//! connection (reset or aborted before it was accepted) are not paused for.

use std::io;
use std::time::Duration;

/// The first pause.
const FIRST: Duration = Duration::from_millis(10);
/// The longest pause.
pub const LONGEST: Duration = Duration::from_secs(1);

/// The pause after each failed `accept`, doubling while they keep failing, reset by a successful one.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    next: Option<Duration>,
}

impl AcceptBackoff {
    /// A successful accept.
    pub fn reset(&mut self) {
        self.next = None;
    }

    /// How long to pause after `error`, if at all.
    pub fn after(&mut self, error: &io::Error) -> Option<Duration> {
        if matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
        ) {
            return None;
        }
        let pause = self.next.unwrap_or(FIRST);
        self.next = Some((pause * 2).min(LONGEST));
        Some(pause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_a_second_and_reset() {
        let emfile = io::Error::from_raw_os_error(24);
        let mut backoff = AcceptBackoff::default();
        let pauses: Vec<_> = (0..10).map(|_| backoff.after(&emfile).unwrap()).collect();
        assert_eq!(pauses[0], FIRST);
        assert_eq!(pauses[1], FIRST * 2);
        assert_eq!(*pauses.last().unwrap(), LONGEST);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        backoff.reset();
        assert_eq!(backoff.after(&emfile), Some(FIRST));
        assert_eq!(backoff.after(&io::Error::from(io::ErrorKind::ConnectionAborted)), None);
    }
}
