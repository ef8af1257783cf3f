//! Applies one command inside the batch's transaction, each under its own savepoint, and prepares its reply.

use tv_protocol::{Ack, ErrorCode, Feedback, FeedbackKind, Rejection, Request};

use super::command::{
    Command, CoreError, DeviceObservation, GrmsSignal, LocationChange, NewTicketRequest, Origin, Reply,
};
use crate::config::Config;
use crate::engine::devices::{self as device_rules, Observation, Rules, Verdict};
use crate::engine::flood::{Flood, Limited};
use crate::engine::intake::{self, Decision, Facts};
use crate::engine::lifecycle::{self, IllegalTransition};
use crate::engine::outage;
use crate::engine::sla::{Input, Pause};
use crate::event::EventBody;
use crate::store::{NewTicket, StoreError, Ticket, Txn};
use crate::vocab::{Action, Actor, AssignmentKind, CatalogItem, Device, Source};

/// The longest comment staff may add, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// Applies `command` and prepares its reply. A store error undoes just this command (the rest of the batch still
/// commits) and turns its reply into `unavailable`.
pub(super) fn apply(cx: &mut Cx<'_, '_>, command: Command) -> Reply {
    match command {
        Command::DeviceRequest { origin, request, reply } => {
            let id = request_id(&request);
            let ack = cx.guarded(|cx| cx.device_request(&origin, request));
            Reply::Ack(reply, ack.unwrap_or_else(|e| Ack::rejected(&id, ErrorCode::Unavailable, &e.to_string())))
        }
        Command::DeviceFeedback { origin, feedback, reply } => {
            let id = match &feedback {
                Ok(f) => f.id.clone(),
                Err(rejection) => rejection.id.clone().unwrap_or_default(),
            };
            let ack = cx.guarded(|cx| cx.device_feedback(&origin, feedback));
            Reply::Ack(reply, ack.unwrap_or_else(|e| Ack::rejected(&id, ErrorCode::Unavailable, &e.to_string())))
        }
        Command::CreateTicket { actor, ticket, reply } => {
            Reply::Ticket(reply, cx.guarded(|cx| cx.create_ticket(&actor, &ticket)).unwrap_or_else(unavailable))
        }
        Command::Act { actor, ticket, action, reason, reply } => {
            Reply::Ticket(reply, cx.guarded(|cx| cx.act(&actor, &ticket, action, reason)).unwrap_or_else(unavailable))
        }
        Command::Comment { actor, ticket, text, reply } => {
            Reply::Ticket(reply, cx.guarded(|cx| cx.comment(&actor, &ticket, text)).unwrap_or_else(unavailable))
        }
        Command::Ping { reply } => Reply::Done(reply),
        Command::Account { actor, change, reply } => Reply::Unit(
            reply,
            cx.guarded(|cx| super::accounts::apply(cx.txn, cx.at, &actor, change))
                .unwrap_or_else(|e| Err(CoreError::Unavailable(e.to_string()))),
        ),
        Command::SetDuty { actor, staff, duty, reply } => Reply::Unit(
            reply,
            cx.guarded(|cx| cx.set_duty(&actor, &staff, duty))
                .unwrap_or_else(|e| Err(CoreError::Unavailable(e.to_string()))),
        ),
        Command::Assign { actor, ticket, staff, auto, reply } => Reply::Ticket(
            reply,
            cx.guarded(|cx| cx.assign_manually(&actor, &ticket, staff.as_deref(), auto)).unwrap_or_else(unavailable),
        ),
        Command::Escalate { actor, ticket, reply } => {
            Reply::Ticket(reply, cx.guarded(|cx| cx.escalate(&actor, &ticket)).unwrap_or_else(unavailable))
        }
        Command::SetLocation { actor, location, change, reply } => Reply::Unit(
            reply,
            cx.guarded(|cx| match change {
                LocationChange::GuestTier(tier) => cx.set_guest_tier(&actor, &location, tier),
                LocationChange::DoNotDisturb(on) => {
                    if !cx.location_known(&location) || tv_protocol::validate_id(&location).is_err() {
                        return Ok(Err(CoreError::Invalid(format!("no location {location:?}"))));
                    }
                    cx.set_dnd(&actor, &location, on).map(Ok)
                }
            })
            .unwrap_or_else(|e| Err(CoreError::Unavailable(e.to_string()))),
        ),
        Command::SlaTick { reply } => {
            Reply::Due(reply, cx.guarded(|cx| cx.sla_tick()).map_err(|e| CoreError::Unavailable(e.to_string())))
        }
        Command::Prune { synced_through, before, reply } => Reply::Recorded(
            reply,
            cx.guarded(|cx| cx.txn.prune(synced_through, &before, cx.at, &Actor::System))
                .map_err(|e| CoreError::Unavailable(e.to_string())),
        ),
        Command::DeviceObserved { actor, device, observation, reply } => {
            let applied = cx.guarded(|cx| cx.observe_device(&actor, &device, &observation));
            if let Err(error) = &applied {
                tracing::error!(%error, device, "A device observation could not be applied.");
            }
            match reply {
                Some(reply) => Reply::Unit(reply, applied.map_err(|e| CoreError::Unavailable(e.to_string()))),
                None => Reply::Unanswered(format!("device {device}: {observation:?}")),
            }
        }
        Command::DeviceOutage { device } => {
            if let Err(error) = cx.guarded(|cx| cx.device_outage(&device)) {
                tracing::error!(%error, device, "A device outage ticket could not be raised.");
            }
            Reply::Unanswered(format!("device {device} outage"))
        }
        Command::BindDevice { actor, device, location, reply } => Reply::Device(
            reply,
            cx.guarded(|cx| cx.bind_device(&actor, &device, &location))
                .unwrap_or_else(|e| Err(CoreError::Unavailable(e.to_string()))),
        ),
        Command::Record { actor, body, reply } => Reply::Recorded(
            reply,
            cx.guarded(|cx| cx.append(&actor, body)).map_err(|e| CoreError::Unavailable(e.to_string())),
        ),
        Command::NoticeOutcome { notice, outcome, reply } => Reply::Unit(
            reply,
            cx.guarded(|cx| cx.notice_outcome(&notice, outcome)).map_err(|e| CoreError::Unavailable(e.to_string())),
        ),
        Command::Summary { slot_ms, figures, reply } => Reply::Unit(
            reply,
            cx.guarded(|cx| cx.summary(slot_ms, &figures))
                .map(|_| ())
                .map_err(|e| CoreError::Unavailable(e.to_string())),
        ),
        Command::Alerts { source, alerts, reply } => Reply::Alerts(
            reply,
            cx.guarded(|cx| cx.alerts(&source, &alerts)).map_err(|e| CoreError::Unavailable(e.to_string())),
        ),
        Command::Pms { signal, reply } => Reply::Unit(
            reply,
            cx.guarded(|cx| cx.pms(signal)).unwrap_or_else(|e| Err(CoreError::Unavailable(e.to_string()))),
        ),
        Command::SetRoomStatus { actor, location, status, reply } => Reply::Unit(
            reply,
            cx.guarded(|cx| cx.set_room_status(&actor, &location, &status))
                .unwrap_or_else(|e| Err(CoreError::Unavailable(e.to_string()))),
        ),
        Command::EraseGuest { actor, key, reply } => Reply::Guests(
            reply,
            cx.guarded(|cx| cx.erase_guest(&actor, &key))
                .unwrap_or_else(|e| Err(CoreError::Unavailable(e.to_string()))),
        ),
        Command::PruneGuests { reply } => Reply::Recorded(
            reply,
            cx.guarded(|cx| cx.prune_guests()).map_err(|e| CoreError::Unavailable(e.to_string())),
        ),
        Command::Grms { controller, location, signal } => {
            let what = format!("{controller} at {location}: {signal:?}");
            match cx.guarded(|cx| cx.grms(&controller, &location, signal)) {
                Ok(()) => Reply::Unanswered(what),
                Err(error) => {
                    tracing::error!(%error, what, "A room-controller signal could not be applied.");
                    Reply::Unanswered(what)
                }
            }
        }
    }
}

fn unavailable(error: StoreError) -> Result<Ticket, CoreError> {
    Err(CoreError::Unavailable(error.to_string()))
}

fn request_id(request: &Result<Request, Rejection>) -> String {
    match request {
        Ok(r) => r.id.clone(),
        Err(rejection) => rejection.id.clone().unwrap_or_default(),
    }
}

/// Whether the property knows `location`: every location does while none are listed.
fn known_location(config: &Config, location: &str) -> bool {
    config.locations.is_empty() || config.locations.contains_key(location)
}

fn eta_s(item: &CatalogItem) -> Option<u32> {
    item.eta_min.map(|m| m * 60)
}

/// What one command is applied with: the batch's transaction, configuration and time, and the writer's memory.
pub(super) struct Cx<'t, 'c> {
    pub txn: &'t mut Txn<'c>,
    pub config: &'t Config,
    /// The batch's time, as journaled.
    pub at: &'t str,
    /// The same time, for the engines.
    pub now: jiff::Timestamp,
    /// Locations whose open tickets changed.
    pub touched: &'t mut Vec<String>,
    /// Request rates per device and location.
    pub flood: &'t mut Flood,
    /// The earliest SLA due time written in this batch (ms since the epoch).
    pub earliest_due: &'t mut Option<i64>,
}

impl Cx<'_, '_> {
    /// Runs `work` under a savepoint: kept when it succeeds, undone when the store fails.
    pub(super) fn guarded<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mark = self.txn.mark()?;
        match work(self) {
            Ok(value) => {
                self.txn.keep(mark)?;
                Ok(value)
            }
            Err(error) => {
                if let Err(undo) = self.txn.undo(mark) {
                    tracing::error!(error = %undo, "Rollback to savepoint failed; abandoning the batch.");
                }
                Err(error)
            }
        }
    }

    /// Appends an event; one that tells someone queues its notices in the same transaction.
    pub(super) fn append(&mut self, actor: &Actor, body: EventBody) -> Result<u64, StoreError> {
        let trigger =
            if self.config.notifications.preferences.is_empty() { None } else { super::notices::trigger(&body) };
        let seq = self.txn.append(self.at, actor, body)?.seq;
        if let Some(trigger) = trigger {
            self.queue_notices(trigger)?;
        }
        Ok(seq)
    }

    fn device_request(&mut self, origin: &Origin, request: Result<Request, Rejection>) -> Result<Ack, StoreError> {
        let actor = Actor::device(origin.source, origin.device.clone());
        let request = match request {
            Ok(request) => request,
            Err(rejection) => {
                let id = rejection.id.clone().unwrap_or_default();
                self.reject(&actor, origin, rejection.id, rejection.code, &rejection.message)?;
                return Ok(Ack::rejected(&id, rejection.code, &rejection.message));
            }
        };
        if let Some((code, message)) = self.check_binding(&actor, origin)? {
            self.reject(&actor, origin, Some(request.id.clone()), code, &message)?;
            return Ok(Ack::rejected(&request.id, code, &message));
        }
        let query = self.txn.query();
        let answered_by = query.by_request(&origin.device, &request.id)?;
        let open_same_item = match answered_by {
            Some(_) => None,
            None => query.open_for(&origin.location, &request.item)?,
        };
        let open_at_location = match (&answered_by, &open_same_item) {
            (None, None) => query.open_count_at(&origin.location)?,
            _ => 0,
        };
        let facts = Facts {
            answered_by: answered_by.as_deref(),
            // Devices may ask only for guest items; controller alarms and outages are raised by Bellhop itself.
            item: self.config.catalog.get(&request.item).filter(|item| item.guest),
            location_known: self.location_known(&origin.location),
            open_same_item: open_same_item.as_ref().map(|t| t.number.as_str()),
            open_at_location,
            max_open_per_location: self.config.limits.max_open_per_location,
        };
        let decision = match intake::decide(&request, facts) {
            Decision::Merge { .. } | Decision::Raise { .. } => {
                let limits = (self.config.limits.device, self.config.limits.location);
                match self.flood.take(&origin.device, &origin.location, limits, self.now) {
                    Ok(()) => intake::decide(&request, facts),
                    Err(limited) => Decision::Reject {
                        code: ErrorCode::RateLimited,
                        message: match limited {
                            Limited::Device => "this device is sending requests too fast; try again in a minute".into(),
                            Limited::Location => "this room is sending requests too fast; try again in a minute".into(),
                        },
                    },
                }
            }
            other => other,
        };
        match decision {
            Decision::Duplicate { ticket } => {
                let eta = self.txn.query().get(ticket)?.filter(|t| t.status.is_open()).and_then(|t| t.eta_s);
                Ok(Ack::duplicate(&request.id, ticket, eta))
            }
            Decision::Merge { ticket } => {
                let seq = self.append(
                    &actor,
                    EventBody::RequestMerged {
                        ticket: ticket.to_owned(),
                        device: Some(origin.device.clone()),
                        request_id: Some(request.id.clone()),
                        qty: request.qty,
                        note: request.note.clone(),
                    },
                )?;
                let writer = self.txn.tickets();
                writer.add_repeat(ticket, seq, self.at)?;
                writer.remember_request(&origin.device, &request.id, ticket)?;
                self.touched.push(origin.location.clone());
                let eta = open_same_item.as_ref().and_then(|t| t.eta_s);
                Ok(Ack::merged(&request.id, ticket, eta))
            }
            Decision::Raise { item } => {
                let item = item.clone();
                let number = self.raise(
                    &actor,
                    &item,
                    &origin.location,
                    origin.source,
                    Some(&origin.device),
                    Some(&request.id),
                    request.qty,
                    request.note.as_deref(),
                )?;
                self.txn.tickets().remember_request(&origin.device, &request.id, &number)?;
                Ok(Ack::accepted(&request.id, &number, eta_s(&item)))
            }
            Decision::Reject { code, message } => {
                self.reject(&actor, origin, Some(request.id.clone()), code, &message)?;
                Ok(Ack::rejected(&request.id, code, &message))
            }
        }
    }

    fn reject(
        &mut self,
        actor: &Actor,
        origin: &Origin,
        request_id: Option<String>,
        code: ErrorCode,
        message: &str,
    ) -> Result<(), StoreError> {
        self.append(
            actor,
            EventBody::RequestRejected {
                location: origin.location.clone(),
                device: origin.device.clone(),
                request_id,
                code,
                message: message.to_owned(),
            },
        )?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn raise(
        &mut self,
        actor: &Actor,
        item: &CatalogItem,
        location: &str,
        source: Source,
        device: Option<&str>,
        request_id: Option<&str>,
        qty: u8,
        note: Option<&str>,
    ) -> Result<String, StoreError> {
        let number = self.txn.tickets().next_number(&self.config.site.code)?;
        let eta = eta_s(item);
        let routed = self.route(item, location, source)?;
        let routing = &routed.routing;
        let seq = self.append(
            actor,
            EventBody::TicketRaised {
                ticket: number.clone(),
                item: item.code.clone(),
                category: item.category.clone(),
                location: location.to_owned(),
                department: routing.department.clone(),
                priority: routing.priority,
                source,
                device: device.map(str::to_owned),
                request_id: request_id.map(str::to_owned),
                qty,
                note: note.map(str::to_owned),
                eta_s: eta,
                language: self.guest_language(location)?,
            },
        )?;
        let ticket = NewTicket {
            number: &number,
            item: &item.code,
            category: &item.category,
            location,
            department: &routing.department,
            priority: routing.priority,
            source,
            device,
            request_id,
            qty,
            note,
            eta_s: eta,
            skill: routing.skill.as_deref(),
        };
        self.txn.tickets().insert(&ticket, seq, self.at)?;
        self.append(
            &Actor::System,
            EventBody::TicketRouted {
                ticket: number.clone(),
                rule: routing.rule.clone(),
                department: routing.department.clone(),
                priority: routing.priority,
                sla: routed.sla.clone(),
                skill: routing.skill.clone(),
                explanation: routed.explanation,
            },
        )?;
        self.touched.push(location.to_owned());
        if let Some(ticket) = self.txn.query().get(&number)? {
            self.auto_assign(&ticket, &Actor::System, AssignmentKind::Auto)?;
        }
        self.start_clock(&number, &routed.sla, item.emergency)?;
        Ok(number)
    }

    pub(super) fn location_known(&self, location: &str) -> bool {
        known_location(self.config, location)
    }

    fn device_feedback(&mut self, origin: &Origin, feedback: Result<Feedback, Rejection>) -> Result<Ack, StoreError> {
        let actor = Actor::device(origin.source, origin.device.clone());
        let feedback = match feedback {
            Ok(feedback) => feedback,
            Err(rejection) => {
                let id = rejection.id.clone().unwrap_or_default();
                self.reject(&actor, origin, rejection.id, rejection.code, &rejection.message)?;
                return Ok(Ack::rejected(&id, rejection.code, &rejection.message));
            }
        };
        let refuse = |cx: &mut Self, code: ErrorCode, message: String| -> Result<Ack, StoreError> {
            cx.reject(&actor, origin, Some(feedback.id.clone()), code, &message)?;
            Ok(Ack::rejected(&feedback.id, code, &message))
        };
        if let Some((code, message)) = self.check_binding(&actor, origin)? {
            self.reject(&actor, origin, Some(feedback.id.clone()), code, &message)?;
            return Ok(Ack::rejected(&feedback.id, code, &message));
        }
        // Feedback ids share the device's idempotency keys under a prefix no request id can have.
        let key = format!("feedback:{}", feedback.id);
        if let Some(ticket) = self.txn.query().by_request(&origin.device, &key)? {
            return Ok(Ack::duplicate(&feedback.id, &ticket, None));
        }
        let Some(ticket) = self.txn.query().get(&feedback.ticket)? else {
            return refuse(self, ErrorCode::BadPayload, format!("no ticket {}", feedback.ticket));
        };
        if ticket.location != origin.location {
            return refuse(
                self,
                ErrorCode::LocationMismatch,
                format!("ticket {} is not for this location", ticket.number),
            );
        }
        match feedback.kind {
            FeedbackKind::Rating { stars, comment } => {
                if ticket.status.is_open() || ticket.status == crate::vocab::Status::Cancelled {
                    return refuse(self, ErrorCode::BadPayload, "a ticket can be rated once it is resolved".into());
                }
                self.append(&actor, EventBody::TicketRated { ticket: ticket.number.clone(), stars, comment })?;
                self.txn.tickets().remember_request(&origin.device, &key, &ticket.number)?;
                Ok(Ack::accepted(&feedback.id, &ticket.number, None))
            }
            FeedbackKind::Cancel => match lifecycle::transition(ticket.status, Action::Cancel) {
                Ok(to) => {
                    self.change_status(&actor, &ticket, Action::Cancel, to, Some("cancelled by the guest".into()))?;
                    self.txn.tickets().remember_request(&origin.device, &key, &ticket.number)?;
                    Ok(Ack::accepted(&feedback.id, &ticket.number, None))
                }
                Err(_) if ticket.status == crate::vocab::Status::Cancelled => {
                    Ok(Ack::duplicate(&feedback.id, &ticket.number, None))
                }
                Err(illegal) => refuse(self, ErrorCode::BadPayload, illegal.to_string()),
            },
        }
    }

    pub(super) fn change_status(
        &mut self,
        actor: &Actor,
        ticket: &Ticket,
        action: Action,
        to: crate::vocab::Status,
        reason: Option<String>,
    ) -> Result<(), StoreError> {
        let seq = self.append(
            actor,
            EventBody::TicketStatusChanged { ticket: ticket.number.clone(), action, from: ticket.status, to, reason },
        )?;
        self.txn.tickets().set_status(&ticket.number, to, seq, self.at)?;
        self.touched.push(ticket.location.clone());
        let input = match action {
            Action::Acknowledge | Action::Start => Some(Input::Acknowledge),
            Action::Hold => Some(Input::Pause(Pause::Hold)),
            Action::Resume => Some(Input::Resume(Pause::Hold)),
            Action::Resolve => Some(Input::Resolve),
            Action::Cancel => Some(Input::Cancel),
            Action::Reopen => Some(Input::Reopen),
            Action::Close => None,
        };
        if let Some(input) = input {
            self.clock_input(&ticket.number, input)?;
        }
        if !to.is_open() {
            // Whoever had it may now take a ticket that waits.
            if ticket.assignee.is_some() {
                self.drain_queue(&ticket.department, &Actor::System)?;
            }
        }
        Ok(())
    }

    /// Checks that the device may speak for the topic's location (recording it on first sight); the rejection to
    /// send when it may not.
    fn check_binding(&mut self, actor: &Actor, origin: &Origin) -> Result<Option<(ErrorCode, String)>, StoreError> {
        let verdict =
            self.apply_observation(actor, &origin.device, Observation::Request { location: &origin.location })?;
        Ok(match verdict {
            Verdict::Allowed => None,
            Verdict::Mismatch { bound } => Some((
                ErrorCode::LocationMismatch,
                format!("device {} is bound to location {bound}, not {}", origin.device, origin.location),
            )),
            Verdict::UnknownLocation => Some((
                ErrorCode::LocationMismatch,
                format!("location {} is not one this property knows", origin.location),
            )),
            Verdict::Refused { reason } => Some((ErrorCode::UnknownDevice, reason)),
        })
    }

    /// Runs the device rules on one observation and stores what they decide. Coming back online annotates and
    /// closes the outage of an offline ticket.
    fn apply_observation(
        &mut self,
        actor: &Actor,
        id: &str,
        observation: Observation<'_>,
    ) -> Result<Verdict, StoreError> {
        let current = self.txn.device_query().get(id)?;
        let config = self.config;
        let known = |location: &str| known_location(config, location);
        let rules = Rules { policy: config.devices.policy, known: &known };
        let outcome = device_rules::observe(current.as_ref(), id, observation, rules, self.at);
        let Some(mut device) = outcome.device else { return Ok(outcome.verdict) };
        for body in outcome.events.into_iter().map(EventBody::from) {
            if let EventBody::DeviceBound { reason: Some(reason), .. } = &body {
                let claim = device.claim.as_deref().unwrap_or("");
                tracing::warn!(device = id, claim, reason = %reason, "A device is not bound: it claims a location this property does not know.");
            }
            self.append(actor, body)?;
        }
        if device.online {
            if let Some(number) = device.offline_ticket.take() {
                let text = format!("Device {id} is back online.");
                let seq = self.append(actor, EventBody::TicketCommented { ticket: number.clone(), text })?;
                self.txn.tickets().touch(&number, seq, self.at)?;
            }
        }
        self.txn.devices().put(&device)?;
        Ok(outcome.verdict)
    }

    fn observe_device(&mut self, actor: &Actor, id: &str, observation: &DeviceObservation) -> Result<(), StoreError> {
        let observation = match observation {
            DeviceObservation::Advert { advert, addresses } => {
                Observation::Advert { advert, addresses: addresses.clone() }
            }
            DeviceObservation::MdnsGone => Observation::MdnsGone,
            DeviceObservation::Presence { location, online } => Observation::Presence { location, online: *online },
            DeviceObservation::UnreadablePresence { location, code, message } => {
                let body = EventBody::PresenceRejected {
                    location: location.clone(),
                    device: id.to_owned(),
                    code: *code,
                    message: message.clone(),
                };
                self.append(actor, body)?;
                return Ok(());
            }
        };
        self.apply_observation(actor, id, observation)?;
        Ok(())
    }

    /// Raises the offline ticket for a device still offline after the grace period, once per outage.
    fn device_outage(&mut self, id: &str) -> Result<(), StoreError> {
        let Some(item) = self.config.devices.offline_item.as_ref().and_then(|i| self.config.catalog.get(i)).cloned()
        else {
            return Ok(());
        };
        let Some(mut device) = self.txn.device_query().get(id)? else { return Ok(()) };
        let Some(location) = device.bound.clone().or_else(|| device.claim.clone()) else { return Ok(()) };
        if device.online || device.offline_ticket.is_some() {
            return Ok(());
        }
        let since = device.offline_since.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok());
        let rules = self.config.devices.outage_rules();
        if since.is_some_and(|since| !outage::is_due(since, self.now, &rules, &self.config.site.time_zone)) {
            // Asked early (the outage clock's timer runs on the steady clock): the clock asks again when it is due.
            return Ok(());
        }
        let note = format!(
            "Device {id} ({} {}) has been offline since {}.",
            device.kind,
            device.model,
            device.offline_since.as_deref().unwrap_or("an unknown time")
        );
        let number = self.raise(&Actor::System, &item, &location, Source::System, Some(id), None, 1, Some(&note))?;
        device.offline_ticket = Some(number);
        self.txn.devices().put(&device)?;
        Ok(())
    }

    fn bind_device(
        &mut self,
        actor: &Actor,
        id: &str,
        location: &str,
    ) -> Result<Result<Device, CoreError>, StoreError> {
        if tv_protocol::validate_id(id).is_err() {
            return Ok(Err(CoreError::Invalid(format!("{id:?} is not a device id"))));
        }
        if tv_protocol::validate_id(location).is_err() {
            return Ok(Err(CoreError::Invalid(format!("{location:?} is not a location id"))));
        }
        if !self.location_known(location) {
            return Ok(Err(CoreError::Invalid(format!("no location {location:?}"))));
        }
        self.apply_observation(actor, id, Observation::Bind { location })?;
        Ok(self.txn.device_query().get(id)?.ok_or_else(|| CoreError::NotFound(format!("device {id}"))))
    }

    /// Applies a room controller's signal; actor `grms:{controller}`.
    fn grms(&mut self, controller: &str, location: &str, signal: GrmsSignal) -> Result<(), StoreError> {
        let actor = Actor::Controller(controller.to_owned());
        match signal {
            GrmsSignal::Raise { episode, item, note } => {
                if let Some(episode) = &episode {
                    // An episode whose ticket is still open is ongoing (seen again after a restart): nothing new.
                    if let Some(number) = self.txn.grms().episode(controller, episode)? {
                        if self.txn.query().get(&number)?.is_some_and(|t| t.status.is_open()) {
                            return Ok(());
                        }
                    }
                }
                let Some(item) = self.config.catalog.get(&item).cloned() else {
                    tracing::warn!(controller, item, "A room-controller item is no longer in the catalog.");
                    return Ok(());
                };
                let number = match self.txn.query().open_for(location, &item.code)? {
                    Some(open) => {
                        let body = EventBody::RequestMerged {
                            ticket: open.number.clone(),
                            device: Some(controller.to_owned()),
                            request_id: None,
                            qty: 1,
                            note: Some(note),
                        };
                        let seq = self.append(&actor, body)?;
                        self.txn.tickets().add_repeat(&open.number, seq, self.at)?;
                        self.touched.push(location.to_owned());
                        open.number
                    }
                    None => {
                        self.raise(&actor, &item, location, Source::Grms, Some(controller), None, 1, Some(&note))?
                    }
                };
                if let Some(episode) = &episode {
                    self.txn.grms().start_episode(controller, episode, &number)?;
                }
            }
            GrmsSignal::Clear { episode, resolve, note } => {
                let Some(number) = self.txn.grms().end_episode(controller, &episode)? else { return Ok(()) };
                let Some(ticket) = self.txn.query().get(&number)? else { return Ok(()) };
                match lifecycle::transition(ticket.status, Action::Resolve) {
                    Ok(to) if resolve => self.change_status(&actor, &ticket, Action::Resolve, to, Some(note))?,
                    _ if ticket.status.is_open() => {
                        let seq =
                            self.append(&actor, EventBody::TicketCommented { ticket: number.clone(), text: note })?;
                        self.txn.tickets().touch(&number, seq, self.at)?;
                    }
                    _ => {}
                }
            }
            GrmsSignal::DoNotDisturb { on } => self.set_dnd(&actor, location, on)?,
        }
        Ok(())
    }

    /// Records a location's do-not-disturb state and pauses or resumes the clocks it holds.
    pub(super) fn set_dnd(&mut self, actor: &Actor, location: &str, on: bool) -> Result<(), StoreError> {
        if self.txn.grms().dnd(location)? != on {
            self.append(actor, EventBody::DoNotDisturbChanged { location: location.to_owned(), on })?;
            self.txn.grms().set_dnd(location, on, self.at)?;
            self.dnd_clocks(location, on)?;
        }
        Ok(())
    }

    fn create_ticket(
        &mut self,
        actor: &Actor,
        new: &NewTicketRequest,
    ) -> Result<Result<Ticket, CoreError>, StoreError> {
        let Some(item) = self.config.catalog.get(&new.item).cloned() else {
            return Ok(Err(CoreError::Invalid(format!("no catalog item {:?}", new.item))));
        };
        if !self.location_known(&new.location) {
            return Ok(Err(CoreError::Invalid(format!("no location {:?}", new.location))));
        }
        if new.qty == 0 || new.qty > item.max_qty {
            return Ok(Err(CoreError::Invalid(format!("qty must be 1 to {} for {}", item.max_qty, item.code))));
        }
        let number = self.raise(actor, &item, &new.location, new.source, None, None, new.qty, new.note.as_deref())?;
        self.load(&number)
    }

    pub(super) fn load(&self, number: &str) -> Result<Result<Ticket, CoreError>, StoreError> {
        Ok(self.txn.query().get(number)?.ok_or_else(|| CoreError::NotFound(format!("ticket {number}"))))
    }

    fn act(
        &mut self,
        actor: &Actor,
        number: &str,
        action: Action,
        reason: Option<String>,
    ) -> Result<Result<Ticket, CoreError>, StoreError> {
        let Some(ticket) = self.txn.query().get(number)? else {
            return Ok(Err(CoreError::NotFound(format!("ticket {number}"))));
        };
        match lifecycle::transition(ticket.status, action) {
            Ok(to) => {
                self.change_status(actor, &ticket, action, to, reason)?;
                self.load(number)
            }
            Err(illegal @ IllegalTransition { .. }) => Ok(Err(CoreError::Conflict(illegal.to_string()))),
        }
    }

    fn comment(&mut self, actor: &Actor, number: &str, text: String) -> Result<Result<Ticket, CoreError>, StoreError> {
        let Some(ticket) = self.txn.query().get(number)? else {
            return Ok(Err(CoreError::NotFound(format!("ticket {number}"))));
        };
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_COMMENT_CHARS {
            return Ok(Err(CoreError::Invalid(format!("a comment is 1 to {MAX_COMMENT_CHARS} characters"))));
        }
        let seq = self.append(actor, EventBody::TicketCommented { ticket: number.to_owned(), text })?;
        self.txn.tickets().touch(number, seq, self.at)?;
        self.touched.push(ticket.location.clone());
        self.load(number)
    }
}
