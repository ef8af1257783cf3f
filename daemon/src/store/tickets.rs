//! The tickets projection and idempotency keys: writes inside the writer's transaction, queries anywhere.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::StoreError;
use crate::event::Event;
use crate::vocab::{Flag, Priority, Source, Status};

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
    /// The member of staff who has it; `None` while it waits in the department's queue.
    pub assignee: Option<String>,
    /// The skill it needs, from routing.
    pub skill: Option<String>,
    /// Its SLA: policy, flag and deadlines; `None` for tickets raised before SLAs existed.
    pub sla: Option<TicketSla>,
}

/// A ticket's SLA as the board shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TicketSla {
    /// The policy's name.
    pub policy: String,
    /// `green`, `yellow` or `red`.
    pub flag: Flag,
    /// When it must be acknowledged (UTC), while the clock runs and until it is.
    pub response_due: Option<String>,
    /// When it must be resolved (UTC), while the clock runs.
    pub resolution_due: Option<String>,
    /// Whether the clock is paused (on hold, do-not-disturb).
    pub paused: bool,
    /// For reports: time to respond and to resolve (business time, pauses excluded), time paused, and which targets
    /// were breached.
    pub measures: Option<crate::engine::sla::Measures>,
}

/// What the SLA projection of a ticket holds after a change.
#[derive(Clone, Debug)]
pub struct SlaRow<'a> {
    /// The policy's name.
    pub policy: &'a str,
    /// The flag.
    pub flag: Flag,
    /// Response deadline, when running and not yet acknowledged.
    pub response_due: Option<String>,
    /// Resolution deadline, when running.
    pub resolution_due: Option<String>,
    /// Whether paused.
    pub paused: bool,
    /// The SLA clock's state as JSON.
    pub state: String,
    /// When the scheduler must next look at it (ms since the epoch), if ever.
    pub due_ms: Option<i64>,
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
    /// The skill it needs.
    pub skill: Option<&'a str>,
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
    /// Only this SLA flag.
    pub sla: Option<Flag>,
    /// Only tickets assigned to this member of staff.
    pub assignee: Option<String>,
    /// Only open tickets nobody has (the department queues).
    pub queued: bool,
    /// Only what a person with a limited scope may see.
    pub visible: Option<Visibility>,
}

/// What a person with a limited scope may see: tickets of these departments, and tickets assigned to them.
#[derive(Clone, Debug, Default)]
pub struct Visibility {
    /// Their departments.
    pub departments: Vec<String>,
    /// Their staff id, when tickets assigned to them are visible whatever the department.
    pub assignee: Option<String>,
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
     request_id, qty, note, repeats, eta_s, created_at, updated_at, created_seq, assignee, skill, sla_policy, sla_flag, \
     sla_response_due, sla_resolution_due, sla_paused, sla_state";

pub(super) fn enum_from<T>(value: String, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
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
        assignee: row.get(17)?,
        skill: row.get(18)?,
        sla: match row.get::<_, Option<String>>(19)? {
            Some(policy) => Some(TicketSla {
                policy,
                flag: row.get::<_, Option<String>>(20)?.map_or(Ok(Flag::Green), |text| enum_from(text, Flag::parse))?,
                response_due: row.get(21)?,
                resolution_due: row.get(22)?,
                paused: row.get(23)?,
                measures: row
                    .get::<_, Option<String>>(24)?
                    .and_then(|state| serde_json::from_str::<crate::engine::sla::State>(&state).ok())
                    .map(|state| crate::engine::sla::measures(&state)),
            }),
            None => None,
        },
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
                 request_id, qty, note, repeats, eta_s, created_at, updated_at, created_seq, last_seq, skill)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'new', ?7, ?8, ?9, ?10, ?11, 0, ?12, ?13, ?13, ?14, ?14, ?15)",
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
                seq as i64,
                t.skill
            ])?;
        Ok(())
    }

    /// Sets a named counter (for example the fingerprint of the SLA settings the open clocks were computed with).
    pub fn set_counter(&self, name: &str, value: i64) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![name, value])?;
        Ok(())
    }

    /// Gives a ticket to `assignee` (or back to its department's queue) with its new status.
    pub fn set_assignee(
        &self,
        ticket: &str,
        assignee: Option<&str>,
        status: Status,
        seq: u64,
        at: &str,
    ) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "UPDATE tickets SET assignee = ?2, status = ?3, updated_at = ?4, last_seq = ?5 WHERE number = ?1",
            )?
            .execute(params![ticket, assignee, status.as_str(), at, seq as i64])?;
        Ok(())
    }

    /// Stores a ticket's SLA clock and what the board shows of it.
    pub fn set_sla(&self, ticket: &str, row: &SlaRow<'_>) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "UPDATE tickets SET sla_policy = ?2, sla_flag = ?3, sla_response_due = ?4, sla_resolution_due = ?5,
                 sla_paused = ?6, sla_state = ?7, sla_due_ms = ?8 WHERE number = ?1",
            )?
            .execute(params![
                ticket,
                row.policy,
                row.flag.as_str(),
                row.response_due,
                row.resolution_due,
                row.paused,
                row.state,
                row.due_ms
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

    /// Moves the created and updated times of every open ticket by `delta_ms`, after the system clock stepped, so
    /// they stay on the same clock as the SLA deadlines that move with them (a deadline never shows before the
    /// ticket was raised). The journal keeps the times as the clock read them, and `clock_stepped` says by how
    /// much it moved. Returns the locations of the tickets moved.
    pub fn shift_open_times(&self, delta_ms: i64) -> Result<Vec<String>, StoreError> {
        let shift = |text: &str| match text.parse::<jiff::Timestamp>() {
            Ok(t) => t
                .checked_add(jiff::SignedDuration::from_millis(delta_ms))
                .map_or_else(|_| text.to_owned(), crate::clock::format_time),
            Err(_) => text.to_owned(),
        };
        let mut select = self.0.prepare_cached(
            "SELECT number, location, created_at, updated_at FROM tickets
             WHERE status NOT IN ('resolved', 'closed', 'cancelled')",
        )?;
        let open = select
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)))?
            .collect::<Result<Vec<(String, String, String, String)>, _>>()?;
        let mut update =
            self.0.prepare_cached("UPDATE tickets SET created_at = ?2, updated_at = ?3 WHERE number = ?1")?;
        let mut locations = Vec::with_capacity(open.len());
        for (number, location, created_at, updated_at) in open {
            update.execute(params![number, shift(&created_at), shift(&updated_at)])?;
            locations.push(location);
        }
        Ok(locations)
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
        if let Some(flag) = &filter.sla {
            args.push(Box::new(flag.as_str()));
            sql += &format!(" AND sla_flag = ?{}", args.len());
        }
        if let Some(assignee) = &filter.assignee {
            args.push(Box::new(assignee.clone()));
            sql += &format!(" AND assignee = ?{}", args.len());
        }
        if filter.queued {
            sql += " AND assignee IS NULL AND status NOT IN ('resolved', 'closed', 'cancelled')";
        }
        if let Some(visible) = &filter.visible {
            let mut terms = Vec::new();
            for department in &visible.departments {
                args.push(Box::new(department.clone()));
                terms.push(format!("department = ?{}", args.len()));
            }
            if let Some(assignee) = &visible.assignee {
                args.push(Box::new(assignee.clone()));
                terms.push(format!("assignee = ?{}", args.len()));
            }
            if terms.is_empty() {
                terms.push("0".into());
            }
            sql += &format!(" AND ({})", terms.join(" OR "));
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

    /// The open tickets waiting in `department`'s queue: most urgent first, then oldest.
    pub fn queued(&self, department: &str) -> Result<Vec<Ticket>, StoreError> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE department = ?1 AND assignee IS NULL
             AND status NOT IN ('resolved', 'closed', 'cancelled')
             ORDER BY CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, created_seq"
        );
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![department], ticket_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The open tickets assigned to `staff`, most urgent first, then oldest.
    pub fn assigned_to(&self, staff: &str) -> Result<Vec<Ticket>, StoreError> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE assignee = ?1 AND status NOT IN ('resolved', 'closed', 'cancelled')
             ORDER BY CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, created_seq"
        );
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![staff], ticket_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Everyone who holds an open ticket.
    pub fn assignees(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT DISTINCT assignee FROM tickets
             WHERE assignee IS NOT NULL AND status NOT IN ('resolved', 'closed', 'cancelled')",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A named counter's value, when set.
    pub fn counter(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT value FROM counters WHERE name = ?1")?
            .query_row(params![name], |r| r.get(0))
            .optional()?)
    }

    /// A ticket's SLA clock state (JSON), when it has one.
    pub fn sla_state(&self, number: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT sla_state FROM tickets WHERE number = ?1")?
            .query_row(params![number], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Up to `limit` tickets whose SLA clock is due at or before `now_ms`, earliest first.
    pub fn sla_due(&self, now_ms: i64, limit: u32) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT number FROM tickets WHERE sla_due_ms IS NOT NULL AND sla_due_ms <= ?1 ORDER BY sla_due_ms LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The earliest SLA due time of any ticket (ms since the epoch).
    pub fn next_sla_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT min(sla_due_ms) FROM tickets WHERE sla_due_ms IS NOT NULL")?
            .query_row([], |r| r.get(0))?)
    }

    /// Every open ticket with an SLA clock, for recomputing them all after a change of policy, hours or clock.
    pub fn open_with_sla(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT number FROM tickets WHERE sla_state IS NOT NULL AND status NOT IN ('resolved', 'closed', 'cancelled')",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    /// Open tickets counted by department and SLA flag (`None` for tickets without a clock). It reads only open
    /// tickets, through the partial index that holds them, so a scrape costs the same after a year of history.
    pub fn open_by_department_and_flag(&self) -> Result<Vec<(String, Option<String>, u64)>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT department, sla_flag, count(*) FROM tickets INDEXED BY tickets_open_by_location
             WHERE status NOT IN ('resolved', 'closed', 'cancelled') GROUP BY department, sla_flag",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Open tickets counted by status (through the partial index of open tickets, like the count above).
    pub fn open_by_status(&self) -> Result<Vec<(Status, u64)>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT status, count(*) FROM tickets INDEXED BY tickets_open_by_location
             WHERE status NOT IN ('resolved', 'closed', 'cancelled') GROUP BY status",
        )?;
        let rows = stmt.query_map([], |r| Ok((enum_from(r.get(0)?, Status::parse)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
