//! The uploader's decisions, as pure functions: how long to wait, what a reply means, where the cursor goes.

use std::time::Duration;

/// The first retry waits up to this long; each further failure doubles the ceiling up to `backoff_max_s`.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);

/// "Full jitter" exponential backoff: a uniformly random wait in `[0, min(cap, BACKOFF_BASE * 2^(failures-1))]`.
/// `unit` is a random number in `[0, 1)`; `failures` counts consecutive failures, from 1.
pub fn backoff(failures: u32, cap: Duration, unit: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let ceiling = BACKOFF_BASE.saturating_mul(1u32 << exp).min(cap);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

/// The wait while an alarm is raised: between half the cap and the cap, so many gateways do not retry in step.
pub fn alarm_wait(cap: Duration, unit: f64) -> Duration {
    cap / 2 + (cap / 2).mul_f64(unit.clamp(0.0, 1.0))
}

/// How a reply is treated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 200 with a parsable body: apply the `stored_through` value.
    Stored(u64),
    /// A transient failure: retry with backoff (the `Retry-After` of a 429 or 503 is honoured up to the cap).
    Retry(String),
    /// The receiver says this gateway is misconfigured or its journal disagrees: raise an alarm, retry at the cap.
    Alarm(String),
}

/// The receiver's reply body.
#[derive(Debug, serde::Deserialize)]
struct Reply {
    stored_through: u64,
}

/// Classifies a complete reply by status and body.
pub fn classify(status: u16, body: &[u8]) -> Verdict {
    let detail = || {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or(text)
    };
    match status {
        200 => match serde_json::from_slice::<Reply>(body) {
            Ok(reply) => Verdict::Stored(reply.stored_through),
            Err(e) => Verdict::Retry(format!("unparsable reply: {e}")),
        },
        401 | 403 => Verdict::Alarm(format!(
            "head office refused this gateway ({status}: {}); check sync.gateway_id, the secret and the clock",
            detail()
        )),
        404 => Verdict::Alarm(format!(
            "head office does not know this gateway (404: {}); check sync.url and sync.gateway_id",
            detail()
        )),
        409 => Verdict::Alarm(format!(
            "head office holds different events for these sequence numbers (409: {}); the journals have diverged",
            detail()
        )),
        413 => Verdict::Alarm("the batch is too large for head office (413); lower sync.batch_max_bytes".into()),
        408 | 429 => Verdict::Retry(format!("receiver busy ({status})")),
        400..=499 => Verdict::Alarm(format!("head office rejected the batch ({status}: {})", detail())),
        500..=599 => Verdict::Retry(format!("receiver error ({status}: {})", detail())),
        _ => Verdict::Alarm(format!("unexpected reply status {status} (redirects are not followed; check sync.url)")),
    }
}

/// The cursor after a `stored_through` reply to a batch of events `first..=last` sent from `cursor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advance {
    /// The new cursor.
    pub cursor: u64,
    /// Something worth a warning in the log (a stale or duplicate reply).
    pub warning: Option<String>,
    /// A misbehaving receiver: raise this alarm.
    pub alarm: Option<String>,
}

/// Applies a reply: the cursor becomes exactly `stored_through`, never backwards and never beyond `last` (the last
/// sequence sent). A reply below the cursor is stale (a duplicate or late reply) and changes nothing; one beyond
/// `last` claims events that were never sent in this batch, so the cursor stops at `last` and an alarm is raised.
pub fn advance(cursor: u64, last: u64, stored_through: u64) -> Advance {
    if stored_through < cursor {
        Advance {
            cursor,
            warning: Some(format!("stale reply: stored_through {stored_through} is behind the cursor {cursor}; kept")),
            alarm: None,
        }
    } else if stored_through > last {
        Advance {
            cursor: last.max(cursor),
            warning: None,
            alarm: Some(format!(
                "the receiver claims stored_through {stored_through}, beyond the last event sent ({last}); \
                 advanced only to {last}"
            )),
        }
    } else {
        Advance { cursor: stored_through, warning: None, alarm: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let cap = Duration::from_secs(300);
        assert_eq!(backoff(1, cap, 0.999_999_9).as_millis(), 499);
        assert_eq!(backoff(1, cap, 0.0), Duration::ZERO);
        assert_eq!(backoff(2, cap, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(4, cap, 0.5), Duration::from_secs(2));
        assert_eq!(backoff(10, cap, 1.0), Duration::from_secs(256));
        assert_eq!(backoff(11, cap, 1.0), cap);
        assert_eq!(backoff(u32::MAX, cap, 1.0), cap);
        assert_eq!(backoff(3, cap, 7.0), Duration::from_secs(2), "out-of-range randomness is clamped");
        for failures in 0..100 {
            for unit in [0.0, 0.25, 0.5, 0.999] {
                assert!(backoff(failures, Duration::from_secs(3), unit) <= Duration::from_secs(3));
            }
        }
    }

    #[test]
    fn alarm_waits_stay_near_the_cap() {
        let cap = Duration::from_secs(300);
        assert_eq!(alarm_wait(cap, 0.0), Duration::from_secs(150));
        assert_eq!(alarm_wait(cap, 1.0), cap);
    }

    #[test]
    fn replies_are_classified() {
        assert_eq!(classify(200, br#"{"stored_through":12}"#), Verdict::Stored(12));
        assert!(matches!(classify(200, b"{\"stored_thr"), Verdict::Retry(_)));
        assert!(matches!(classify(200, br#"{"stored_through":-1}"#), Verdict::Retry(_)));
        for status in [500, 502, 503, 504, 429, 408] {
            assert!(matches!(classify(status, b""), Verdict::Retry(_)), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 413, 422, 301, 100] {
            assert!(matches!(classify(status, b""), Verdict::Alarm(_)), "{status}");
        }
        let Verdict::Alarm(text) = classify(409, br#"{"error":"hash mismatch at 17"}"#) else { panic!() };
        assert!(text.contains("hash mismatch at 17"), "{text}");
    }

    #[test]
    fn the_cursor_goes_to_exactly_what_was_stored() {
        // Sent 11..=20 from cursor 10.
        assert_eq!(advance(10, 20, 20), Advance { cursor: 20, warning: None, alarm: None });
        assert_eq!(advance(10, 20, 15).cursor, 15, "a partial store (a gap, or a limit) is taken as is");
        assert_eq!(advance(10, 20, 10).cursor, 10, "nothing stored");
        let stale = advance(10, 20, 4);
        assert_eq!((stale.cursor, stale.alarm.is_none()), (10, true));
        assert!(stale.warning.unwrap().contains("stale"));
        let overshoot = advance(10, 20, 25);
        assert_eq!(overshoot.cursor, 20);
        assert!(overshoot.alarm.unwrap().contains("beyond the last event sent"));
    }
}
