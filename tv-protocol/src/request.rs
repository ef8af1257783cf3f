//! The service request a device publishes, and its strict decoder.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, Rejection};
use crate::id::validate_id;
use crate::{MAX_NOTE_CHARS, MAX_PAYLOAD_BYTES, MAX_QTY};

/// The longest `lang` tag accepted (BCP 47 tags in practice are far shorter).
const MAX_LANG_LEN: usize = 35;
/// The longest `sent_at` accepted; it is advisory and stored as sent.
const MAX_SENT_AT_LEN: usize = 40;

/// A guest's request from a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The device's own id for this request, the idempotency key: retries carry the same id.
    pub id: String,
    /// A catalog code such as `hk.towels`.
    pub item: String,
    /// How many, 1–99; 1 when absent.
    pub qty: u8,
    /// The guest's note, at most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The language the guest uses on the device, e.g. `en` or `pt-PT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// When the device first sent it (RFC 3339); advisory only, the gateway's clock decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
}

/// Serialises a request as a device would publish it.
pub fn encode_request(request: &Request) -> Vec<u8> {
    serde_json::to_vec(request).expect("a request always serialises")
}

/// Decodes and validates a request payload. Unknown fields are ignored; `null` counts as absent.
///
/// A rejection carries the request's `id` whenever it could be read and is valid, so the ack can echo it.
pub fn decode_request(payload: &[u8]) -> Result<Request, Rejection> {
    let object = decode_object(payload)?;
    let id = take_id(&object, "id")?;
    let bad = |message: String| Rejection::bad(message, Some(id.clone()));
    let item = match optional_str(&object, "item") {
        Ok(Some(item)) => item,
        Ok(None) => return Err(bad("item is required".into())),
        Err(message) => return Err(bad(message)),
    };
    validate_id(item).map_err(|e| bad(format!("item {e}")))?;
    let qty = match object.get("qty") {
        None | Some(Value::Null) => 1,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(q @ 1..=99) => q as u8,
            _ => return Err(bad(format!("qty must be a whole number from 1 to {MAX_QTY}"))),
        },
        Some(_) => return Err(bad(format!("qty must be a whole number from 1 to {MAX_QTY}"))),
    };
    let note = optional_str(&object, "note").map_err(&bad)?;
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(bad(format!("note is longer than {MAX_NOTE_CHARS} characters")));
    }
    let lang = optional_str(&object, "lang").map_err(&bad)?;
    if lang.is_some_and(|l| {
        l.is_empty() || l.len() > MAX_LANG_LEN || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    }) {
        return Err(bad("lang must be a language tag such as en or pt-PT".into()));
    }
    let sent_at = optional_str(&object, "sent_at").map_err(&bad)?;
    if sent_at.is_some_and(|s| s.len() > MAX_SENT_AT_LEN) {
        return Err(bad("sent_at must be an RFC 3339 time".into()));
    }
    Ok(Request {
        id: id.clone(),
        item: item.to_owned(),
        qty,
        note: note.map(str::to_owned),
        lang: lang.map(str::to_owned),
        sent_at: sent_at.map(str::to_owned),
    })
}

/// Checks the size and parses a JSON object; shared by the request and feedback decoders. An object that repeats a
/// key, at any depth, is refused: which of the two values would count is exactly what a spoofer would exploit.
pub(crate) fn decode_object(payload: &[u8]) -> Result<Map<String, Value>, Rejection> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(Rejection {
            code: ErrorCode::TooLarge,
            message: format!("payload is {} bytes; the limit is {MAX_PAYLOAD_BYTES}", payload.len()),
            id: None,
        });
    }
    match crate::json::parse(payload) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Rejection::bad("payload must be a JSON object", None)),
        Err(error) if error.classify() == serde_json::error::Category::Data => {
            Err(Rejection::bad(format!("payload is not a valid JSON object: {error}"), None))
        }
        Err(error) => Err(Rejection::bad(format!("payload is not JSON: {error}"), None)),
    }
}

/// Reads a required, valid id field.
pub(crate) fn take_id(object: &Map<String, Value>, key: &str) -> Result<String, Rejection> {
    match object.get(key) {
        Some(Value::String(id)) => match validate_id(id) {
            Ok(()) => Ok(id.clone()),
            Err(e) => Err(Rejection::bad(format!("{key} {e}"), None)),
        },
        None | Some(Value::Null) => Err(Rejection::bad(format!("{key} is required"), None)),
        Some(_) => Err(Rejection::bad(format!("{key} must be a string"), None)),
    }
}

/// Reads an optional string field; `null` counts as absent.
pub(crate) fn optional_str<'a>(object: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(payload: &[u8]) -> (ErrorCode, Option<String>) {
        let r = decode_request(payload).unwrap_err();
        (r.code, r.id)
    }

    #[test]
    fn decodes_a_full_request_and_ignores_unknown_fields() {
        let r = decode_request(
            br#"{"id":"r1","item":"hk.towels","qty":2,"note":"white","lang":"pt-PT","sent_at":"2026-01-01T10:00:00Z","x":[1]}"#,
        )
        .unwrap();
        assert_eq!(r.id, "r1");
        assert_eq!(r.item, "hk.towels");
        assert_eq!(r.qty, 2);
        assert_eq!(r.note.as_deref(), Some("white"));
        assert_eq!(r.lang.as_deref(), Some("pt-PT"));
        assert_eq!(r.sent_at.as_deref(), Some("2026-01-01T10:00:00Z"));
    }

    #[test]
    fn qty_defaults_to_one_and_nulls_are_absent() {
        let r = decode_request(br#"{"id":"r1","item":"hk.towels","qty":null,"note":null}"#).unwrap();
        assert_eq!((r.qty, r.note), (1, None));
    }

    #[test]
    fn rejections_carry_the_id_when_it_is_valid() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(code(b"towels"), (ErrorCode::BadPayload, None));
        assert_eq!(code(b"[1]"), (ErrorCode::BadPayload, None));
        assert_eq!(code(br#"{"item":"hk.towels"}"#), (ErrorCode::BadPayload, None));
        assert_eq!(code(br#"{"id":"a b","item":"hk.towels"}"#), (ErrorCode::BadPayload, None));
        assert_eq!(code(br#"{"id":7,"item":"hk.towels"}"#), (ErrorCode::BadPayload, None));
        assert_eq!(code(br#"{"id":"m1"}"#), (ErrorCode::BadPayload, some("m1")));
        assert_eq!(code(br#"{"id":"q","item":"hk.towels","qty":0}"#), (ErrorCode::BadPayload, some("q")));
        assert_eq!(code(br#"{"id":"q","item":"hk.towels","qty":100}"#), (ErrorCode::BadPayload, some("q")));
        assert_eq!(code(br#"{"id":"q","item":"hk.towels","qty":1.5}"#), (ErrorCode::BadPayload, some("q")));
        assert_eq!(code(br#"{"id":"q","item":"hk.towels","qty":"2"}"#), (ErrorCode::BadPayload, some("q")));
        assert_eq!(code(br#"{"id":"l","item":"hk.towels","lang":"e n"}"#), (ErrorCode::BadPayload, some("l")));
        let long_note = format!(r#"{{"id":"n","item":"hk.towels","note":"{}"}}"#, "é".repeat(501));
        assert_eq!(code(long_note.as_bytes()), (ErrorCode::BadPayload, some("n")));
        let ok_note = format!(r#"{{"id":"n","item":"hk.towels","note":"{}"}}"#, "é".repeat(500));
        assert!(decode_request(ok_note.as_bytes()).is_ok());
    }

    #[test]
    fn a_repeated_key_is_bad_payload_whichever_key_it_is() {
        for payload in [
            &br#"{"id":"r1","item":"hk.towels","item":"sec.sos"}"#[..],
            br#"{"id":"r1","id":"r2","item":"hk.towels"}"#,
            br#"{"id":"r1","item":"hk.towels","qty":1,"qty":9}"#,
            br#"{"id":"r1","item":"hk.towels","x":{"y":1,"y":2}}"#,
            br#"{"id":"r1","item":"hk.towels","note":null,"note":"again"}"#,
        ] {
            let r = decode_request(payload).unwrap_err();
            assert_eq!(
                (r.code, r.id.as_deref()),
                (ErrorCode::BadPayload, None),
                "{}",
                String::from_utf8_lossy(payload)
            );
            assert!(r.message.contains("duplicate key"), "{}", r.message);
        }
    }

    #[test]
    fn oversized_payloads_are_too_large() {
        let big = format!(r#"{{"id":"b","item":"hk.towels","note":"{}"}}"#, " ".repeat(MAX_PAYLOAD_BYTES));
        assert_eq!(code(big.as_bytes()), (ErrorCode::TooLarge, None));
    }

    fn request() -> impl Strategy<Value = Request> {
        (
            "[A-Za-z0-9._-]{1,64}",
            "[a-z]{1,8}\\.[a-z_]{1,12}",
            1u8..=99,
            proptest::option::of("\\PC{0,200}"),
            proptest::option::of("[a-z]{2}(-[A-Z]{2})?"),
        )
            .prop_map(|(id, item, qty, note, lang)| Request { id, item, qty, note, lang, sent_at: None })
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode_request(&bytes);
        }

        #[test]
        fn valid_requests_round_trip(r in request()) {
            prop_assert_eq!(decode_request(&encode_request(&r)), Ok(r));
        }

        /// A valid request with any one of its fields repeated (with any value) is refused as a whole.
        #[test]
        fn a_valid_request_with_a_repeated_field_is_refused(r in request(), pick in any::<prop::sample::Index>(), again in "[a-z.]{1,10}") {
            let encoded = encode_request(&r);
            let object: Map<String, Value> = serde_json::from_slice(&encoded).unwrap();
            let keys: Vec<&String> = object.keys().collect();
            let key = keys[pick.index(keys.len())];
            let mut text = String::from_utf8(encoded.clone()).unwrap();
            text.pop();
            text.push_str(&format!(",{}:{}}}", serde_json::to_string(key).unwrap(), serde_json::to_string(&again).unwrap()));
            let rejection = decode_request(text.as_bytes()).unwrap_err();
            prop_assert_eq!(rejection.code, ErrorCode::BadPayload);
        }
    }
}
