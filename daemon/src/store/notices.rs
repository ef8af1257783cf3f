//! The notice outbox (each notice and its delivery state, changed only with a `notice_*` event) and monitoring
//! alert episodes (which ticket an ongoing alert raised).

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// A notice waiting for delivery, as the delivery task needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Its id.
    pub id: String,
    /// The ticket it is about.
    pub ticket: Option<String>,
    /// The recipient's id.
    pub recipient: String,
    /// `email`, `mqtt` or a webhook's name.
    pub channel: String,
    /// Why it is sent.
    pub reason: String,
    /// The subject line.
    pub subject: String,
    /// The text.
    pub text: String,
    /// The facts (JSON).
    pub facts: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was queued (ms since the epoch).
    pub queued_ms: i64,
}

/// A new notice for the outbox.
#[derive(Debug)]
pub struct NewNotice<'a> {
    /// Its id.
    pub id: &'a str,
    /// The ticket.
    pub ticket: Option<&'a str>,
    /// The recipient.
    pub recipient: &'a str,
    /// The channel.
    pub channel: &'a str,
    /// Why.
    pub reason: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Text.
    pub text: &'a str,
    /// Facts (JSON).
    pub facts: &'a str,
    /// First due (ms since the epoch).
    pub due_ms: i64,
}

const COLUMNS: &str = "id, ticket, recipient, channel, reason, subject, text, facts, attempts, queued_ms";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notice> {
    Ok(Notice {
        id: r.get(0)?,
        ticket: r.get(1)?,
        recipient: r.get(2)?,
        channel: r.get(3)?,
        reason: r.get(4)?,
        subject: r.get(5)?,
        text: r.get(6)?,
        facts: r.get(7)?,
        attempts: r.get(8)?,
        queued_ms: r.get(9)?,
    })
}

/// Outbox and episode writes inside the writer's transaction.
pub struct Writer<'c>(pub(super) &'c Connection);

impl Writer<'_> {
    /// Puts a notice in the outbox.
    pub fn queue(&self, notice: &NewNotice<'_>, now_ms: i64, at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO notices (id, ticket, recipient, channel, reason, subject, text, facts, state, next_ms,
                 queued_ms, queued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9, ?10, ?11)",
            )?
            .execute(params![
                notice.id,
                notice.ticket,
                notice.recipient,
                notice.channel,
                notice.reason,
                notice.subject,
                notice.text,
                notice.facts,
                notice.due_ms,
                now_ms,
                at
            ])?;
        Ok(())
    }

    /// Records a delivery.
    pub fn delivered(&self, id: &str, attempts: u32, at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "UPDATE notices SET state = 'delivered', attempts = ?2, next_ms = NULL, done_at = ?3 WHERE id = ?1",
            )?
            .execute(params![id, attempts, at])?;
        Ok(())
    }

    /// Records a failed attempt: tried again at `retry_ms`, or given up when `None`.
    pub fn failed(
        &self,
        id: &str,
        attempts: u32,
        error: &str,
        retry_ms: Option<i64>,
        at: &str,
    ) -> Result<(), StoreError> {
        let state = if retry_ms.is_some() { "queued" } else { "failed" };
        let done = retry_ms.is_none().then_some(at);
        self.0
            .prepare_cached(
                "UPDATE notices SET state = ?2, attempts = ?3, last_error = ?4, next_ms = ?5, done_at = ?6 WHERE id = ?1",
            )?
            .execute(params![id, state, attempts, error, retry_ms, done])?;
        Ok(())
    }

    /// The ticket of an alert's ongoing episode, with when the episode started.
    pub fn episode(&self, source: &str, fingerprint: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT ticket, starts_at FROM alert_episodes WHERE source = ?1 AND fingerprint = ?2")?
            .query_row(params![source, fingerprint], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Records an episode's ticket.
    pub fn start_episode(
        &self,
        source: &str,
        fingerprint: &str,
        ticket: &str,
        starts_at: Option<&str>,
    ) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT OR REPLACE INTO alert_episodes (source, fingerprint, ticket, starts_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![source, fingerprint, ticket, starts_at])?;
        Ok(())
    }

    /// Ends an episode.
    pub fn end_episode(&self, source: &str, fingerprint: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached("DELETE FROM alert_episodes WHERE source = ?1 AND fingerprint = ?2")?
            .execute(params![source, fingerprint])?;
        Ok(())
    }
}

/// Outbox reads.
pub struct Queries<'c>(pub(super) &'c Connection);

impl Queries<'_> {
    /// Notices due at `now_ms`, oldest first, at most `limit`.
    pub fn due(&self, now_ms: i64, limit: u32) -> Result<Vec<Notice>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notices WHERE state = 'queued' AND next_ms <= ?1 ORDER BY next_ms, id LIMIT ?2"
        );
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![now_ms, limit], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next queued notice is due (ms since the epoch).
    pub fn next_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT MIN(next_ms) FROM notices WHERE state = 'queued'")?
            .query_row([], |r| r.get(0))?)
    }

    /// One notice, whatever its state: (attempts, state, queued_ms).
    pub fn state(&self, id: &str) -> Result<Option<(Notice, String)>, StoreError> {
        let sql = format!("SELECT {COLUMNS}, state FROM notices WHERE id = ?1");
        Ok(self.0.prepare_cached(&sql)?.query_row(params![id], |r| Ok((row(r)?, r.get(10)?))).optional()?)
    }

    /// Notices waiting in the outbox (through the partial index of queued notices, so a long history is not read).
    pub fn queued(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .0
            .prepare_cached(
                "SELECT COUNT(*) FROM notices INDEXED BY notices_due WHERE state = 'queued' AND next_ms IS NOT NULL",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(n as u64)
    }
}

impl Queries<'_> {
    /// The first journal sequence number at or after `at` (the journal's times rise with its sequence numbers;
    /// a binary search over the primary key, so a long history is never scanned).
    fn first_seq_at(&self, at: &str) -> Result<i64, StoreError> {
        let (low, high): (Option<i64>, Option<i64>) = self
            .0
            .prepare_cached("SELECT MIN(seq), MAX(seq) FROM events")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let (Some(mut low), Some(high)) = (low, high) else { return Ok(1) };
        let mut high = high + 1;
        let mut stmt = self.0.prepare_cached("SELECT at FROM events WHERE seq >= ?1 ORDER BY seq LIMIT 1")?;
        while low < high {
            let middle = low + (high - low) / 2;
            let found: Option<String> = stmt.query_row([middle], |r| r.get(0)).optional()?;
            match found {
                Some(when) if when.as_str() < at => low = middle + 1,
                _ => high = middle,
            }
        }
        Ok(low)
    }

    /// Tickets raised, tickets resolved and SLA breaches journaled from `from` (inclusive) to `to` (exclusive), both
    /// UTC times as the journal writes them.
    pub fn period_counts(&self, from: &str, to: &str) -> Result<(u64, u64, u64), StoreError> {
        let (first, end) = (self.first_seq_at(from)?, self.first_seq_at(to)?);
        let count = |sql: &str| -> Result<u64, StoreError> {
            Ok(self.0.prepare_cached(sql)?.query_row(params![first, end], |r| r.get::<_, i64>(0))? as u64)
        };
        Ok((
            count("SELECT COUNT(*) FROM events WHERE seq >= ?1 AND seq < ?2 AND kind = 'ticket_raised'")?,
            count(
                "SELECT COUNT(*) FROM events WHERE seq >= ?1 AND seq < ?2 AND kind = 'ticket_status_changed'
                 AND json_extract(payload, '$.to') = 'resolved'",
            )?,
            count("SELECT COUNT(*) FROM events WHERE seq >= ?1 AND seq < ?2 AND kind = 'sla_breached'")?,
        ))
    }
}
