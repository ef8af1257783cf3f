//! What the PMS link reports, applied in the writer: check-ins, check-outs, room moves and guest changes
//! (occupancy, tier, language, stay dates), a resync's end, do-not-disturb, the link's outage ticket; and what
//! staff do with guest data and room status. Personal data goes to the guests table only; events carry the
//! guest's reference.

use super::apply::Cx;
use super::command::{CoreError, PmsSignal};
use crate::config::Pms;
use crate::engine::lifecycle;
use crate::event::EventBody;
use crate::store::guests::{GuestRecord, Room};
use crate::store::StoreError;
use crate::vocab::{Action, Actor, Source};
use crate::vocab::{GuestTier, Occupancy};

/// The room-controller episode table keeps the link's outage ticket under this controller and episode.
const OUTAGE: (&str, &str) = ("pms", "link");
/// The room statuses housekeeping can report.
pub const ROOM_STATUSES: [&str; 3] = ["dirty", "cleaned", "inspected"];

/// A date from the PMS (`yyMMdd`) as `yyyy-MM-dd`.
fn iso(date: Option<&str>) -> Option<String> {
    date.and_then(fias::Date::parse).map(|d| d.iso())
}

/// A non-empty trimmed value.
fn some(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

impl Cx<'_, '_> {
    /// Applies one PMS signal.
    pub(super) fn pms(&mut self, signal: PmsSignal) -> Result<Result<(), CoreError>, StoreError> {
        let Some(pms) = self.config.pms.clone() else {
            return Ok(Err(CoreError::Invalid("no [pms] section is configured".into())));
        };
        match signal {
            PmsSignal::CheckIn { guest, resync } => self.check_in(&pms, &guest, resync),
            PmsSignal::CheckOut { guest } => self.check_out(&pms, &guest),
            PmsSignal::Change { guest } => self.guest_change(&pms, &guest),
            PmsSignal::ResyncEnd { rooms } => {
                for room in self.txn.guest_query().occupied()? {
                    if !rooms.contains(&room.location) {
                        if let Some(guest) = &room.guest {
                            self.vacate(&pms, &room, guest, true)?;
                        }
                    }
                }
                Ok(Ok(()))
            }
            PmsSignal::DoNotDisturb { room, on } => {
                if !self.location_known(&room) || tv_protocol::validate_id(&room).is_err() {
                    return Ok(Err(CoreError::Invalid(format!("no location {room:?}"))));
                }
                self.set_dnd(&Actor::Pms, &room, on)?;
                Ok(Ok(()))
            }
            PmsSignal::LinkDown { note } => {
                self.link_down(&pms, &note)?;
                Ok(Ok(()))
            }
            PmsSignal::LinkUp => {
                self.link_up()?;
                Ok(Ok(()))
            }
        }
    }

    /// The room's occupancy for routing: due out when the departure date is today or past.
    pub(super) fn occupancy(&self, location: &str) -> Result<Occupancy, StoreError> {
        Ok(match self.txn.guest_query().room(location)? {
            None => Occupancy::Unknown,
            Some(room) if !room.occupied => Occupancy::Vacant,
            Some(room) => {
                let today = self.local_now().date().to_string();
                match room.departure {
                    Some(departure) if departure <= today => Occupancy::DueOut,
                    _ => Occupancy::Occupied,
                }
            }
        })
    }

    /// The language of the guest in the room, when the PMS gave one.
    pub(super) fn guest_language(&self, location: &str) -> Result<Option<String>, StoreError> {
        Ok(self.txn.guest_query().room(location)?.filter(|r| r.occupied).and_then(|r| r.language))
    }

    fn known_room(&self, room: &str) -> Option<CoreError> {
        (!self.location_known(room) || tv_protocol::validate_id(room).is_err())
            .then(|| CoreError::Invalid(format!("room {room:?} is not a location this property knows")))
    }

    fn check_in(&mut self, pms: &Pms, g: &fias::Guest, resync: bool) -> Result<Result<(), CoreError>, StoreError> {
        if let Some(error) = self.known_room(&g.room) {
            return Ok(Err(error));
        }
        let room = self.txn.guest_query().room(&g.room)?;
        let reservation = some(&g.reservation);
        let in_house = match &reservation {
            Some(r) => self.txn.guest_query().in_house(r)?,
            None => None,
        };
        // The same stay reported again (a resync, a repeated record): only what changed is recorded.
        if let (Some(known), Some(room)) = (&in_house, &room) {
            if room.occupied && room.guest.as_deref() == Some(known.reference.as_str()) {
                return self.update_stay(pms, g, known.clone(), room.clone());
            }
        }
        let sharing = g.share.as_deref().is_some_and(|s| s.trim().eq_ignore_ascii_case("y"));
        if let Some(room) = room.as_ref().filter(|r| r.occupied) {
            if let (Some(previous), false) = (&room.guest, sharing) {
                // A new stay in an occupied room: the previous guest has left.
                let previous = previous.clone();
                self.vacate(pms, room, &previous, resync)?;
            }
        }
        let reference = match &in_house {
            // Checked in again elsewhere under the same reservation without a move: keep the reference.
            Some(known) => known.reference.clone(),
            None => self.txn.guests().next_reference()?,
        };
        let tier = pms.tier_for(g.vip.as_deref());
        let language = some(&g.language);
        let (arrival, departure) = (iso(g.arrival.as_deref()), iso(g.departure.as_deref()));
        self.txn.guests().put_guest(&GuestRecord {
            reference: reference.clone(),
            location: g.room.clone(),
            reservation,
            name: some(&g.name),
            first_name: some(&g.first_name),
            language: language.clone(),
            vip: some(&g.vip),
            arrival: arrival.clone(),
            departure: departure.clone(),
            checked_in_at: self.at.to_owned(),
            checked_out_at: None,
        })?;
        let primary = !(sharing && room.as_ref().is_some_and(|r| r.occupied));
        self.append(
            &Actor::Pms,
            EventBody::GuestCheckedIn {
                guest: reference.clone(),
                location: g.room.clone(),
                tier,
                language: language.clone(),
                arrival: arrival.clone(),
                departure: departure.clone(),
                resync,
            },
        )?;
        if !primary {
            return Ok(Ok(()));
        }
        if pms.close_stale_on_check_in && !resync {
            for ticket in self.txn.query().open_at(&g.room)? {
                if ticket.source == Source::Tv {
                    if let Ok(to) = lifecycle::transition(ticket.status, Action::Cancel) {
                        let reason = Some("left open by the room's previous guest".to_owned());
                        self.change_status(&Actor::Pms, &ticket, Action::Cancel, to, reason)?;
                    }
                }
            }
        }
        self.txn.guests().put_room(&Room {
            location: g.room.clone(),
            occupied: true,
            guest: Some(reference),
            language,
            arrival,
            departure,
            updated_at: self.at.to_owned(),
        })?;
        self.touched.push(g.room.clone());
        self.apply_tier(&g.room, tier)?;
        Ok(Ok(()))
    }

    /// A known stay reported again or changed: stores the new personal data and journals what changed.
    fn update_stay(
        &mut self,
        pms: &Pms,
        g: &fias::Guest,
        mut known: GuestRecord,
        mut room: Room,
    ) -> Result<Result<(), CoreError>, StoreError> {
        let tier = pms.tier_for(g.vip.as_deref().or(known.vip.as_deref()));
        let language = some(&g.language).or(known.language.clone());
        let departure = iso(g.departure.as_deref()).or(known.departure.clone());
        let was_tier = self.txn.grms().guest_tier(&room.location)?;
        let changed = tier != was_tier || language != room.language || departure != room.departure;
        known.name = some(&g.name).or(known.name);
        known.first_name = some(&g.first_name).or(known.first_name);
        known.vip = some(&g.vip).or(known.vip);
        known.arrival = iso(g.arrival.as_deref()).or(known.arrival);
        known.language = language.clone();
        known.departure = departure.clone();
        self.txn.guests().put_guest(&known)?;
        if changed {
            self.append(
                &Actor::Pms,
                EventBody::GuestChanged {
                    guest: known.reference.clone(),
                    location: room.location.clone(),
                    tier,
                    language: language.clone(),
                    departure: departure.clone(),
                },
            )?;
            room.language = language;
            room.departure = departure;
            room.updated_at = self.at.to_owned();
            self.txn.guests().put_room(&room)?;
            self.touched.push(room.location.clone());
            self.apply_tier(&room.location, tier)?;
        }
        Ok(Ok(()))
    }

    fn check_out(&mut self, pms: &Pms, g: &fias::Guest) -> Result<Result<(), CoreError>, StoreError> {
        if let Some(error) = self.known_room(&g.room) {
            return Ok(Err(error));
        }
        let Some(room) = self.txn.guest_query().room(&g.room)?.filter(|r| r.occupied) else {
            // Already vacant (a check-out sent twice, or one the resync already applied): nothing to do.
            return Ok(Ok(()));
        };
        let reference = match some(&g.reservation) {
            Some(r) => self.txn.guest_query().in_house(&r)?.map(|k| k.reference),
            None => None,
        };
        match (reference, &room.guest) {
            (Some(reference), Some(primary)) if reference != *primary => {
                // A sharer leaves; the room stays occupied.
                self.depart(&reference, &g.room, false)?;
            }
            (_, Some(primary)) => {
                let primary = primary.clone();
                self.vacate(pms, &room, &primary, false)?;
            }
            (_, None) => {}
        }
        Ok(Ok(()))
    }

    /// Marks a guest checked out (their data is kept for the retention period) and journals it.
    fn depart(&mut self, reference: &str, location: &str, resync: bool) -> Result<(), StoreError> {
        if let Some(mut record) = self.txn.guest_query().guest(reference)? {
            record.checked_out_at = Some(self.at.to_owned());
            self.txn.guests().put_guest(&record)?;
        }
        self.append(
            &Actor::Pms,
            EventBody::GuestCheckedOut { guest: reference.to_owned(), location: location.to_owned(), resync },
        )?;
        Ok(())
    }

    /// The room's guest has left: the room is vacant, the tier back to standard, and housekeeping gets its
    /// departure cleaning when configured.
    fn vacate(&mut self, pms: &Pms, room: &Room, reference: &str, resync: bool) -> Result<(), StoreError> {
        self.depart(reference, &room.location, resync)?;
        self.txn.guests().put_room(&Room {
            location: room.location.clone(),
            occupied: false,
            guest: None,
            language: None,
            arrival: None,
            departure: None,
            updated_at: self.at.to_owned(),
        })?;
        self.touched.push(room.location.clone());
        let _ = self.set_guest_tier(&Actor::Pms, &room.location, GuestTier::Standard)?;
        if let Some(item) = pms.departure_item.as_ref().and_then(|i| self.config.catalog.get(i)).cloned() {
            if self.txn.query().open_for(&room.location, &item.code)?.is_none() {
                let note = "The guest checked out: clean the room for the next arrival.";
                self.raise(&Actor::Pms, &item, &room.location, Source::System, None, None, 1, Some(note))?;
            }
        }
        Ok(())
    }

    fn guest_change(&mut self, pms: &Pms, g: &fias::Guest) -> Result<Result<(), CoreError>, StoreError> {
        if let Some(error) = self.known_room(&g.room) {
            return Ok(Err(error));
        }
        let old_room = some(&g.old_room).filter(|old| *old != g.room);
        let Some(old) = old_room else {
            let room = self.txn.guest_query().room(&g.room)?.filter(|r| r.occupied);
            let known = match room.as_ref().and_then(|r| r.guest.clone()) {
                Some(reference) => self.txn.guest_query().guest(&reference)?,
                None => None,
            };
            return match (known, room) {
                (Some(known), Some(room)) => self.update_stay(pms, g, known, room),
                // A change for a stay Bellhop never heard of (the check-in was missed): take it as a check-in.
                _ => self.check_in(pms, g, false),
            };
        };
        if let Some(error) = self.known_room(&old) {
            return Ok(Err(error));
        }
        let from = self.txn.guest_query().room(&old)?.filter(|r| r.occupied);
        let reference = match some(&g.reservation) {
            Some(r) => self.txn.guest_query().in_house(&r)?.map(|k| k.reference),
            None => None,
        }
        .or_else(|| from.as_ref().and_then(|r| r.guest.clone()));
        let (Some(reference), Some(from)) = (reference, from) else {
            return self.check_in(pms, g, false);
        };
        let Some(mut known) = self.txn.guest_query().guest(&reference)? else {
            return self.check_in(pms, g, false);
        };
        if let Some(target) = self.txn.guest_query().room(&g.room)?.filter(|r| r.occupied) {
            if let Some(previous) = target.guest.clone().filter(|p| *p != reference) {
                self.vacate(pms, &target, &previous, false)?;
            }
        }
        let tier = pms.tier_for(g.vip.as_deref().or(known.vip.as_deref()));
        known.location = g.room.clone();
        known.name = some(&g.name).or(known.name);
        known.first_name = some(&g.first_name).or(known.first_name);
        known.vip = some(&g.vip).or(known.vip);
        known.language = some(&g.language).or(known.language);
        known.departure = iso(g.departure.as_deref()).or(known.departure);
        self.txn.guests().put_guest(&known)?;
        self.append(
            &Actor::Pms,
            EventBody::GuestMoved { guest: reference.clone(), from: old.clone(), to: g.room.clone() },
        )?;
        self.txn.guests().put_room(&Room {
            location: old.clone(),
            occupied: false,
            guest: None,
            language: None,
            arrival: None,
            departure: None,
            updated_at: self.at.to_owned(),
        })?;
        self.txn.guests().put_room(&Room {
            location: g.room.clone(),
            occupied: true,
            guest: Some(reference),
            language: known.language.clone(),
            arrival: known.arrival.clone().or(from.arrival),
            departure: known.departure.clone(),
            updated_at: self.at.to_owned(),
        })?;
        self.touched.push(old.clone());
        self.touched.push(g.room.clone());
        let _ = self.set_guest_tier(&Actor::Pms, &old, GuestTier::Standard)?;
        self.apply_tier(&g.room, tier)?;
        Ok(Ok(()))
    }

    /// Sets the room's guest tier; a tier above standard raises that of every open ticket there, choosing its
    /// SLA policy again with the new tier (journaled as `ticket_tier_raised`).
    fn apply_tier(&mut self, location: &str, tier: GuestTier) -> Result<(), StoreError> {
        let was = self.txn.grms().guest_tier(location)?;
        let _ = self.set_guest_tier(&Actor::Pms, location, tier)?;
        if tier == was || tier == GuestTier::Standard {
            return Ok(());
        }
        for ticket in self.txn.query().open_at(location)? {
            let Some(item) = self.config.catalog.get(&ticket.item).cloned() else { continue };
            let routed = self.route(&item, location, ticket.source)?;
            let seq = self.append(
                &Actor::Pms,
                EventBody::TicketTierRaised { ticket: ticket.number.clone(), tier, sla: routed.sla.clone() },
            )?;
            self.txn.tickets().touch(&ticket.number, seq, self.at)?;
            if ticket.sla.as_ref().is_some_and(|s| s.policy != routed.sla) {
                self.retarget_to(&ticket.number, &routed.sla)?;
            }
        }
        Ok(())
    }

    fn link_down(&mut self, pms: &Pms, note: &str) -> Result<(), StoreError> {
        let (Some(item), Some(location)) = (pms.outage_item.as_ref(), pms.outage_location.as_ref()) else {
            return Ok(());
        };
        let Some(item) = self.config.catalog.get(item).cloned() else { return Ok(()) };
        if let Some(number) = self.txn.grms().episode(OUTAGE.0, OUTAGE.1)? {
            if self.txn.query().get(&number)?.is_some_and(|t| t.status.is_open()) {
                return Ok(());
            }
        }
        let number = self.raise(&Actor::Pms, &item, location, Source::System, None, None, 1, Some(note))?;
        self.txn.grms().start_episode(OUTAGE.0, OUTAGE.1, &number)
    }

    fn link_up(&mut self) -> Result<(), StoreError> {
        let Some(number) = self.txn.grms().end_episode(OUTAGE.0, OUTAGE.1)? else { return Ok(()) };
        let Some(ticket) = self.txn.query().get(&number)? else { return Ok(()) };
        let note = "The PMS link is back.".to_owned();
        match lifecycle::transition(ticket.status, Action::Resolve) {
            Ok(to) => self.change_status(&Actor::Pms, &ticket, Action::Resolve, to, Some(note)),
            Err(_) if ticket.status.is_open() => {
                let seq =
                    self.append(&Actor::Pms, EventBody::TicketCommented { ticket: number.clone(), text: note })?;
                self.txn.tickets().touch(&number, seq, self.at)
            }
            Err(_) => Ok(()),
        }
    }

    /// Housekeeping reports a room's status; the PMS link sends it on.
    pub(super) fn set_room_status(
        &mut self,
        actor: &Actor,
        location: &str,
        status: &str,
    ) -> Result<Result<(), CoreError>, StoreError> {
        if let Some(error) = self.known_room(location) {
            return Ok(Err(error));
        }
        if !ROOM_STATUSES.contains(&status) {
            return Ok(Err(CoreError::Invalid(format!("status must be dirty, cleaned or inspected, not {status:?}"))));
        }
        let occupied = self.txn.guest_query().room(location)?.is_some_and(|r| r.occupied);
        self.append(
            actor,
            EventBody::RoomStatusChanged { location: location.to_owned(), status: status.to_owned(), occupied },
        )?;
        Ok(Ok(()))
    }

    /// Erases the personal data of the guests a reference or reservation number names.
    pub(super) fn erase_guest(
        &mut self,
        actor: &Actor,
        key: &str,
    ) -> Result<Result<Vec<String>, CoreError>, StoreError> {
        let found = self.txn.guest_query().find(key.trim())?;
        if found.is_empty() {
            return Ok(Err(CoreError::NotFound(format!("guest data for {key:?}"))));
        }
        let mut erased = Vec::new();
        for guest in found {
            if self.txn.guests().delete_guest(&guest.reference)? {
                erased.push(guest.reference);
            }
        }
        self.append(actor, EventBody::GuestDataDeleted { guests: erased.clone(), reason: "erasure".into() })?;
        Ok(Ok(erased))
    }

    /// Deletes the data of guests who left longer ago than the retention period; returns how many.
    pub(super) fn prune_guests(&mut self) -> Result<u64, StoreError> {
        let Some(pms) = &self.config.pms else { return Ok(0) };
        let retain = jiff::SignedDuration::try_from(pms.retain).unwrap_or(jiff::SignedDuration::MAX);
        let cutoff = self.now.checked_sub(retain).unwrap_or(jiff::Timestamp::MIN);
        let due = self.txn.guest_query().departed_before(&crate::clock::format_time(cutoff))?;
        if due.is_empty() {
            return Ok(0);
        }
        for reference in &due {
            self.txn.guests().delete_guest(reference)?;
        }
        self.append(&Actor::System, EventBody::GuestDataDeleted { guests: due.clone(), reason: "retention".into() })?;
        Ok(due.len() as u64)
    }
}
