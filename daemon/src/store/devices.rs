//! The devices projection: every TV, kiosk or tablet the gateway has seen, its binding to a location, and whether
//! it is online. Writes inside the writer's transaction; queries anywhere.

use super::StoreError;
pub use crate::vocab::Device;
use crate::vocab::DeviceState;
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str =
    "id, kind, claim, bound, state, model, firmware, addresses, online, mdns, presence, offline_ticket, \
                       first_seen, last_seen, offline_since";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Device> {
    let addresses: String = row.get(7)?;
    Ok(Device {
        id: row.get(0)?,
        kind: row.get(1)?,
        claim: row.get(2)?,
        bound: row.get(3)?,
        state: super::tickets::enum_from(row.get(4)?, DeviceState::parse)?,
        model: row.get(5)?,
        firmware: row.get(6)?,
        addresses: serde_json::from_str(&addresses).unwrap_or_default(),
        online: row.get(8)?,
        mdns: row.get(9)?,
        presence: row.get(10)?,
        offline_ticket: row.get(11)?,
        first_seen: row.get(12)?,
        last_seen: row.get(13)?,
        offline_since: row.get(14)?,
    })
}

/// Device queries.
pub struct Queries<'c>(pub(super) &'c Connection);

impl Queries<'_> {
    /// One device.
    pub fn get(&self, id: &str) -> Result<Option<Device>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {COLUMNS} FROM devices WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?)
    }

    /// Devices, optionally only those at a location (bound or claimed), in a state, or online/offline.
    pub fn list(
        &self,
        location: Option<&str>,
        state: Option<DeviceState>,
        online: Option<bool>,
    ) -> Result<Vec<Device>, StoreError> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM devices
             WHERE (?1 IS NULL OR bound = ?1 OR claim = ?1) AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR online = ?3)
             ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![location, state.map(DeviceState::as_str), online], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Queries<'_> {
    /// Devices bound to a location, counted by kind (empty when only seen over MQTT) and whether they are online.
    pub fn bound_by_kind(&self) -> Result<Vec<(String, bool, u64)>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT kind, online, count(*) FROM devices WHERE bound IS NOT NULL GROUP BY kind, online",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Device writes inside the writer's transaction.
pub struct Writer<'c>(pub(super) &'c Connection);

impl Writer<'_> {
    /// Inserts or replaces a device row.
    pub fn put(&self, d: &Device) -> Result<(), StoreError> {
        self.0
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO devices ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ))?
            .execute(params![
                d.id,
                d.kind,
                d.claim,
                d.bound,
                d.state.as_str(),
                d.model,
                d.firmware,
                serde_json::to_string(&d.addresses).unwrap_or_else(|_| "[]".into()),
                d.online,
                d.mdns,
                d.presence,
                d.offline_ticket,
                d.first_seen,
                d.last_seen,
                d.offline_since,
            ])?;
        Ok(())
    }
}
