//! A guest's feedback on a ticket from the device: a rating after resolution, or a cancel.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Rejection;
use crate::id::validate_id;
use crate::request::{decode_object, optional_str, take_id};
use crate::MAX_NOTE_CHARS;

/// A feedback message on the device's `feedback` topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// The device's own id for this message; retries carry the same id.
    pub id: String,
    /// The ticket number from the ack.
    pub ticket: String,
    /// What the guest did.
    #[serde(flatten)]
    pub kind: FeedbackKind,
}

/// What the guest did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeedbackKind {
    /// Rated a resolved ticket 1–5 stars, optionally with a comment of at most 500 characters.
    Rating {
        stars: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// Withdrew the request.
    Cancel,
}

/// Serialises feedback as a device would publish it.
pub fn encode_feedback(feedback: &Feedback) -> Vec<u8> {
    serde_json::to_vec(feedback).expect("feedback always serialises")
}

/// Decodes and validates feedback. Unknown fields are ignored; `null` counts as absent.
pub fn decode_feedback(payload: &[u8]) -> Result<Feedback, Rejection> {
    let object = decode_object(payload)?;
    let id = take_id(&object, "id")?;
    let bad = |message: String| Rejection::bad(message, Some(id.clone()));
    let ticket = optional_str(&object, "ticket").map_err(&bad)?.ok_or_else(|| bad("ticket is required".into()))?;
    validate_id(ticket).map_err(|e| bad(format!("ticket {e}")))?;
    let kind = match optional_str(&object, "kind").map_err(&bad)? {
        Some("cancel") => FeedbackKind::Cancel,
        Some("rating") => {
            let stars = match object.get("stars").and_then(Value::as_u64) {
                Some(s @ 1..=5) => s as u8,
                _ => return Err(bad("stars must be a whole number from 1 to 5".into())),
            };
            let comment = optional_str(&object, "comment").map_err(&bad)?;
            if comment.is_some_and(|c| c.chars().count() > MAX_NOTE_CHARS) {
                return Err(bad(format!("comment is longer than {MAX_NOTE_CHARS} characters")));
            }
            FeedbackKind::Rating { stars, comment: comment.map(str::to_owned) }
        }
        Some(other) => return Err(bad(format!("kind {other:?} is not rating or cancel"))),
        None => return Err(bad("kind is required (rating or cancel)".into())),
    };
    Ok(Feedback { id, ticket: ticket.to_owned(), kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use proptest::prelude::*;

    #[test]
    fn decodes_rating_and_cancel() {
        let rating = decode_feedback(br#"{"id":"f1","ticket":"HTL1-42","kind":"rating","stars":5,"comment":"quick"}"#);
        assert_eq!(
            rating.unwrap(),
            Feedback {
                id: "f1".into(),
                ticket: "HTL1-42".into(),
                kind: FeedbackKind::Rating { stars: 5, comment: Some("quick".into()) }
            }
        );
        let cancel = decode_feedback(br#"{"id":"f2","ticket":"HTL1-42","kind":"cancel","extra":1}"#).unwrap();
        assert_eq!(cancel.kind, FeedbackKind::Cancel);
    }

    #[test]
    fn refuses_bad_feedback_with_the_id() {
        for payload in [
            br#"{"id":"f","ticket":"HTL1-1","kind":"rating","stars":0}"#.as_slice(),
            br#"{"id":"f","ticket":"HTL1-1","kind":"rating","stars":6}"#,
            br#"{"id":"f","ticket":"HTL1-1","kind":"rating"}"#,
            br#"{"id":"f","ticket":"HTL1-1","kind":"like"}"#,
            br#"{"id":"f","ticket":"HTL1-1"}"#,
            br#"{"id":"f","kind":"cancel"}"#,
        ] {
            let r = decode_feedback(payload).unwrap_err();
            assert_eq!((r.code, r.id.as_deref()), (ErrorCode::BadPayload, Some("f")));
        }
    }

    #[test]
    fn a_repeated_key_is_bad_payload() {
        for payload in [
            &br#"{"id":"f","ticket":"HTL1-1","kind":"rating","stars":1,"stars":5}"#[..],
            br#"{"id":"f","ticket":"HTL1-1","ticket":"HTL1-2","kind":"cancel"}"#,
            br#"{"id":"f","ticket":"HTL1-1","kind":"rating","kind":"cancel","stars":3}"#,
        ] {
            let r = decode_feedback(payload).unwrap_err();
            assert_eq!(r.code, ErrorCode::BadPayload, "{}", String::from_utf8_lossy(payload));
            assert!(r.message.contains("duplicate key"), "{}", r.message);
        }
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_feedback(&bytes);
        }

        #[test]
        fn ratings_round_trip(stars in 1u8..=5, comment in proptest::option::of("\\PC{0,100}")) {
            let f = Feedback { id: "f".into(), ticket: "T-1".into(), kind: FeedbackKind::Rating { stars, comment } };
            prop_assert_eq!(decode_feedback(&encode_feedback(&f)), Ok(f));
        }
    }
}
