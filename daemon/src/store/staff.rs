//! Staff duty (on, on a break, off) and the open load each member of staff carries.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::StoreError;
use crate::vocab::Duty;

/// Where a member of staff stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DutyRecord {
    /// On, on a break, or off.
    pub duty: Duty,
    /// Since when (UTC).
    pub since: Option<String>,
    /// The sequence of the last event that gave them a ticket automatically (0 when never).
    #[serde(skip)]
    pub last_assigned: u64,
}

impl Default for DutyRecord {
    fn default() -> Self {
        DutyRecord { duty: Duty::Off, since: None, last_assigned: 0 }
    }
}

/// Open tickets assigned to someone: how many, and their weight by priority.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Load {
    /// Open tickets.
    pub open: u32,
    /// Open tickets weighted by priority (critical 8, high 4, medium 2, low 1).
    pub weight: u32,
}

/// Duty writes inside the writer's transaction.
pub struct Writer<'c>(pub(super) &'c Connection);

impl Writer<'_> {
    /// Records a change of duty.
    pub fn set_duty(&self, staff: &str, duty: Duty, at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO staff_duty (staff, duty, since) VALUES (?1, ?2, ?3)
                 ON CONFLICT (staff) DO UPDATE SET duty = excluded.duty, since = excluded.since",
            )?
            .execute(params![staff, duty.as_str(), at])?;
        Ok(())
    }

    /// Records that event `seq` gave `staff` a ticket automatically (for round-robin among equals).
    pub fn mark_assigned(&self, staff: &str, seq: u64) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO staff_duty (staff, duty, since, last_assigned) VALUES (?1, 'off', '', ?2)
                 ON CONFLICT (staff) DO UPDATE SET last_assigned = excluded.last_assigned",
            )?
            .execute(params![staff, seq as i64])?;
        Ok(())
    }
}

/// Duty and load queries, on any connection.
pub struct Queries<'c>(pub(super) &'c Connection);

impl Queries<'_> {
    /// One member of staff's duty (off when never recorded).
    pub fn duty(&self, staff: &str) -> Result<DutyRecord, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT duty, since, last_assigned FROM staff_duty WHERE staff = ?1")?
            .query_row([staff], |r| {
                Ok(DutyRecord {
                    duty: Duty::parse(&r.get::<_, String>(0)?).unwrap_or(Duty::Off),
                    since: Some(r.get::<_, String>(1)?).filter(|s| !s.is_empty()),
                    last_assigned: r.get::<_, i64>(2)? as u64,
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    /// Every recorded duty, by staff id.
    pub fn duties(&self) -> Result<HashMap<String, DutyRecord>, StoreError> {
        let mut stmt = self.0.prepare_cached("SELECT staff, duty, since, last_assigned FROM staff_duty")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                DutyRecord {
                    duty: Duty::parse(&r.get::<_, String>(1)?).unwrap_or(Duty::Off),
                    since: Some(r.get::<_, String>(2)?).filter(|s| !s.is_empty()),
                    last_assigned: r.get::<_, i64>(3)? as u64,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The open tickets assigned to `staff`, counted and weighted.
    pub fn load(&self, staff: &str) -> Result<Load, StoreError> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT count(*), coalesce(sum(CASE priority WHEN 'critical' THEN 8 WHEN 'high' THEN 4
                 WHEN 'medium' THEN 2 ELSE 1 END), 0) FROM tickets
                 WHERE assignee = ?1 AND status NOT IN ('resolved', 'closed', 'cancelled')",
            )?
            .query_row([staff], |r| Ok(Load { open: r.get(0)?, weight: r.get(1)? }))?)
    }
}
