//! The tickets projection and idempotency keys: writes inside the writer's transaction, queries anywhere.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::StoreError;
use crate::config::Priority;
use crate::event::Event;
use crate::ticket::{Source, Status};

/// A ticket as the projection holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ticket {
    /// `{site}-{n}`.
    pub number: String,
    /// Catalog code.
    pub item: String,
    /// Catalog category.
    pub category: String,
    /// Location id.
    pub location: String,
    /// Department code.
    pub department: String,
    /// Priority.
    pub priority: Priority,
    /// Current status.
    pub status: Status,
    /// Where it came from.
    pub source: Source,
    /// The device that raised it.
    pub device: Option<String>,
    /// The device's request id.
    pub request_id: Option<String>,
    /// Quantity.
    pub qty: u8,
    /// Free text.
    pub note: Option<String>,
    /// How many repeat requests were merged into it.
    pub repeats: u32,
    /// The estimate told to the guest, in seconds.
    pub eta_s: Option<u32>,
    /// When it was raised (UTC).
    pub created_at: String,
    /// When it last changed (UTC).
    pub updated_at: String,
}

/// What a new ticket is made of.
#[derive(Clone, Debug)]
pub struct NewTicket<'a> {
    /// Number.
    pub number: &'a str,
    /// Catalog code.
    pub item: &'a str,
    /// Category.
    pub category: &'a str,
    /// Location.
    pub location: &'a str,
    /// Department.
    pub department: &'a str,
    /// Priority.
    pub priority: Priority,
    /// Source.
    pub source: Source,
    /// Device.
    pub device: Option<&'a str>,
    /// Request id.
    pub request_id: Option<&'a str>,
    /// Quantity.
    pub qty: u8,
    /// Note.
    pub note: Option<&'a str>,
    /// ETA in seconds.
    pub eta_s: Option<u32>,
}

/// Filters for listing tickets.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    /// Only this status.
    pub status: Option<Status>,
    /// Only open tickets (anything not resolved, closed or cancelled).
    pub open: bool,
    /// Only this location.
    pub location: Option<String>,
    /// Only this department.
    pub department: Option<String>,
}

/// One page of a listing, newest first.
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    /// The tickets.
    pub tickets: Vec<Ticket>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<u64>,
}

/// One entry of a ticket's history.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryEntry {
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}

const TICKET_COLUMNS: &str = "number, item, category, location, department, priority, status, source, device, \
     request_id, qty, note, repeats, eta_s, created_at, updated_at, created_seq";

fn enum_from<T>(value: String, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    parse(&value).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown value {value:?}").into(),
        )
    })
}

fn ticket_from_row(row: &Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        number: row.get(0)?,
        item: row.get(1)?,
        category: row.get(2)?,
        location: row.get(3)?,
        department: row.get(4)?,
        priority: enum_from(row.get(5)?, Priority::parse)?,
        status: enum_from(row.get(6)?, Status::parse)?,
        source: enum_from(row.get(7)?, Source::parse)?,
        device: row.get(8)?,
        request_id: row.get(9)?,
        qty: row.get(10)?,
        note: row.get(11)?,
        repeats: row.get(12)?,
        eta_s: row.get(13)?,
        created_at: row.get(14)?,
        updated_at: row.get(15)?,
    })
}

/// Projection writes, used only inside the writer's transaction.
pub struct Writer<'c>(pub(super) &'c Connection);

impl Writer<'_> {
    /// Takes the next ticket number for `site`: `{site}-{n}`, n counting from 1.
    pub fn next_number(&self, site: &str) -> Result<String, StoreError> {
        let n: i64 = self
            .0
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES ('ticket', 1)
                 ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(format!("{site}-{n}"))
    }

    /// Inserts a new ticket raised by event `seq`.
    pub fn insert(&self, t: &NewTicket<'_>, seq: u64, at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO tickets (number, item, category, location, department, priority, status, source, device,
                 request_id, qty, note, repeats, eta_s, created_at, updated_at, created_seq, last_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'new', ?7, ?8, ?9, ?10, ?11, 0, ?12, ?13, ?13, ?14, ?14)",
            )?
            .execute(params![
                t.number,
                t.item,
                t.category,
                t.location,
                t.department,
                t.priority.as_str(),
                t.source.as_str(),
                t.device,
                t.request_id,
                t.qty,
                t.note,
                t.eta_s,
                at,
                seq as i64
            ])?;
        Ok(())
    }

    /// Remembers that `device`'s request `request_id` is answered by `ticket`.
    pub fn remember_request(&self, device: &str, request_id: &str, ticket: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached("INSERT INTO request_keys (device, request_id, ticket) VALUES (?1, ?2, ?3)")?
            .execute(params![device, request_id, ticket])?;
        Ok(())
    }

    /// Counts a merged repeat on `ticket`.
    pub fn add_repeat(&self, ticket: &str, seq: u64, at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "UPDATE tickets SET repeats = repeats + 1, updated_at = ?2, last_seq = ?3 WHERE number = ?1",
            )?
            .execute(params![ticket, at, seq as i64])?;
        Ok(())
    }

    /// Sets a ticket's status.
    pub fn set_status(&self, ticket: &str, status: Status, seq: u64, at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached("UPDATE tickets SET status = ?2, updated_at = ?3, last_seq = ?4 WHERE number = ?1")?
            .execute(params![ticket, status.as_str(), at, seq as i64])?;
        Ok(())
    }

    /// Records that the ticket changed without a status change (a comment).
    pub fn touch(&self, ticket: &str, seq: u64, at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached("UPDATE tickets SET updated_at = ?2, last_seq = ?3 WHERE number = ?1")?
            .execute(params![ticket, at, seq as i64])?;
        Ok(())
    }
}

/// Ticket queries, on any connection.
pub struct Queries<'c>(pub(super) &'c Connection);

impl Queries<'_> {
    /// The ticket that answered `device`'s request `request_id`, if it was seen before.
    pub fn by_request(&self, device: &str, request_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT ticket FROM request_keys WHERE device = ?1 AND request_id = ?2")?
            .query_row(params![device, request_id], |r| r.get(0))
            .optional()?)
    }

    /// The open ticket for `item` at `location`, if there is one.
    pub fn open_for(&self, location: &str, item: &str) -> Result<Option<Ticket>, StoreError> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE location = ?1 AND item = ?2
             AND status NOT IN ('resolved', 'closed', 'cancelled') ORDER BY created_seq LIMIT 1"
        );
        Ok(self.0.prepare_cached(&sql)?.query_row(params![location, item], ticket_from_row).optional()?)
    }

    /// The open tickets at `location`, oldest first.
    pub fn open_at(&self, location: &str) -> Result<Vec<Ticket>, StoreError> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE location = ?1
             AND status NOT IN ('resolved', 'closed', 'cancelled') ORDER BY created_seq"
        );
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![location], ticket_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One ticket.
    pub fn get(&self, number: &str) -> Result<Option<Ticket>, StoreError> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE number = ?1");
        Ok(self.0.prepare_cached(&sql)?.query_row(params![number], ticket_from_row).optional()?)
    }

    /// A page of tickets matching `filter`, newest first, created before the ticket raised by event `before`.
    pub fn list(&self, filter: &TicketFilter, before: Option<u64>, limit: u32) -> Result<Page, StoreError> {
        let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE created_seq < ?1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(before.map_or(i64::MAX, |b| b as i64))];
        if let Some(status) = filter.status {
            args.push(Box::new(status.as_str()));
            sql += &format!(" AND status = ?{}", args.len());
        }
        if filter.open {
            sql += " AND status NOT IN ('resolved', 'closed', 'cancelled')";
        }
        if let Some(location) = &filter.location {
            args.push(Box::new(location.clone()));
            sql += &format!(" AND location = ?{}", args.len());
        }
        if let Some(department) = &filter.department {
            args.push(Box::new(department.clone()));
            sql += &format!(" AND department = ?{}", args.len());
        }
        args.push(Box::new(i64::from(limit) + 1));
        sql += &format!(" ORDER BY created_seq DESC LIMIT ?{}", args.len());
        let mut stmt = self.0.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        let mut tickets = Vec::new();
        let mut seqs = Vec::new();
        while let Some(row) = rows.next()? {
            tickets.push(ticket_from_row(row)?);
            seqs.push(row.get::<_, i64>(16)? as u64);
        }
        let next_before = if tickets.len() > limit as usize {
            tickets.truncate(limit as usize);
            seqs.get(limit as usize - 1).copied()
        } else {
            None
        };
        Ok(Page { tickets, next_before })
    }

    /// Every event of a ticket, oldest first.
    pub fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut stmt =
            self.0.prepare_cached("SELECT seq, at, actor, payload FROM events WHERE ticket = ?1 ORDER BY seq")?;
        let mut rows = stmt.query(params![number])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let seq = row.get::<_, i64>(0)? as u64;
            let payload: String = row.get(3)?;
            let body =
                serde_json::from_str(&payload).map_err(|e| StoreError::BadPayload { seq, message: e.to_string() })?;
            out.push(HistoryEntry { event: Event { seq, at: row.get(1)?, actor: row.get(2)?, body } });
        }
        Ok(out)
    }

    /// How many tickets are open at `location`.
    pub fn open_count_at(&self, location: &str) -> Result<u32, StoreError> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT count(*) FROM tickets WHERE location = ?1 AND status NOT IN ('resolved', 'closed', 'cancelled')",
            )?
            .query_row(params![location], |r| r.get(0))?)
    }

    /// Every location with at least one open ticket.
    pub fn open_locations(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT DISTINCT location FROM tickets WHERE status NOT IN ('resolved', 'closed', 'cancelled')",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Open tickets counted by status.
    pub fn open_by_status(&self) -> Result<Vec<(Status, u64)>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT status, count(*) FROM tickets WHERE status NOT IN ('resolved', 'closed', 'cancelled') GROUP BY status",
        )?;
        let rows = stmt.query_map([], |r| Ok((enum_from(r.get(0)?, Status::parse)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
