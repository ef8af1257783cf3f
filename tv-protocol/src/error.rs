//! The error codes of a rejected request or feedback, and the rejection a decoder returns.

use serde::{Deserialize, Serialize};

/// Why the gateway rejected a request; sent as `error.code` in the ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The payload is not a JSON object of the expected shape, or a field is out of range.
    BadPayload,
    /// The payload is larger than [`crate::MAX_PAYLOAD_BYTES`].
    TooLarge,
    /// The item is not in the catalog.
    UnknownItem,
    /// The location in the topic is not one the device may speak for.
    LocationMismatch,
    /// Too many requests from this device or location; try later.
    RateLimited,
    /// The gateway cannot take the request now (for example its disk failed); retry.
    Unavailable,
    /// The device is not known to the gateway and unknown devices are refused.
    UnknownDevice,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::BadPayload,
        ErrorCode::TooLarge,
        ErrorCode::UnknownItem,
        ErrorCode::LocationMismatch,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::UnknownDevice,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadPayload => "bad_payload",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnknownItem => "unknown_item",
            ErrorCode::LocationMismatch => "location_mismatch",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::UnknownDevice => "unknown_device",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload the decoder refused, with the device's id for it when one could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The error code for the ack.
    pub code: ErrorCode,
    /// A human-readable explanation for the ack and the journal.
    pub message: String,
    /// The payload's `id`, when it was present and valid, so the ack can echo it.
    pub id: Option<String>,
}

impl Rejection {
    pub(crate) fn bad(message: impl Into<String>, id: Option<String>) -> Rejection {
        Rejection { code: ErrorCode::BadPayload, message: message.into(), id }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}

/// A gateway-to-device payload (ack, status, menu) that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl From<serde_json::Error> for DecodeError {
    fn from(error: serde_json::Error) -> Self {
        DecodeError(error.to_string())
    }
}
