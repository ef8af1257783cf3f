//! Appending to the journal and checking its hash chain.

use rusqlite::{params, Connection, OptionalExtension};

use super::chain::{self, Link, GENESIS};
use super::StoreError;
use crate::event::EventBody;

/// The last event's sequence number and hash (0 and the genesis hash when the journal is empty).
pub(super) fn tail(conn: &Connection) -> Result<(u64, [u8; 32]), StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        None => (0, GENESIS),
        Some((seq, hash)) => (seq as u64, to_hash(&hash).unwrap_or(GENESIS)),
    })
}

/// Inserts event `seq` chained to `prev` and returns its hash.
pub(super) fn append(
    conn: &Connection,
    prev: &[u8; 32],
    seq: u64,
    at: &str,
    actor: &str,
    body: &EventBody,
) -> Result<[u8; 32], StoreError> {
    let payload = serde_json::to_string(body).map_err(|e| StoreError::BadPayload { seq, message: e.to_string() })?;
    let kind = body.kind();
    let hash = chain::hash(prev, Link { seq, at, actor, kind, payload: &payload });
    conn.prepare_cached(
        "INSERT INTO events (seq, at, actor, kind, ticket, payload, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![seq as i64, at, actor, kind, body.ticket(), payload, &prev[..], &hash[..]])?;
    Ok(hash)
}

fn to_hash(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

/// Where and why the chain breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first event that does not check out.
    pub seq: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// The outcome of checking the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// The last sequence number seen.
    pub last_seq: u64,
    /// The first break, if any.
    pub broken: Option<ChainBreak>,
}

/// Walks the whole journal in order and checks sequence continuity, each stored `prev_hash`, and each hash.
pub fn verify(conn: &Connection) -> Result<VerifyReport, StoreError> {
    let mut stmt = conn.prepare("SELECT seq, at, actor, kind, payload, prev_hash, hash FROM events ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1u64;
    let mut prev = GENESIS;
    let mut events = 0u64;
    let mut broken = None;
    while let Some(row) = rows.next()? {
        let seq = row.get::<_, i64>(0)? as u64;
        let at: String = row.get(1)?;
        let actor: String = row.get(2)?;
        let kind: String = row.get(3)?;
        let payload: String = row.get(4)?;
        let stored_prev: Vec<u8> = row.get(5)?;
        let stored_hash: Vec<u8> = row.get(6)?;
        events += 1;
        let fail = |reason: String| Some(ChainBreak { seq, reason });
        if seq != expected_seq {
            broken = fail(format!("expected sequence {expected_seq}, found {seq} (events missing)"));
        } else if to_hash(&stored_prev) != Some(prev) {
            broken = fail("its previous-hash does not match the event before it".into());
        } else if !serde_json::from_str::<EventBody>(&payload).is_ok_and(|b| b.kind() == kind) {
            broken = fail(format!("its payload is not a valid `{kind}` event"));
        } else {
            let computed = chain::hash(&prev, Link { seq, at: &at, actor: &actor, kind: &kind, payload: &payload });
            if to_hash(&stored_hash) != Some(computed) {
                broken = fail("its content does not match its hash (edited after commit)".into());
            } else {
                prev = computed;
            }
        }
        if broken.is_some() {
            break;
        }
        expected_seq += 1;
    }
    Ok(VerifyReport { events, last_seq: expected_seq - 1, broken })
}
