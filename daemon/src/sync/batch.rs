//! Batches: consecutive journal events read on a read-only connection, bounded by count and bytes, gzip'd.
//!
//! The body is `{"gateway":ID,"events":[{"seq","at","actor","kind","ticket","payload","prev_hash","hash"},...]}`.
//! `payload` is the stored JSON text embedded verbatim, so a receiver that keeps the member's raw text can recompute
//! the hash chain byte for byte.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use serde_json::value::RawValue;

/// One journal row as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Sequence number.
    pub seq: u64,
    /// UTC time, RFC 3339.
    pub at: String,
    /// Who caused it.
    pub actor: String,
    /// Event kind.
    pub kind: String,
    /// The ticket it belongs to, if any.
    pub ticket: Option<String>,
    /// The JSON payload text.
    pub payload: String,
    /// The previous event's hash.
    pub prev_hash: Vec<u8>,
    /// This event's hash.
    pub hash: Vec<u8>,
}

#[derive(Serialize)]
struct WireEvent<'a> {
    seq: u64,
    at: &'a str,
    actor: &'a str,
    kind: &'a str,
    ticket: Option<&'a str>,
    payload: &'a RawValue,
    prev_hash: String,
    hash: String,
}

/// A batch ready to send.
#[derive(Clone, Debug)]
pub struct Batch {
    /// First sequence in it (the cursor + 1).
    pub first: u64,
    /// Last sequence in it.
    pub last: u64,
    /// Length of the JSON before compression.
    pub json_len: usize,
    /// The gzip'd body.
    pub body: bytes::Bytes,
}

/// Why no batch could be built.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// SQLite failed (busy, I/O); worth retrying.
    #[error("reading the journal: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The journal itself is wrong: a gap or a payload that is not JSON. Retrying will not help.
    #[error("the journal cannot be sent: {0}")]
    Corrupt(String),
}

/// Accumulates consecutive events into a gzip'd body within the bounds.
pub struct Builder {
    encoder: GzEncoder<Vec<u8>>,
    scratch: Vec<u8>,
    next: u64,
    first: u64,
    count: usize,
    json_len: usize,
    max_events: usize,
    max_bytes: usize,
}

/// Bytes that close the document: `]}`.
const CLOSING: usize = 2;

impl Builder {
    /// Starts a batch of events after `cursor`.
    pub fn new(gateway_id: &str, cursor: u64, max_events: usize, max_bytes: usize) -> Builder {
        let mut encoder = GzEncoder::new(Vec::with_capacity(max_bytes.min(1 << 20) / 4), Compression::fast());
        let head = format!("{{\"gateway\":{},\"events\":[", serde_json::Value::from(gateway_id));
        encoder.write_all(head.as_bytes()).expect("writing to memory");
        Builder {
            encoder,
            scratch: Vec::with_capacity(1024),
            next: cursor + 1,
            first: cursor + 1,
            count: 0,
            json_len: head.len(),
            max_events: max_events.max(1),
            max_bytes,
        }
    }

    /// Events added so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether another event may still fit.
    pub fn has_room(&self) -> bool {
        self.count < self.max_events && self.json_len + CLOSING < self.max_bytes
    }

    /// Adds `row` if it is the next sequence and fits; returns whether it was added. The first event is always
    /// added, however large. A row that is not the next sequence is an error (the journal has a gap).
    pub fn push(&mut self, row: &Row) -> Result<bool, BatchError> {
        if row.seq != self.next {
            return Err(BatchError::Corrupt(format!("expected event {}, found {} (a gap)", self.next, row.seq)));
        }
        if self.count >= self.max_events {
            return Ok(false);
        }
        let payload: &RawValue = serde_json::from_str(&row.payload)
            .map_err(|e| BatchError::Corrupt(format!("event {} has a payload that is not JSON: {e}", row.seq)))?;
        let event = WireEvent {
            seq: row.seq,
            at: &row.at,
            actor: &row.actor,
            kind: &row.kind,
            ticket: row.ticket.as_deref(),
            payload,
            prev_hash: hex::encode(&row.prev_hash),
            hash: hex::encode(&row.hash),
        };
        self.scratch.clear();
        if self.count > 0 {
            self.scratch.push(b',');
        }
        serde_json::to_writer(&mut self.scratch, &event).expect("serialising to memory");
        if self.count > 0 && self.json_len + self.scratch.len() + CLOSING > self.max_bytes {
            return Ok(false);
        }
        self.encoder.write_all(&self.scratch).expect("writing to memory");
        self.json_len += self.scratch.len();
        self.count += 1;
        self.next += 1;
        Ok(true)
    }

    /// Finishes the document; `None` when no event was added.
    pub fn finish(mut self) -> Option<Batch> {
        if self.count == 0 {
            return None;
        }
        self.encoder.write_all(b"]}").expect("writing to memory");
        let body = self.encoder.finish().expect("writing to memory");
        Some(Batch {
            first: self.first,
            last: self.next - 1,
            json_len: self.json_len + CLOSING,
            body: bytes::Bytes::from(body),
        })
    }
}

/// A read-only view of the journal in `{data_dir}/bellhop.db`. It never writes.
pub struct Journal {
    conn: Connection,
}

impl Journal {
    /// Opens the daemon's database read-only. Fails while it does not exist yet.
    pub fn open(data_dir: &Path) -> Result<Journal, rusqlite::Error> {
        let path = crate::store::db_path(data_dir);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(Journal { conn })
    }

    /// The last sequence in the journal (0 when empty).
    pub fn tail(&self) -> Result<u64, rusqlite::Error> {
        let seq: Option<i64> = self.conn.prepare_cached("SELECT MAX(seq) FROM events")?.query_row([], |r| r.get(0))?;
        Ok(seq.unwrap_or(0) as u64)
    }

    /// The time of event `seq`, if it exists.
    pub fn time_of(&self, seq: u64) -> Result<Option<String>, rusqlite::Error> {
        self.conn
            .prepare_cached("SELECT at FROM events WHERE seq = ?1")?
            .query_row([seq as i64], |r| r.get(0))
            .optional()
    }

    /// Builds the next batch after `cursor`, or `None` when the journal holds nothing newer.
    pub fn read_batch(
        &self,
        gateway_id: &str,
        cursor: u64,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Option<Batch>, BatchError> {
        let mut builder = Builder::new(gateway_id, cursor, max_events, max_bytes);
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, actor, kind, ticket, payload, prev_hash, hash FROM events \
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut rows = stmt.query([cursor as i64, max_events as i64])?;
        while builder.has_room() {
            let Some(r) = rows.next()? else { break };
            let row = Row {
                seq: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                actor: r.get(2)?,
                kind: r.get(3)?,
                ticket: r.get(4)?,
                payload: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            };
            match builder.push(&row) {
                Ok(true) => {}
                Ok(false) => break,
                // A gap after some events: send those; the gap is reported when it comes first.
                Err(_) if !builder.is_empty() => break,
                Err(e) => return Err(e),
            }
        }
        Ok(builder.finish())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn row(seq: u64, payload_len: usize) -> Row {
        Row {
            seq,
            at: "2026-03-01T12:00:00.000Z".into(),
            actor: "system".into(),
            kind: "ticket_commented".into(),
            ticket: seq.is_multiple_of(2).then(|| format!("A-{seq}")),
            payload: format!("{{\"kind\":\"ticket_commented\",\"text\":\"{}\"}}", "x".repeat(payload_len)),
            prev_hash: vec![seq as u8; 32],
            hash: vec![seq as u8 + 1; 32],
        }
    }

    fn unzip(batch: &Batch) -> serde_json::Value {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&batch.body[..]).read_to_string(&mut text).unwrap();
        assert_eq!(text.len(), batch.json_len);
        serde_json::from_str(&text).unwrap()
    }

    fn fill(builder: &mut Builder, rows: impl IntoIterator<Item = Row>) {
        for r in rows {
            if !builder.has_room() || !builder.push(&r).unwrap() {
                break;
            }
        }
    }

    #[test]
    fn the_wire_format_embeds_the_payload_verbatim() {
        let mut b = Builder::new("hotel-42", 6, 10, 1 << 20);
        fill(&mut b, [row(7, 3), row(8, 0)]);
        let batch = b.finish().unwrap();
        assert_eq!((batch.first, batch.last), (7, 8));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&batch.body[..]).read_to_string(&mut text).unwrap();
        let expected = format!(
            "{{\"gateway\":\"hotel-42\",\"events\":[{{\"seq\":7,\"at\":\"2026-03-01T12:00:00.000Z\",\
             \"actor\":\"system\",\"kind\":\"ticket_commented\",\"ticket\":null,\
             \"payload\":{{\"kind\":\"ticket_commented\",\"text\":\"xxx\"}},\
             \"prev_hash\":\"{}\",\"hash\":\"{}\"}},",
            "07".repeat(32),
            "08".repeat(32)
        );
        assert!(text.starts_with(&expected), "{text}");
        assert!(text.contains("\"ticket\":\"A-8\""));
        assert!(text.ends_with("]}"));
    }

    #[test]
    fn batches_are_bounded_by_count() {
        let mut b = Builder::new("g", 0, 3, 1 << 20);
        fill(&mut b, (1..=10).map(|s| row(s, 10)));
        let batch = b.finish().unwrap();
        assert_eq!((batch.first, batch.last), (1, 3));
        assert_eq!(unzip(&batch)["events"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn batches_are_bounded_by_bytes_but_hold_at_least_one_event() {
        for max_bytes in [1024, 4096, 10_000] {
            let mut b = Builder::new("g", 100, 1000, max_bytes);
            fill(&mut b, (101..=200).map(|s| row(s, 300)));
            let batch = b.finish().unwrap();
            assert!(batch.json_len <= max_bytes, "{} > {max_bytes}", batch.json_len);
            assert!(batch.json_len + 1000 > max_bytes, "the batch is nearly full: {}", batch.json_len);
            let events = unzip(&batch)["events"].as_array().unwrap().len() as u64;
            assert_eq!(batch.last - batch.first + 1, events);
        }
        let mut b = Builder::new("g", 0, 1000, 1024);
        fill(&mut b, [row(1, 5000), row(2, 1)]);
        let batch = b.finish().unwrap();
        assert_eq!((batch.first, batch.last), (1, 1), "a single oversized event still goes, alone");
    }

    #[test]
    fn gaps_and_bad_payloads_are_refused() {
        let mut b = Builder::new("g", 0, 10, 1 << 20);
        assert!(matches!(b.push(&row(2, 1)), Err(BatchError::Corrupt(_))));
        let mut bad = row(1, 1);
        bad.payload = "{not json".into();
        assert!(matches!(b.push(&bad), Err(BatchError::Corrupt(_))));
        assert!(b.finish().is_none());
    }
}
