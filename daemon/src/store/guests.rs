//! The PMS link's projections: each room's occupancy and stay (`rooms`), and the personal data of guests
//! (`guests`: names, reservation numbers) kept beside the journal, never in it. Journal events name a guest only
//! by Bellhop's own reference, so a row here can be pruned after check-out or erased on request and the hash
//! chain still verifies.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// A room's stay as the PMS last described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// The location id.
    pub location: String,
    /// `vacant` or `occupied` (due out is worked out from `departure` and the day).
    pub occupied: bool,
    /// The guest's reference, while occupied.
    pub guest: Option<String>,
    /// The guest's language, while occupied.
    pub language: Option<String>,
    /// Arrival date (`yyyy-MM-dd`).
    pub arrival: Option<String>,
    /// Departure date (`yyyy-MM-dd`).
    pub departure: Option<String>,
    /// When it last changed (UTC).
    pub updated_at: String,
}

/// A guest's personal data, as the PMS sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestRecord {
    /// Bellhop's reference, the only way the journal names the guest.
    pub reference: String,
    /// The room.
    pub location: String,
    /// The PMS's reservation number.
    pub reservation: Option<String>,
    /// Surname.
    pub name: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// The PMS's VIP code.
    pub vip: Option<String>,
    /// Arrival date (`yyyy-MM-dd`).
    pub arrival: Option<String>,
    /// Departure date (`yyyy-MM-dd`).
    pub departure: Option<String>,
    /// When the guest checked in (UTC).
    pub checked_in_at: String,
    /// When the guest checked out (UTC), if they have.
    pub checked_out_at: Option<String>,
}

/// Reads of rooms and guests.
pub struct Queries<'c>(pub(super) &'c Connection);

const ROOM_COLUMNS: &str = "location, occupancy, guest, language, arrival, departure, updated_at";
const GUEST_COLUMNS: &str = "reference, location, reservation, name, first_name, language, vip, arrival, departure, \
                             checked_in_at, checked_out_at";

fn room(r: &rusqlite::Row<'_>) -> rusqlite::Result<Room> {
    Ok(Room {
        location: r.get(0)?,
        occupied: r.get::<_, String>(1)? == "occupied",
        guest: r.get(2)?,
        language: r.get(3)?,
        arrival: r.get(4)?,
        departure: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn guest(r: &rusqlite::Row<'_>) -> rusqlite::Result<GuestRecord> {
    Ok(GuestRecord {
        reference: r.get(0)?,
        location: r.get(1)?,
        reservation: r.get(2)?,
        name: r.get(3)?,
        first_name: r.get(4)?,
        language: r.get(5)?,
        vip: r.get(6)?,
        arrival: r.get(7)?,
        departure: r.get(8)?,
        checked_in_at: r.get(9)?,
        checked_out_at: r.get(10)?,
    })
}

impl Queries<'_> {
    /// A room's stay, if the PMS ever described it.
    pub fn room(&self, location: &str) -> Result<Option<Room>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE location = ?1"))?
            .query_row([location], room)
            .optional()?)
    }

    /// Every occupied room.
    pub fn occupied(&self) -> Result<Vec<Room>, StoreError> {
        let mut statement =
            self.0.prepare_cached(&format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE occupancy = 'occupied'"))?;
        let rows = statement.query_map([], room)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A guest by reference.
    pub fn guest(&self, reference: &str) -> Result<Option<GuestRecord>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {GUEST_COLUMNS} FROM guests WHERE reference = ?1"))?
            .query_row([reference], guest)
            .optional()?)
    }

    /// Guests by reference or by the PMS's reservation number, stayed or staying.
    pub fn find(&self, key: &str) -> Result<Vec<GuestRecord>, StoreError> {
        let mut statement = self.0.prepare_cached(&format!(
            "SELECT {GUEST_COLUMNS} FROM guests WHERE reference = ?1 OR reservation = ?1 ORDER BY checked_in_at"
        ))?;
        let rows = statement.query_map([key], guest)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The guest in house under a reservation number.
    pub fn in_house(&self, reservation: &str) -> Result<Option<GuestRecord>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {GUEST_COLUMNS} FROM guests WHERE reservation = ?1 AND checked_out_at IS NULL"
            ))?
            .query_row([reservation], guest)
            .optional()?)
    }

    /// Guests who checked out before `cutoff` (UTC), whose data is due to be deleted.
    pub fn departed_before(&self, cutoff: &str) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .0
            .prepare_cached("SELECT reference FROM guests WHERE checked_out_at IS NOT NULL AND checked_out_at < ?1")?;
        let rows = statement.query_map([cutoff], |r| r.get(0))?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// How many guests' data is held, and how many of them have checked out.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT COUNT(*), COUNT(checked_out_at) FROM guests")?
            .query_row([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)))?)
    }
}

/// Writes of rooms and guests, inside the writer's transaction.
pub struct Writer<'c>(pub(super) &'c Connection);

impl Writer<'_> {
    /// The next guest reference: `guest-{n}`.
    pub fn next_reference(&self) -> Result<String, StoreError> {
        let n: i64 = self
            .0
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES ('guest', 1)
                 ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(format!("guest-{n}"))
    }

    /// Stores (or replaces) a guest's data.
    pub fn put_guest(&self, g: &GuestRecord) -> Result<(), StoreError> {
        self.0
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO guests ({GUEST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ))?
            .execute(params![
                g.reference,
                g.location,
                g.reservation,
                g.name,
                g.first_name,
                g.language,
                g.vip,
                g.arrival,
                g.departure,
                g.checked_in_at,
                g.checked_out_at
            ])?;
        Ok(())
    }

    /// Deletes a guest's data; whether there was any.
    pub fn delete_guest(&self, reference: &str) -> Result<bool, StoreError> {
        Ok(self.0.prepare_cached("DELETE FROM guests WHERE reference = ?1")?.execute([reference])? > 0)
    }

    /// Stores a room's stay.
    pub fn put_room(&self, r: &Room) -> Result<(), StoreError> {
        self.0
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO rooms ({ROOM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?
            .execute(params![
                r.location,
                if r.occupied { "occupied" } else { "vacant" },
                r.guest,
                r.language,
                r.arrival,
                r.departure,
                r.updated_at
            ])?;
        Ok(())
    }
}
