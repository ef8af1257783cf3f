//! Room-controller alarm episodes (which ticket an ongoing alarm raised) and per-location flags: do-not-disturb
//! and the guest's tier.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// Episode and flag writes inside the writer's transaction.
pub struct Writer<'c>(pub(super) &'c Connection);

impl Writer<'_> {
    /// The ticket of a controller's ongoing episode, if one is open.
    pub fn episode(&self, controller: &str, episode: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT ticket FROM grms_episodes WHERE controller = ?1 AND episode = ?2")?
            .query_row(params![controller, episode], |r| r.get(0))
            .optional()?)
    }

    /// Records that an episode raised (or joined) a ticket.
    pub fn start_episode(&self, controller: &str, episode: &str, ticket: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached("INSERT OR REPLACE INTO grms_episodes (controller, episode, ticket) VALUES (?1, ?2, ?3)")?
            .execute(params![controller, episode, ticket])?;
        Ok(())
    }

    /// Ends an episode and returns its ticket.
    pub fn end_episode(&self, controller: &str, episode: &str) -> Result<Option<String>, StoreError> {
        let ticket = self.episode(controller, episode)?;
        self.0
            .prepare_cached("DELETE FROM grms_episodes WHERE controller = ?1 AND episode = ?2")?
            .execute(params![controller, episode])?;
        Ok(ticket)
    }

    /// Whether do-not-disturb is on at a location.
    pub fn dnd(&self, location: &str) -> Result<bool, StoreError> {
        Ok(self
            .0
            .prepare_cached("SELECT dnd FROM location_flags WHERE location = ?1")?
            .query_row([location], |r| r.get(0))
            .optional()?
            .unwrap_or(false))
    }

    /// A location's guest tier (standard when never set).
    pub fn guest_tier(&self, location: &str) -> Result<crate::vocab::GuestTier, StoreError> {
        let tier: Option<String> = self
            .0
            .prepare_cached("SELECT guest_tier FROM location_flags WHERE location = ?1")?
            .query_row([location], |r| r.get(0))
            .optional()?;
        Ok(tier.as_deref().and_then(crate::vocab::GuestTier::parse).unwrap_or_default())
    }

    /// Sets a location's guest tier.
    pub fn set_guest_tier(&self, location: &str, tier: crate::vocab::GuestTier, at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO location_flags (location, dnd, updated_at, guest_tier) VALUES (?1, 0, ?2, ?3)
                 ON CONFLICT (location) DO UPDATE SET guest_tier = excluded.guest_tier, updated_at = excluded.updated_at",
            )?
            .execute(params![location, at, tier.as_str()])?;
        Ok(())
    }

    /// Sets a location's do-not-disturb flag.
    pub fn set_dnd(&self, location: &str, on: bool, at: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO location_flags (location, dnd, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (location) DO UPDATE SET dnd = excluded.dnd, updated_at = excluded.updated_at",
            )?
            .execute(params![location, on, at])?;
        Ok(())
    }
}
