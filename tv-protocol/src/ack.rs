//! The gateway's answer to one request or feedback.

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, ErrorCode};

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckResult {
    /// A new ticket was raised.
    Accepted,
    /// This device sent this id before: the same ticket as then.
    Duplicate,
    /// The same item is already open at this location: the repeat is recorded on that ticket.
    Merged,
    /// Refused; see `error`.
    Rejected,
}

/// Why a request was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A machine-readable code.
    pub code: ErrorCode,
    /// A human-readable explanation (English), for logs, not for guests.
    pub message: String,
}

/// The ack message published on the device's `ack` topic after the gateway has committed the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The request's (or feedback's) id, echoed; empty when the payload had no readable id.
    pub id: String,
    /// What became of it.
    pub result: AckResult,
    /// The ticket number, unless rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The estimated seconds until the request is fulfilled, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_s: Option<u32>,
    /// Present exactly when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl Ack {
    fn with_ticket(id: &str, result: AckResult, ticket: &str, eta_s: Option<u32>) -> Ack {
        Ack { id: id.to_owned(), result, ticket: Some(ticket.to_owned()), eta_s, error: None }
    }

    /// A new ticket was raised.
    pub fn accepted(id: &str, ticket: &str, eta_s: Option<u32>) -> Ack {
        Ack::with_ticket(id, AckResult::Accepted, ticket, eta_s)
    }

    /// The device sent this id before.
    pub fn duplicate(id: &str, ticket: &str, eta_s: Option<u32>) -> Ack {
        Ack::with_ticket(id, AckResult::Duplicate, ticket, eta_s)
    }

    /// Merged into the open ticket for the same item at the same location.
    pub fn merged(id: &str, ticket: &str, eta_s: Option<u32>) -> Ack {
        Ack::with_ticket(id, AckResult::Merged, ticket, eta_s)
    }

    /// Refused with a code and an explanation.
    pub fn rejected(id: &str, code: ErrorCode, message: &str) -> Ack {
        Ack {
            id: id.to_owned(),
            result: AckResult::Rejected,
            ticket: None,
            eta_s: None,
            error: Some(ErrorBody { code, message: message.to_owned() }),
        }
    }

    /// The JSON payload.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an ack always serialises")
    }
}

/// Decodes an ack, as a device does. Unknown fields are ignored.
pub fn decode_ack(payload: &[u8]) -> Result<Ack, DecodeError> {
    Ok(crate::json::from_slice(payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_has_ticket_and_eta_and_no_error() {
        let json: serde_json::Value =
            serde_json::from_slice(&Ack::accepted("r1", "HTL1-7", Some(900)).encode()).unwrap();
        assert_eq!(json, serde_json::json!({"id": "r1", "result": "accepted", "ticket": "HTL1-7", "eta_s": 900}));
    }

    #[test]
    fn rejected_has_an_error_and_no_ticket() {
        let ack = Ack::rejected("r2", ErrorCode::UnknownItem, "no catalog item");
        let json: serde_json::Value = serde_json::from_slice(&ack.encode()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "r2", "result": "rejected", "error": {"code": "unknown_item", "message": "no catalog item"}})
        );
        assert_eq!(decode_ack(&ack.encode()), Ok(ack));
    }

    #[test]
    fn devices_ignore_fields_added_later() {
        let ack = decode_ack(br#"{"id":"r","result":"merged","ticket":"A-1","new":true}"#).unwrap();
        assert_eq!(ack.result, AckResult::Merged);
        assert!(decode_ack(b"{}").is_err());
    }

    #[test]
    fn every_decoder_refuses_a_repeated_key() {
        assert!(decode_ack(br#"{"id":"r","result":"merged","result":"rejected","ticket":"A-1"}"#).is_err());
        assert!(decode_ack(br#"{"id":"r","result":"merged","ticket":"A-1","new":1,"new":2}"#).is_err());
        let status = br#"{"location":"101","location":"102","updated_at":"2026-01-01T10:00:00.000Z","tickets":[]}"#;
        assert!(crate::decode_status(status).is_err());
        assert!(crate::decode_menu(br#"{"version":"a","items":[],"items":[]}"#).is_err());
        let notice = br#"{"kind":"assigned","ticket":"A-1","ticket":"A-2","item":"i","location":"1","department":"d","priority":"low","at":"t"}"#;
        assert!(crate::decode_notice(notice).is_err());
    }
}
