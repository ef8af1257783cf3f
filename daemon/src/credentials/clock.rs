//! Whether the gateway's clock can be trusted for second-factor codes. A gateway may run without NTP while the WAN is
//! down; TOTP codes are only accepted within 30 seconds of its time. Two honest checks need nothing from outside: the
//! clock must not be before this release line was built, and it must not be behind the last event already journaled
//! (which was stamped by the same clock earlier).

/// No clock reading before this instant is plausible for this version (it was built later).
pub const EARLIEST_PLAUSIBLE: &str = "2026-11-01T00:00:00Z";
/// How far behind the journal's last event the clock may be before it is reported.
pub const TOLERANCE_S: i64 = 5;

/// What is wrong with the clock at `now`, given the journal's last event time, in words for an admin.
pub fn warning(now: jiff::Timestamp, last_event: Option<jiff::Timestamp>) -> Option<String> {
    let floor: jiff::Timestamp = EARLIEST_PLAUSIBLE.parse().ok()?;
    if now < floor {
        return Some(format!(
            "the gateway's clock reads {now}, before this version was released; sign-in codes will be refused \
             until the time is set (check NTP)"
        ));
    }
    let last = last_event?;
    if now.as_second() + TOLERANCE_S < last.as_second() {
        return Some(format!(
            "the gateway's clock reads {now}, behind the last journaled event ({last}); it was set back or lost \
             its time, and sign-in codes may be refused (check NTP)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_before_the_release_or_behind_the_journal_is_reported() {
        let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert!(warning(t("2000-01-01T00:00:00Z"), None).unwrap().contains("before this version"));
        assert!(warning(t("2026-12-01T00:00:00Z"), Some(t("2026-12-01T01:00:00Z"))).unwrap().contains("behind"));
        assert_eq!(warning(t("2026-12-01T00:00:00Z"), Some(t("2026-12-01T00:00:03Z"))), None);
        assert_eq!(warning(t("2026-12-01T00:00:00Z"), None), None);
    }
}
