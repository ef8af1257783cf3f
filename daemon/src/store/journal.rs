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

/// The last pruned event's sequence and hash, when synced history has been pruned.
pub(super) fn checkpoint(conn: &Connection) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = match conn
        .prepare_cached("SELECT seq, hash FROM journal_checkpoint WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
    {
        Ok(row) => row,
        // A copy made before checkpoints existed has none.
        Err(rusqlite::Error::SqliteFailure(_, Some(message))) if message.contains("no such table") => None,
        Err(error) => return Err(error.into()),
    };
    Ok(row.and_then(|(seq, hash)| Some((seq as u64, to_hash(&hash)?))))
}

/// Walks the journal in order from its start (or from the checkpoint left by pruning) and checks sequence
/// continuity, each stored `prev_hash`, and each hash.
pub fn verify(conn: &Connection) -> Result<VerifyReport, StoreError> {
    let mut stmt = conn.prepare("SELECT seq, at, actor, kind, payload, prev_hash, hash FROM events ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let (mut expected_seq, mut prev) = match checkpoint(conn)? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS),
    };
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

/// The newest event that may be pruned: synced (at or below `synced_through`), older than `before`, and older than
/// every open ticket (so an open ticket keeps its whole history).
pub(super) fn prunable(conn: &Connection, synced_through: u64, before: &str) -> Result<Option<u64>, StoreError> {
    let limit: Option<i64> = conn
        .prepare_cached(
            "SELECT max(seq) FROM events WHERE seq <= ?1 AND at < ?2
             AND seq < coalesce((SELECT min(created_seq) FROM tickets
                                 WHERE status NOT IN ('resolved', 'closed', 'cancelled')), ?1 + 1)",
        )?
        .query_row(params![synced_through as i64, before], |r| r.get(0))?;
    Ok(limit.map(|s| s as u64))
}

/// Deletes every event up to `through` and records it as the checkpoint; returns how many were deleted.
pub(super) fn prune(conn: &Connection, through: u64) -> Result<u64, StoreError> {
    let (at, hash): (String, Vec<u8>) = conn
        .prepare_cached("SELECT at, hash FROM events WHERE seq = ?1")?
        .query_row([through as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let deleted = conn.prepare_cached("DELETE FROM events WHERE seq <= ?1")?.execute([through as i64])?;
    conn.prepare_cached(
        "INSERT INTO journal_checkpoint (id, seq, hash, at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at",
    )?
    .execute(params![through as i64, hash, at])?;
    Ok(deleted as u64)
}

#[cfg(test)]
mod tests {
    use crate::event::EventBody;
    use crate::store::{NewTicket, Reader, Store};
    use crate::vocab::{Priority, Source};

    const AT: &str = "2026-01-01T00:00:00.000Z";

    fn token(i: u64) -> EventBody {
        EventBody::TokenCreated {
            token: format!("t{i}"),
            role: crate::vocab::Role::Staff,
            label: String::new(),
            owner: None,
            department: None,
            expires_at: None,
        }
    }

    #[test]
    fn pruning_keeps_the_chain_verifiable_and_spares_open_tickets() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut txn = store.begin().unwrap();
        for i in 1..=10 {
            txn.append(AT, &crate::vocab::Actor::System, token(i)).unwrap();
        }
        // An open ticket raised by event 8 keeps its history: nothing from 8 on may go.
        let ticket = NewTicket {
            number: "T-1",
            item: "hk.towels",
            category: "housekeeping",
            location: "101",
            department: "housekeeping",
            priority: Priority::Low,
            source: Source::Staff,
            device: None,
            request_id: None,
            qty: 1,
            note: None,
            eta_s: None,
            skill: None,
        };
        txn.tickets().insert(&ticket, 8, AT).unwrap();
        txn.commit().unwrap();

        let mut txn = store.begin().unwrap();
        assert_eq!(txn.prune(9, "2027-01-01T00:00:00Z", AT, &crate::vocab::Actor::System).unwrap(), 7, "events 1-7");
        txn.commit().unwrap();
        let mut txn = store.begin().unwrap();
        txn.append(AT, &crate::vocab::Actor::System, token(12)).unwrap();
        txn.commit().unwrap();

        let report = Reader::open(dir.path()).unwrap().verify().unwrap();
        assert_eq!(report.broken, None);
        assert_eq!((report.events, report.last_seq), (5, 12), "8, 9, 10, the prune event and one more");

        // Nothing newer than the cut-off, and nothing unsynced, is ever pruned.
        let mut txn = store.begin().unwrap();
        assert_eq!(txn.prune(12, "2025-01-01T00:00:00Z", AT, &crate::vocab::Actor::System).unwrap(), 0);
        assert_eq!(txn.prune(7, "2027-01-01T00:00:00Z", AT, &crate::vocab::Actor::System).unwrap(), 0);
        txn.commit().unwrap();
    }
}
