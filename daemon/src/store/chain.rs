//! The hash chain over the journal: how an event's SHA-256 is computed from its predecessor's.

use ring::digest::{Context, SHA256};

/// The hash that the first event chains to.
pub const GENESIS: [u8; 32] = [0; 32];

/// The stored fields of one event, as they enter its hash.
#[derive(Clone, Copy, Debug)]
pub struct Link<'a> {
    /// Sequence number.
    pub seq: u64,
    /// UTC time, RFC 3339.
    pub at: &'a str,
    /// Who caused it.
    pub actor: &'a str,
    /// Event kind.
    pub kind: &'a str,
    /// JSON payload.
    pub payload: &'a str,
}

/// SHA-256 over the previous hash and each field, length-prefixed so that no two events can collide by moving bytes
/// between fields: `prev_hash || u64be(seq) || for each of at, actor, kind, payload: u32be(len) || bytes`.
pub fn hash(prev: &[u8; 32], link: Link<'_>) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    ctx.update(prev);
    ctx.update(&link.seq.to_be_bytes());
    for field in [link.at, link.actor, link.kind, link.payload] {
        ctx.update(&(field.len() as u32).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    let mut out = [0; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(payload: &str) -> Link<'_> {
        Link { seq: 1, at: "2026-01-01T00:00:00Z", actor: "tv:a", kind: "ticket_raised", payload }
    }

    #[test]
    fn hash_depends_on_every_field_and_the_predecessor() {
        let base = hash(&GENESIS, link("{}"));
        assert_ne!(base, hash(&GENESIS, link("{ }")));
        assert_ne!(base, hash(&[1; 32], link("{}")));
        assert_ne!(base, hash(&GENESIS, Link { seq: 2, ..link("{}") }));
        assert_ne!(base, hash(&GENESIS, Link { actor: "tv:b", ..link("{}") }));
        assert_eq!(base, hash(&GENESIS, link("{}")));
    }

    #[test]
    fn fields_cannot_trade_bytes() {
        let a = hash(&GENESIS, Link { actor: "ab", kind: "c", ..link("{}") });
        let b = hash(&GENESIS, Link { actor: "a", kind: "bc", ..link("{}") });
        assert_ne!(a, b);
    }
}
