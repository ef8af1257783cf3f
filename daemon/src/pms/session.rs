//! One connection's life: the link start (LS answered with LD, one LR per record wanted, LA), a full resync
//! (DR, then DS … DE), keep-alive (LA), the PMS's records turned into core commands, room statuses sent as RE,
//! and LE at shutdown. A PMS that does not answer the link start in time, or falls silent, ends the session.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use fias::{encode_frame, Decoder, FrameError, MaidStatus, Message, RoomStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::state::LinkState;
use super::PmsLink;
use crate::config::Pms;
use crate::core::{Command, Committed, CoreError, CoreHandle, PmsSignal};
use crate::event::EventBody;

/// The record types Bellhop asks for, each with the fields it reads (sent as LR after LD).
const WANTED: [(&str, &str); 6] = [
    ("GI", "RNG#GNGFGLGVGAGDGS"),
    ("GO", "RNG#GS"),
    ("GC", "RNG#GNGFGLGVGAGDGSRO"),
    ("RE", "RNRSDN"),
    ("DS", ""),
    ("DE", ""),
];
/// The interface version sent in LD.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The most room statuses held while the link is down; older ones are dropped (the next status of a room
/// supersedes them anyway).
const OUTBOX_LIMIT: usize = 1000;

/// Room statuses waiting for the link, across reconnects.
#[derive(Default)]
pub(super) struct Outbox(VecDeque<RoomStatus>);

impl Outbox {
    fn push(&mut self, status: RoomStatus) {
        self.0.retain(|s| s.room != status.room);
        if self.0.len() >= OUTBOX_LIMIT {
            self.0.pop_front();
        }
        self.0.push_back(status);
    }
}

/// How a session ended.
pub(super) enum Outcome {
    /// Shutdown: LE was sent.
    Stopped,
    /// The link broke, or the PMS ended it or did not answer; why, in words.
    Failed(String),
}

/// One connection.
pub(super) struct Session<'a> {
    pms: &'a Pms,
    core: &'a CoreHandle,
    link: &'a Arc<PmsLink>,
    committed: &'a mut broadcast::Receiver<Arc<Committed>>,
    outbox: &'a mut Outbox,
    up: bool,
    /// The rooms a resync in progress has reported occupied.
    resync: Option<Vec<String>>,
    /// Set when a record could not be stored: a new resync is asked for.
    resync_again: bool,
}

impl<'a> Session<'a> {
    pub(super) fn new(
        pms: &'a Pms,
        core: &'a CoreHandle,
        link: &'a Arc<PmsLink>,
        committed: &'a mut broadcast::Receiver<Arc<Committed>>,
        outbox: &'a mut Outbox,
    ) -> Session<'a> {
        Session { pms, core, link, committed, outbox, up: false, resync: None, resync_again: false }
    }

    pub(super) async fn run(&mut self, mut stream: TcpStream, stopped: &mut watch::Receiver<bool>) -> Outcome {
        let _ = stream.set_nodelay(true);
        self.link.set_state(LinkState::Starting, None);
        let mut decoder = Decoder::new(self.pms.lrc);
        let mut buffer = vec![0u8; 4096];
        let started = Instant::now();
        let mut last_heard = Instant::now();
        let silence = self.pms.keep_alive * 2 + self.pms.answer_timeout;
        let mut alive = tokio::time::interval_at(Instant::now() + self.pms.keep_alive, self.pms.keep_alive);
        if let Err(e) = self.send(&mut stream, &[Message::LinkStart { date: None, time: None }]).await {
            return Outcome::Failed(e);
        }
        loop {
            let deadline = if self.up { last_heard + silence } else { started + self.pms.answer_timeout };
            tokio::select! {
                _ = super::pms_stopped(stopped) => {
                    let _ = self.send(&mut stream, &[stamped_end()]).await;
                    let _ = stream.shutdown().await;
                    return Outcome::Stopped;
                }
                read = stream.read(&mut buffer) => {
                    let n = match read {
                        Ok(0) => return Outcome::Failed("the PMS closed the connection".into()),
                        Ok(n) => n,
                        Err(e) => return Outcome::Failed(format!("reading: {e}")),
                    };
                    last_heard = Instant::now();
                    decoder.push(&buffer[..n]);
                    while let Some(frame) = decoder.next_frame() {
                        if let Some(outcome) = self.frame(&mut stream, frame).await {
                            return outcome;
                        }
                    }
                }
                _ = alive.tick(), if self.up => {
                    if let Err(e) = self.send(&mut stream, &[stamped_alive()]).await {
                        return Outcome::Failed(e);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Outcome::Failed(if self.up {
                        format!("nothing heard from the PMS for {} s", silence.as_secs())
                    } else {
                        format!("the PMS did not answer the link start within {} s", self.pms.answer_timeout.as_secs())
                    });
                }
                batch = self.committed.recv() => match batch {
                    Ok(batch) => {
                        for status in room_statuses(&batch) {
                            self.outbox.push(status);
                        }
                        if let Err(e) = self.flush(&mut stream).await {
                            return Outcome::Failed(e);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "The PMS link fell behind the journal; room statuses may be missing.");
                    }
                    Err(broadcast::error::RecvError::Closed) => return Outcome::Stopped,
                },
            }
        }
    }

    /// Handles one frame; `Some` ends the session.
    async fn frame(&mut self, stream: &mut TcpStream, frame: Result<Vec<u8>, FrameError>) -> Option<Outcome> {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => {
                self.link.garbage.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "Skipped bytes from the PMS.");
                return None;
            }
        };
        let message = match Message::decode(&frame) {
            Ok(message) => message,
            Err(error) => {
                self.link.garbage.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "A record from the PMS could not be read; skipped.");
                return None;
            }
        };
        self.link.records_in.fetch_add(1, Ordering::Relaxed);
        let result = match message {
            Message::LinkStart { .. } => self.start(stream).await,
            // A PMS that answers the link start with LA rather than LS is started the same way.
            Message::LinkAlive { .. } if !self.up => self.start(stream).await,
            Message::LinkAlive { .. } => Ok(()),
            Message::LinkEnd { .. } => return Some(Outcome::Failed("the PMS ended the link (LE)".into())),
            Message::ResyncStart => {
                self.resync = Some(Vec::new());
                Ok(())
            }
            Message::ResyncEnd => {
                let rooms = self.resync.take().unwrap_or_default();
                self.signal(PmsSignal::ResyncEnd { rooms }).await;
                self.link.resyncs.fetch_add(1, Ordering::Relaxed);
                tracing::info!("The PMS resync is complete.");
                Ok(())
            }
            Message::CheckIn(guest) => {
                let resync = match self.resync.as_mut() {
                    Some(rooms) => {
                        rooms.push(guest.room.clone());
                        true
                    }
                    None => false,
                };
                self.signal(PmsSignal::CheckIn { guest, resync }).await;
                Ok(())
            }
            Message::CheckOut(guest) => {
                self.signal(PmsSignal::CheckOut { guest }).await;
                Ok(())
            }
            Message::GuestChange(guest) => {
                if let (Some(rooms), Some(old)) = (self.resync.as_mut(), guest.old_room.as_ref()) {
                    rooms.retain(|r| r != old);
                    rooms.push(guest.room.clone());
                }
                self.signal(PmsSignal::Change { guest }).await;
                Ok(())
            }
            Message::RoomStatus(status) => {
                if let Some(on) = status.dnd {
                    self.signal(PmsSignal::DoNotDisturb { room: status.room, on }).await;
                }
                Ok(())
            }
            Message::LinkDescription { .. }
            | Message::LinkRecord { .. }
            | Message::ResyncRequest
            | Message::Other(_) => {
                tracing::debug!(kind = message.kind(), "A PMS record Bellhop does not use; skipped.");
                Ok(())
            }
        };
        if let Err(e) = result {
            return Some(Outcome::Failed(e));
        }
        if self.resync_again && self.up && self.resync.is_none() {
            self.resync_again = false;
            if let Err(e) = self.send(stream, &[Message::ResyncRequest]).await {
                return Some(Outcome::Failed(e));
            }
        }
        None
    }

    /// The PMS started the link: describe the interface, say which records it wants, confirm, and ask for a
    /// full resync.
    async fn start(&mut self, stream: &mut TcpStream) -> Result<(), String> {
        let (date, time) = now_stamp();
        let mut messages = vec![Message::LinkDescription {
            family: self.pms.interface_family.clone(),
            version: VERSION.chars().take(10).collect(),
            date: Some(date),
            time: Some(time),
            record_len: Some(fias::MAX_FRAME as u16),
        }];
        for (record, fields) in WANTED {
            messages.push(Message::LinkRecord { record: record.into(), fields: fields.into() });
        }
        messages.push(stamped_alive());
        messages.push(Message::ResyncRequest);
        self.send(stream, &messages).await?;
        if !self.up {
            self.up = true;
            self.link.set_state(LinkState::Up, None);
            tracing::info!("The PMS link is up; asked for a resync.");
        }
        self.resync = None;
        self.flush(stream).await
    }

    /// Sends a signal to the core and waits for its commit. A record refused (an unknown room) is counted; one
    /// that could not be stored makes the link ask for a new resync.
    async fn signal(&mut self, signal: PmsSignal) {
        let what = format!("{signal:?}");
        match self.core.call(|reply| Command::Pms { signal, reply }).await {
            Ok(Ok(())) => {}
            Ok(Err(CoreError::Unavailable(error))) | Err(CoreError::Unavailable(error)) => {
                tracing::error!(%error, "A PMS record could not be stored; a new resync will be asked for.");
                self.resync_again = true;
            }
            Ok(Err(error)) | Err(error) => {
                self.link.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, record = what.chars().take(120).collect::<String>(), "A PMS record was refused.");
            }
        }
    }

    /// Sends the room statuses waiting, once the link is up.
    async fn flush(&mut self, stream: &mut TcpStream) -> Result<(), String> {
        if !self.up {
            return Ok(());
        }
        while let Some(status) = self.outbox.0.front().cloned() {
            self.send(stream, &[Message::RoomStatus(status)]).await?;
            self.outbox.0.pop_front();
        }
        Ok(())
    }

    async fn send(&self, stream: &mut TcpStream, messages: &[Message]) -> Result<(), String> {
        let mut bytes = Vec::new();
        for message in messages {
            bytes.extend(encode_frame(&message.encode(), self.pms.lrc));
        }
        match tokio::time::timeout(Duration::from_secs(10), stream.write_all(&bytes)).await {
            Ok(Ok(())) => {
                self.link.records_out.fetch_add(messages.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(e)) => Err(format!("writing: {e}")),
            Err(_) => Err("writing: the PMS took no data for 10 s".into()),
        }
    }
}

/// The room statuses a committed batch holds, as RE records: RS from housekeeping's status and the occupancy.
fn room_statuses(batch: &Committed) -> Vec<RoomStatus> {
    batch
        .events
        .iter()
        .filter_map(|event| match &event.body {
            EventBody::RoomStatusChanged { location, status, occupied } => {
                let maid = match (status.as_str(), occupied) {
                    ("inspected", false) => MaidStatus::InspectedVacant,
                    ("inspected", true) => MaidStatus::InspectedOccupied,
                    ("cleaned", false) => MaidStatus::CleanVacant,
                    ("cleaned", true) => MaidStatus::CleanOccupied,
                    (_, false) => MaidStatus::DirtyVacant,
                    (_, true) => MaidStatus::DirtyOccupied,
                };
                Some(RoomStatus { room: location.clone(), maid: Some(maid), dnd: None, extra: Vec::new() })
            }
            _ => None,
        })
        .collect()
}

/// Today's date (`yyMMdd`) and the time (`HHmmss`) in UTC.
fn now_stamp() -> (String, String) {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    (now.strftime("%y%m%d").to_string(), now.strftime("%H%M%S").to_string())
}

fn stamped_alive() -> Message {
    let (date, time) = now_stamp();
    Message::LinkAlive { date: Some(date), time: Some(time) }
}

fn stamped_end() -> Message {
    let (date, time) = now_stamp();
    Message::LinkEnd { date: Some(date), time: Some(time) }
}
