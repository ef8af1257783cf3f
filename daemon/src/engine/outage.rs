//! When a device offline since some instant is owed its offline ticket: after the grace period, and only inside the
//! configured local hours (the next opening of those hours otherwise). Pure: the times and the zone come in.

use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::shifts::Window;

/// The offline-ticket rules from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// How long a device may be offline before its ticket is raised.
    pub grace: Duration,
    /// The local hours during which offline tickets are raised; always when `None`.
    pub hours: Option<Window>,
}

/// The instant from which a device offline since `since` is owed its ticket: `since` plus the grace period, or, when
/// that falls outside the hours, the next start of the hours after it (in `tz`).
pub fn due_at(since: Timestamp, rules: &Rules, tz: &TimeZone) -> Timestamp {
    let grace = jiff::SignedDuration::try_from(rules.grace).unwrap_or(jiff::SignedDuration::MAX);
    let after_grace = since.checked_add(grace).unwrap_or(Timestamp::MAX);
    let Some(hours) = rules.hours else { return after_grace };
    let local = after_grace.to_zoned(tz.clone()).datetime();
    if hours.contains(local.time()) {
        return after_grace;
    }
    next_start(local, hours, tz).unwrap_or(after_grace)
}

/// Whether the ticket is owed at `now`.
pub fn is_due(since: Timestamp, now: Timestamp, rules: &Rules, tz: &TimeZone) -> bool {
    now >= due_at(since, rules, tz)
}

/// The first start of `hours` after `local` (which lies outside them), as an instant.
fn next_start(local: DateTime, hours: Window, tz: &TimeZone) -> Option<Timestamp> {
    let today = local.date().to_datetime(hours.start);
    let start = if today > local { today } else { local.date().tomorrow().ok()?.to_datetime(hours.start) };
    tz.to_timestamp(start).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn rules(grace_min: u64, hours: Option<&str>) -> Rules {
        Rules { grace: Duration::from_secs(grace_min * 60), hours: hours.map(|h| Window::parse(h).unwrap()) }
    }

    #[test]
    fn the_ticket_is_due_after_the_grace_period_when_there_are_no_hours() {
        let since = at("2026-03-02T10:00:00Z");
        let r = rules(10, None);
        assert_eq!(due_at(since, &r, &TimeZone::UTC), at("2026-03-02T10:10:00Z"));
        assert!(!is_due(since, at("2026-03-02T10:09:59Z"), &r, &TimeZone::UTC));
        assert!(is_due(since, at("2026-03-02T10:10:00Z"), &r, &TimeZone::UTC));
    }

    #[test]
    fn outside_the_hours_it_waits_for_their_next_start_in_local_time() {
        let lisbon = TimeZone::get("Europe/Lisbon").unwrap();
        let day = rules(10, Some("07:00-23:00"));
        // Summer time: 22:55 local is 21:55 UTC; grace ends 23:05 local, outside; next start 07:00 local = 06:00 UTC.
        assert_eq!(due_at(at("2026-07-01T21:55:00Z"), &day, &lisbon), at("2026-07-02T06:00:00Z"));
        // Early morning, before the hours: the same day's start.
        assert_eq!(due_at(at("2026-07-02T03:00:00Z"), &day, &lisbon), at("2026-07-02T06:00:00Z"));
        // Inside the hours: the grace alone.
        assert_eq!(due_at(at("2026-07-02T10:00:00Z"), &day, &lisbon), at("2026-07-02T10:10:00Z"));
        // Hours across midnight: 02:00 local is inside 22:00-06:00.
        let night = rules(0, Some("22:00-06:00"));
        assert_eq!(due_at(at("2026-07-02T01:00:00Z"), &night, &lisbon), at("2026-07-02T01:00:00Z"));
        assert_eq!(due_at(at("2026-07-02T11:00:00Z"), &night, &lisbon), at("2026-07-02T21:00:00Z"));
    }
}
