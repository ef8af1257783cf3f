//! What adapters ask of the core, and how the core answers once the batch is committed.

use tokio::sync::oneshot;
use tv_protocol::{Ack, ErrorCode, Feedback, Rejection, Request};

use crate::event::EventBody;
use crate::store::Ticket;
use crate::vocab::{Action, Actor, Device, Source};

/// Where a device request came from: the topic's claims.
#[derive(Clone, Debug)]
pub struct Origin {
    /// The location named in the topic.
    pub location: String,
    /// The device named in the topic.
    pub device: String,
    /// What kind of device.
    pub source: Source,
}

/// Where a piece of feedback came from.
pub type FeedbackOrigin = Origin;

/// A ticket raised by staff or another system through the API.
#[derive(Clone, Debug)]
pub struct NewTicketRequest {
    /// Catalog code.
    pub item: String,
    /// Location id.
    pub location: String,
    /// Quantity.
    pub qty: u8,
    /// Free text.
    pub note: Option<String>,
    /// `staff` or `api`.
    pub source: Source,
}

/// An owned observation about a device (see [`crate::engine::devices::Observation`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceObservation {
    /// An mDNS advertisement resolved.
    Advert {
        /// Its TXT record.
        advert: tv_protocol::DeviceAdvert,
        /// Its addresses.
        addresses: Vec<String>,
    },
    /// mDNS removed it.
    MdnsGone,
    /// Its MQTT presence.
    Presence {
        /// The topic's location.
        location: String,
        /// `online` or `offline`.
        online: bool,
    },
    /// A presence message that could not be read: journaled as rejected, changing nothing else.
    UnreadablePresence {
        /// The topic's location.
        location: String,
        /// `bad_payload` or `too_large`.
        code: ErrorCode,
        /// What was wrong, in words.
        message: String,
    },
}

/// What a room controller reported, as the core needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrmsSignal {
    /// Raise a ticket for `item`, or record a repeat on the open one for the same item at the location. With an
    /// `episode`, once per episode: a repeat of an ongoing episode (after a restart) changes nothing.
    Raise {
        /// The alarm episode (rule name, or `offline`), when the ticket belongs to one.
        episode: Option<String>,
        /// The catalog item.
        item: String,
        /// What the controller saw.
        note: String,
    },
    /// An episode ended: resolve its ticket, or annotate it and leave it to staff.
    Clear {
        /// The episode.
        episode: String,
        /// Resolve the ticket (when its status allows) rather than only annotate it.
        resolve: bool,
        /// What happened.
        note: String,
    },
    /// The location's do-not-disturb state.
    DoNotDisturb {
        /// Whether it is on.
        on: bool,
    },
}

/// A change to a location's state made by staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationChange {
    /// The guest's tier (VIP, long stay), until a PMS link sets it.
    GuestTier(crate::vocab::GuestTier),
    /// Do-not-disturb, for properties whose rooms have no controller to report it.
    DoNotDisturb(bool),
}

/// What the PMS link reported, as the core needs it. Every one is applied with actor `pms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PmsSignal {
    /// A check-in (GI), live or within a resync.
    CheckIn {
        /// The guest record.
        guest: fias::Guest,
        /// Whether it came within a database resync.
        resync: bool,
    },
    /// A check-out (GO).
    CheckOut {
        /// The guest record.
        guest: fias::Guest,
    },
    /// A guest change (GC): new data, or a room move when `old_room` is set.
    Change {
        /// The guest record.
        guest: fias::Guest,
    },
    /// A resync ended (DE): every room not in `rooms` is vacant.
    ResyncEnd {
        /// The rooms the resync reported occupied.
        rooms: Vec<String>,
    },
    /// Room status from the PMS (RE): do-not-disturb.
    DoNotDisturb {
        /// The room.
        room: String,
        /// Whether it is on.
        on: bool,
    },
    /// The link has been down for the configured time: raise its ticket, once per outage.
    LinkDown {
        /// Why, in words.
        note: String,
    },
    /// The link is back: resolve the outage ticket.
    LinkUp,
}

/// Why the core could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// No such ticket (or member of staff, or device): what was not found, in words.
    #[error("no {0}")]
    NotFound(String),
    /// The ticket's status does not allow the action.
    #[error("{0}")]
    Conflict(String),
    /// A manual escalation fired (and is recorded) but reached nobody: what happened, in words.
    #[error("{0}")]
    Unreached(String),
    /// The request names something that does not exist or breaks a limit.
    #[error("{0}")]
    Invalid(String),
    /// The store could not commit (disk full, I/O error) or the core is stopping; try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// One command for the core.
pub enum Command {
    /// A device's service request, or the reason it could not be read.
    DeviceRequest {
        /// Topic claims.
        origin: Origin,
        /// The decoded request, or why it was refused.
        request: Result<Request, Rejection>,
        /// Gets the ack to publish, after commit.
        reply: oneshot::Sender<Ack>,
    },
    /// A guest's rating or cancel.
    DeviceFeedback {
        /// Topic claims.
        origin: FeedbackOrigin,
        /// The decoded feedback, or why it was refused.
        feedback: Result<Feedback, Rejection>,
        /// Gets the ack to publish, after commit.
        reply: oneshot::Sender<Ack>,
    },
    /// A ticket raised through the API.
    CreateTicket {
        /// Who asked (`token:{id}`).
        actor: Actor,
        /// What to raise.
        ticket: NewTicketRequest,
        /// Gets the ticket, after commit.
        reply: oneshot::Sender<Result<Ticket, CoreError>>,
    },
    /// A life-cycle action on a ticket.
    Act {
        /// Who asked.
        actor: Actor,
        /// Ticket number.
        ticket: String,
        /// The action.
        action: Action,
        /// Why, optional.
        reason: Option<String>,
        /// Gets the updated ticket, after commit.
        reply: oneshot::Sender<Result<Ticket, CoreError>>,
    },
    /// Journals something that already happened outside the core (a controller write), with its actor.
    Record {
        /// Who did it.
        actor: Actor,
        /// What happened.
        body: EventBody,
        /// Gets the event's sequence number, after commit.
        reply: oneshot::Sender<Result<u64, CoreError>>,
    },
    /// Something observed about a device (mDNS, MQTT presence). `reply`, when given, is answered after the commit.
    DeviceObserved {
        /// Who observed it (`mdns`, `tv:{device}`).
        actor: Actor,
        /// The device id.
        device: String,
        /// What was observed.
        observation: DeviceObservation,
        /// Answered once committed (an MQTT presence message is PUBACKed then), or with why it was not.
        reply: Option<oneshot::Sender<Result<(), CoreError>>>,
    },
    /// The device has been offline for the grace period: raise its offline ticket (once per outage).
    DeviceOutage {
        /// The device id.
        device: String,
    },
    /// An installer binds a device to a location.
    BindDevice {
        /// Who asked.
        actor: Actor,
        /// The device id.
        device: String,
        /// The location.
        location: String,
        /// Gets the device record, after commit.
        reply: oneshot::Sender<Result<Device, CoreError>>,
    },
    /// Prunes synced history (see [`crate::store::Txn::prune`]).
    Prune {
        /// The highest sequence head office has stored.
        synced_through: u64,
        /// Only events older than this (RFC 3339 UTC).
        before: String,
        /// Gets how many events were deleted, after commit.
        reply: oneshot::Sender<Result<u64, CoreError>>,
    },
    /// Proves the writer loop is alive (the systemd watchdog); answered once the writer has taken it.
    Ping {
        /// Gets the answer once the writer has taken the command.
        reply: oneshot::Sender<()>,
    },
    /// A room controller's signal, from the GRMS bridge. Nothing waits for an answer.
    Grms {
        /// The controller's id.
        controller: String,
        /// The location it is bound to.
        location: String,
        /// What it reported.
        signal: GrmsSignal,
    },
    /// A member of staff clocks in, takes a break, or clocks out.
    SetDuty {
        /// Who asked.
        actor: Actor,
        /// The staff id.
        staff: String,
        /// The new duty.
        duty: crate::vocab::Duty,
        /// Answered after commit.
        reply: oneshot::Sender<Result<(), CoreError>>,
    },
    /// A supervisor assigns a ticket to someone, back to the queue (`staff` none), or by the automatic rule.
    Assign {
        /// Who asked.
        actor: Actor,
        /// Ticket number.
        ticket: String,
        /// The member of staff, or none for the queue.
        staff: Option<String>,
        /// Choose by the automatic rule instead.
        auto: bool,
        /// Gets the ticket, after commit.
        reply: oneshot::Sender<Result<Ticket, CoreError>>,
    },
    /// Escalates a ticket to its next level now.
    Escalate {
        /// Who asked.
        actor: Actor,
        /// Ticket number.
        ticket: String,
        /// Gets the ticket, after commit.
        reply: oneshot::Sender<Result<Ticket, CoreError>>,
    },
    /// Changes a location's guest tier or do-not-disturb state.
    SetLocation {
        /// Who asked.
        actor: Actor,
        /// Location id.
        location: String,
        /// The change.
        change: LocationChange,
        /// Answered after commit.
        reply: oneshot::Sender<Result<(), CoreError>>,
    },
    /// Handles the SLA clocks that are due; answered with when the next one is (ms since the epoch), or why the
    /// tick could not be stored.
    SlaTick {
        /// Gets the next due time, after commit.
        reply: oneshot::Sender<Result<Option<i64>, CoreError>>,
    },
    /// A change to people's credentials, sessions or tokens (see [`super::accounts`]).
    Account {
        /// Who asked.
        actor: Actor,
        /// The change.
        change: super::accounts::AccountChange,
        /// Answered after commit.
        reply: oneshot::Sender<Result<(), CoreError>>,
    },
    /// What the PMS link reported; answered after commit (the link resyncs when a record could not be stored).
    Pms {
        /// What it said.
        signal: PmsSignal,
        /// Done, or why not.
        reply: oneshot::Sender<Result<(), CoreError>>,
    },
    /// Housekeeping reports a room `dirty`, `cleaned` or `inspected` (sent on to the PMS).
    SetRoomStatus {
        /// Who asked.
        actor: Actor,
        /// The room.
        location: String,
        /// The status.
        status: String,
        /// Answered after commit.
        reply: oneshot::Sender<Result<(), CoreError>>,
    },
    /// Erases the personal data of the guests with this reference or reservation number.
    EraseGuest {
        /// Who asked.
        actor: Actor,
        /// A guest reference or a reservation number.
        key: String,
        /// The references erased, after commit.
        reply: oneshot::Sender<Result<Vec<String>, CoreError>>,
    },
    /// Deletes the personal data of guests who checked out longer ago than the retention period.
    PruneGuests {
        /// How many guests' data was deleted, after commit.
        reply: oneshot::Sender<Result<u64, CoreError>>,
    },
    /// A comment on a ticket.
    Comment {
        /// Who asked.
        actor: Actor,
        /// Ticket number.
        ticket: String,
        /// The comment.
        text: String,
        /// Gets the ticket, after commit.
        reply: oneshot::Sender<Result<Ticket, CoreError>>,
    },
    /// How delivering a notice ended (from the delivery task).
    NoticeOutcome {
        /// The notice's id.
        notice: String,
        /// Delivered, or failed and why.
        outcome: super::notices::Outcome,
        /// Told once the outcome is committed.
        reply: oneshot::Sender<Result<(), CoreError>>,
    },
    /// A summary's slot came: queue it for the summary list, once per slot.
    Summary {
        /// The slot (ms since the epoch), which makes a repeat a no-op.
        slot_ms: i64,
        /// What it says.
        figures: crate::engine::notice::SummaryFigures,
        /// Told once it is committed.
        reply: oneshot::Sender<Result<(), CoreError>>,
    },
    /// Monitoring alerts, already parsed.
    Alerts {
        /// `alertmanager` or `webhook`.
        source: String,
        /// The alerts, in the payload's order.
        alerts: Vec<crate::engine::alerts::Alert>,
        /// What became of each, once committed.
        reply: oneshot::Sender<Result<Vec<super::alerts::AlertResult>, CoreError>>,
    },
}

impl Command {
    /// The answer to give when the command could not be applied at all.
    pub(super) fn into_reply(self) -> Reply {
        match self {
            Command::DeviceRequest { request, reply, .. } => {
                let id = match &request {
                    Ok(r) => r.id.clone(),
                    Err(rejection) => rejection.id.clone().unwrap_or_default(),
                };
                Reply::Ack(reply, Ack::rejected(&id, ErrorCode::Unavailable, "not applied"))
            }
            Command::DeviceFeedback { feedback, reply, .. } => {
                let id = match &feedback {
                    Ok(f) => f.id.clone(),
                    Err(rejection) => rejection.id.clone().unwrap_or_default(),
                };
                Reply::Ack(reply, Ack::rejected(&id, ErrorCode::Unavailable, "not applied"))
            }
            Command::CreateTicket { reply, .. }
            | Command::Act { reply, .. }
            | Command::Comment { reply, .. }
            | Command::Assign { reply, .. }
            | Command::Escalate { reply, .. } => {
                Reply::Ticket(reply, Err(CoreError::Unavailable("not applied".into())))
            }
            Command::EraseGuest { reply, .. } => {
                Reply::Guests(reply, Err(CoreError::Unavailable("not applied".into())))
            }
            Command::SetDuty { reply, .. }
            | Command::SetLocation { reply, .. }
            | Command::Pms { reply, .. }
            | Command::SetRoomStatus { reply, .. }
            | Command::Account { reply, .. }
            | Command::NoticeOutcome { reply, .. }
            | Command::Summary { reply, .. } => Reply::Unit(reply, Err(CoreError::Unavailable("not applied".into()))),
            Command::Alerts { reply, .. } => Reply::Alerts(reply, Err(CoreError::Unavailable("not applied".into()))),
            Command::SlaTick { reply } => Reply::Due(reply, Err(CoreError::Unavailable("not applied".into()))),
            Command::Grms { controller, signal, .. } => Reply::Unanswered(format!("{controller}: {signal:?}")),
            Command::Ping { reply } => Reply::Done(reply),
            Command::DeviceObserved { reply: Some(reply), .. } => {
                Reply::Unit(reply, Err(CoreError::Unavailable("not applied".into())))
            }
            Command::DeviceObserved { device, .. } | Command::DeviceOutage { device } => {
                Reply::Unanswered(format!("device {device}"))
            }
            Command::BindDevice { reply, .. } => {
                Reply::Device(reply, Err(CoreError::Unavailable("not applied".into())))
            }
            Command::Record { reply, .. } | Command::Prune { reply, .. } | Command::PruneGuests { reply } => {
                Reply::Recorded(reply, Err(CoreError::Unavailable("not applied".into())))
            }
        }
    }
}

/// A prepared answer, held until the batch's commit succeeds or fails.
pub enum Reply {
    /// An ack for a device.
    Ack(oneshot::Sender<Ack>, Ack),
    /// A ticket (or error) for an API caller.
    Ticket(oneshot::Sender<Result<Ticket, CoreError>>, Result<Ticket, CoreError>),
    /// Nobody waits; a failed commit is logged with this description of what was lost.
    Unanswered(String),
    /// A device record (or error) for an API caller.
    Device(oneshot::Sender<Result<Device, CoreError>>, Result<Device, CoreError>),
    /// A number for the caller: a recorded event's sequence, or how many events were pruned.
    Recorded(oneshot::Sender<Result<u64, CoreError>>, Result<u64, CoreError>),
    /// Nothing to say but "the writer took it" (a ping): sent after the commit, and also on failure.
    Done(oneshot::Sender<()>),
    /// Done, or why not.
    Unit(oneshot::Sender<Result<(), CoreError>>, Result<(), CoreError>),
    /// Guest references, or why not.
    Guests(oneshot::Sender<Result<Vec<String>, CoreError>>, Result<Vec<String>, CoreError>),
    /// When the next SLA clock is due (ms since the epoch).
    Due(oneshot::Sender<Result<Option<i64>, CoreError>>, Result<Option<i64>, CoreError>),
    /// What became of each alert.
    Alerts(oneshot::Sender<AlertResults>, AlertResults),
}

/// The answer to [`Command::Alerts`].
pub type AlertResults = Result<Vec<super::alerts::AlertResult>, CoreError>;

impl Reply {
    /// Sends the prepared answer: the batch is durable.
    pub fn send(self) {
        match self {
            Reply::Ack(tx, ack) => {
                let _ = tx.send(ack);
            }
            Reply::Ticket(tx, result) => {
                let _ = tx.send(result);
            }
            Reply::Unanswered(_) => {}
            Reply::Recorded(tx, result) => {
                let _ = tx.send(result);
            }
            Reply::Device(tx, result) => {
                let _ = tx.send(result);
            }
            Reply::Done(tx) => {
                let _ = tx.send(());
            }
            Reply::Unit(tx, result) => {
                let _ = tx.send(result);
            }
            Reply::Due(tx, due) => {
                let _ = tx.send(due);
            }
            Reply::Alerts(tx, results) => {
                let _ = tx.send(results);
            }
            Reply::Guests(tx, result) => {
                let _ = tx.send(result);
            }
        }
    }

    /// Answers `unavailable` instead: the batch was not committed.
    pub fn fail(self, why: &str) {
        match self {
            Reply::Ack(tx, ack) => {
                let _ = tx.send(Ack::rejected(&ack.id, ErrorCode::Unavailable, &format!("not stored: {why}")));
            }
            Reply::Ticket(tx, _) => {
                let _ = tx.send(Err(CoreError::Unavailable(why.to_owned())));
            }
            Reply::Unanswered(what) => tracing::error!(why, what, "A room-controller signal was not stored."),
            Reply::Recorded(tx, _) => {
                let _ = tx.send(Err(CoreError::Unavailable(why.to_owned())));
            }
            Reply::Device(tx, _) => {
                let _ = tx.send(Err(CoreError::Unavailable(why.to_owned())));
            }
            Reply::Done(tx) => {
                let _ = tx.send(());
            }
            Reply::Unit(tx, _) => {
                let _ = tx.send(Err(CoreError::Unavailable(why.to_owned())));
            }
            Reply::Due(tx, _) => {
                let _ = tx.send(Err(CoreError::Unavailable(why.to_owned())));
            }
            Reply::Alerts(tx, _) => {
                let _ = tx.send(Err(CoreError::Unavailable(why.to_owned())));
            }
            Reply::Guests(tx, _) => {
                let _ = tx.send(Err(CoreError::Unavailable(why.to_owned())));
            }
        }
    }
}
