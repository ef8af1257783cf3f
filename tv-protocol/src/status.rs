//! The retained status of a location's open tickets, for the TV to show.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;

/// The payload of `{root}/v1/loc/{location}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationStatus {
    /// The location.
    pub location: String,
    /// When the gateway computed it (RFC 3339, UTC).
    pub updated_at: String,
    /// The location's open tickets, oldest first; empty when nothing is open.
    pub tickets: Vec<StatusTicket>,
}

/// One open ticket as the guest sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTicket {
    /// The ticket number.
    pub ticket: String,
    /// The catalog code.
    pub item: String,
    /// `new`, `assigned`, `acknowledged`, `in_progress`, `on_hold` or `reopened`.
    pub status: String,
    /// Seconds left of the estimate at `updated_at`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_s: Option<u32>,
    /// The SLA flag (`green`, `yellow`, `red`) when the ticket has an SLA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<String>,
}

impl LocationStatus {
    /// The JSON payload.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a status always serialises")
    }
}

/// Decodes a location status, as a device does. Unknown fields are ignored.
pub fn decode_status(payload: &[u8]) -> Result<LocationStatus, DecodeError> {
    Ok(crate::json::from_slice(payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let status = LocationStatus {
            location: "1204".into(),
            updated_at: "2026-01-01T10:00:00.000Z".into(),
            tickets: vec![StatusTicket {
                ticket: "HTL1-7".into(),
                item: "hk.towels".into(),
                status: "new".into(),
                eta_s: Some(600),
                sla: None,
            }],
        };
        assert_eq!(decode_status(&status.encode()), Ok(status));
    }
}
