//! Request signing: HMAC-SHA256 under the per-gateway secret over method, path, timestamp and body digest.
//!
//! `X-Bellhop-Signature: v1=hex(HMAC-SHA256(secret, METHOD "\n" PATH "\n" TIMESTAMP "\n" CONTENT_SHA256_HEX))`,
//! where the body digest is over the bytes as sent (after compression). See `docs/cloud-sync.md`.

use ring::{digest, hmac};

/// Header carrying the gateway id.
pub const GATEWAY_HEADER: &str = "x-bellhop-gateway";
/// Header carrying the signing time, RFC 3339 UTC in whole seconds.
pub const TIMESTAMP_HEADER: &str = "x-bellhop-timestamp";
/// Header carrying the lowercase hex SHA-256 of the body as sent.
pub const CONTENT_SHA256_HEADER: &str = "x-bellhop-content-sha256";
/// Header carrying `v1=` and the lowercase hex signature.
pub const SIGNATURE_HEADER: &str = "x-bellhop-signature";

/// The signature headers of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// `X-Bellhop-Timestamp`.
    pub timestamp: String,
    /// `X-Bellhop-Content-SHA256`.
    pub content_sha256: String,
    /// `X-Bellhop-Signature` (with the `v1=` prefix).
    pub signature: String,
}

/// Formats a time as the signing timestamp: `2026-03-01T12:00:00Z`.
pub fn timestamp(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Lowercase hex SHA-256 of `body`.
pub fn content_sha256(body: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, body))
}

/// The exact bytes that are MAC'd.
pub fn string_to_sign(method: &str, path: &str, timestamp: &str, content_sha256: &str) -> String {
    format!("{method}\n{path}\n{timestamp}\n{content_sha256}")
}

/// Signs a request.
pub fn sign(secret: &[u8], method: &str, path: &str, timestamp: &str, body: &[u8]) -> Signed {
    let content_sha256 = content_sha256(body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, string_to_sign(method, path, timestamp, &content_sha256).as_bytes());
    Signed { timestamp: timestamp.to_owned(), content_sha256, signature: format!("v1={}", hex::encode(tag)) }
}

/// Checks a signature header in constant time (the receiver's side; also used by the reference receiver's tests).
pub fn verify(secret: &[u8], method: &str, path: &str, timestamp: &str, content_sha256: &str, header: &str) -> bool {
    let Some(tag) = header.strip_prefix("v1=").and_then(|h| hex::decode(h).ok()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, string_to_sign(method, path, timestamp, content_sha256).as_bytes(), &tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secret, method, path, timestamp, body, then the expected digest and signature.
    type Vector = (&'static str, &'static str, &'static str, &'static str, &'static [u8], &'static str, &'static str);

    /// The vectors printed in `docs/cloud-sync.md`; a receiver's implementation should reproduce them.
    const VECTORS: [Vector; 3] = [
        (
            "test-secret-0123456789",
            "POST",
            "/v1/gateways/hotel-42/events",
            "2026-03-01T12:00:00Z",
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "v1=155f684c259579c4cf463cef7b0a7b5c0aa992694c34f3d2b7cd1bf1344fbe10",
        ),
        (
            "test-secret-0123456789",
            "POST",
            "/v1/gateways/hotel-42/events",
            "2026-03-01T12:00:00Z",
            br#"{"gateway":"hotel-42","events":[]}"#,
            "e116e3888c9920974213eae8c0db1d801b1abbe6c8cba2eaf80d6bf162a32a8c",
            "v1=27ba59940b995021499aad6a887fdae35469102c0432b20042f15c2e8dad4b0d",
        ),
        (
            "another secret, 32 bytes long!!!",
            "POST",
            "/ingest/v1/gateways/gw_7.b/events",
            "2031-12-31T23:59:59Z",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            "ac73670af3abed54ac6fb4695131f4099be9fbe39d6076c5d0264a6bbdae9d83",
            "v1=5f49088e0624b953208463e05eb6214d5c93f7bf94ae6c6e1b01de8a1d88378f",
        ),
    ];

    #[test]
    fn vectors_reproduce() {
        for (secret, method, path, ts, body, digest, signature) in VECTORS {
            let signed = sign(secret.as_bytes(), method, path, ts, body);
            assert_eq!(signed.content_sha256, digest);
            assert_eq!(signed.signature, signature);
            assert_eq!(signed.timestamp, ts);
            assert!(verify(secret.as_bytes(), method, path, ts, digest, signature));
        }
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let (secret, method, path, ts, body, digest, signature) = VECTORS[1];
        let secret = secret.as_bytes();
        assert!(!verify(b"test-secret-0123456788", method, path, ts, digest, signature));
        assert!(!verify(secret, "PUT", path, ts, digest, signature));
        assert!(!verify(secret, method, "/v1/gateways/hotel-43/events", ts, digest, signature));
        assert!(!verify(secret, method, path, "2026-03-01T12:00:01Z", digest, signature));
        assert!(!verify(secret, method, path, ts, &content_sha256(b"{}"), signature));
        assert!(!verify(secret, method, path, ts, digest, &signature.replace("v1=", "v2=")));
        assert!(!verify(secret, method, path, ts, digest, "v1=zz"));
        assert_eq!(content_sha256(body), digest);
    }

    #[test]
    fn timestamps_are_utc_seconds() {
        let at: jiff::Timestamp = "2026-03-01T13:00:00.987+01:00".parse().unwrap();
        assert_eq!(timestamp(at), "2026-03-01T12:00:00Z");
    }
}
