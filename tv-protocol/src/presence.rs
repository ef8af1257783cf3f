//! A device's presence: `online` when it connects, `offline` as its last will or when it shuts down.

/// The retained payload of a device's `presence` topic (plain text, not JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The device is connected.
    Online,
    /// The device disconnected or its connection was lost.
    Offline,
}

impl Presence {
    /// The payload.
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Offline => "offline",
        }
    }

    /// Parses a payload; surrounding whitespace is ignored.
    pub fn parse(payload: &[u8]) -> Option<Presence> {
        match std::str::from_utf8(payload).ok()?.trim() {
            "online" => Some(Presence::Online),
            "offline" => Some(Presence::Offline),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_others() {
        for p in [Presence::Online, Presence::Offline] {
            assert_eq!(Presence::parse(p.as_str().as_bytes()), Some(p));
        }
        assert_eq!(Presence::parse(b"online\n"), Some(Presence::Online));
        assert_eq!(Presence::parse(b"ON"), None);
        assert_eq!(Presence::parse(&[0xff]), None);
    }
}
