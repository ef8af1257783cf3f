//! Random one-time codes people type or carry: enrolment codes, recovery codes and session tokens. Each is stored
//! only as its SHA-256 (they carry at least 60 bits of entropy from the system's random source, so a fast hash is
//! enough; passwords, chosen by people, get PBKDF2 instead).

use base64::Engine;
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};

/// Letters and digits that are hard to confuse when read aloud or typed from paper (no 0/O, 1/I/L).
const READABLE: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;

/// The SHA-256 of a code as stored. Enrolment and recovery codes are compared without dashes or case.
pub fn hash(code: &str) -> Vec<u8> {
    digest(&SHA256, code.as_bytes()).as_ref().to_vec()
}

/// A typed code in its stored spelling: upper case, without spaces or dashes.
pub fn normalise(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// A readable code of `groups` groups of four characters, dash-separated (20 bits per group).
pub fn readable(groups: usize) -> Result<String, ring::error::Unspecified> {
    let mut bytes = vec![0u8; groups * 4];
    SystemRandom::new().fill(&mut bytes)?;
    let chars: Vec<char> = bytes.iter().map(|b| READABLE[(*b as usize) % 31] as char).collect();
    Ok(chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
}

/// An enrolment code: 4 groups (about 79 bits).
pub fn enrolment() -> Result<String, ring::error::Unspecified> {
    readable(4)
}

/// A set of recovery codes: 3 groups each (about 59 bits).
pub fn recovery() -> Result<Vec<String>, ring::error::Unspecified> {
    (0..RECOVERY_CODES).map(|_| readable(3)).collect()
}

/// A session token: 32 random bytes, URL-safe base64.
pub fn session_token() -> Result<String, ring::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh API token: its public id (the first 12 hex digits of its hash), and the secret to hand out once.
pub fn new_token() -> Result<(String, String), ring::error::Unspecified> {
    let mut secret = [0u8; 32];
    SystemRandom::new().fill(&mut secret)?;
    let secret = format!("bh_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
    let id = public_id(&hash(&secret));
    Ok((id, secret))
}

/// A session's public id, from the hash of its token (what lists and the journal show).
pub fn public_id(token_hash: &[u8]) -> String {
    hex::encode(&token_hash[..token_hash.len().min(6)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_normalise() {
        let code = enrolment().unwrap();
        assert_eq!(code.len(), 19);
        assert!(code.chars().all(|c| c == '-' || READABLE.contains(&(c as u8))));
        assert_eq!(normalise(&code.to_lowercase()), code.replace('-', ""));
        assert_ne!(enrolment().unwrap(), code);
        assert_eq!(recovery().unwrap().len(), RECOVERY_CODES);
    }
}
