//! Staff notifications: what a handheld subscribed to `{root}/v1/staff/{staff}/notify` receives.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;

/// Why a member of staff is told about a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The ticket was given to them.
    Assigned,
    /// Nobody on duty can take the ticket; it waits in the department's queue (sent to supervisors).
    Queued,
    /// An escalation level reached them.
    Escalation,
}

/// The payload of `{root}/v1/staff/{staff}/notify` (QoS 1, not retained).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffNotice {
    /// Why.
    pub kind: NoticeKind,
    /// The ticket number.
    pub ticket: String,
    /// The catalog code.
    pub item: String,
    /// The location id.
    pub location: String,
    /// The department.
    pub department: String,
    /// `critical`, `high`, `medium` or `low`.
    pub priority: String,
    /// The escalation level, from 1 (escalations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    /// `due`, `emergency` or `manual` (escalations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The SLA flag when sent: `green`, `yellow` or `red`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<String>,
    /// When the notice was raised (UTC, RFC 3339).
    pub at: String,
}

impl StaffNotice {
    /// The JSON payload.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a notice always serialises")
    }
}

/// Decodes a notice, as a handheld does. Unknown fields are ignored.
pub fn decode_notice(payload: &[u8]) -> Result<StaffNotice, DecodeError> {
    Ok(crate::json::from_slice(payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusal() {
        let notice = StaffNotice {
            kind: NoticeKind::Escalation,
            ticket: "HTL1-7".into(),
            item: "sec.sos".into(),
            location: "1204".into(),
            department: "security".into(),
            priority: "critical".into(),
            level: Some(2),
            reason: Some("due".into()),
            sla: Some("red".into()),
            at: "2026-11-23T10:15:00.000Z".into(),
        };
        let bytes = notice.encode();
        assert!(String::from_utf8_lossy(&bytes).contains(r#""kind":"escalation""#));
        assert_eq!(decode_notice(&bytes).unwrap(), notice);
        assert!(decode_notice(b"{\"kind\":\"party\"}").is_err());
        assert!(decode_notice(b"\xff").is_err());
    }
}
