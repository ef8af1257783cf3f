//! The records Bellhop acts on, with their meaning: link control (LS, LA, LE, LD, LR), database resync (DR, DS,
//! DE), guest check-in, check-out and change (GI, GO, GC) and room status (RE). Any other record is kept whole as
//! [`Message::Other`]; fields a message does not name are kept in its `extra`, in order.

use crate::record::Record;

/// A `yyMMdd` date as FIAS writes it (years 2000 to 2099).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// The year.
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
}

impl Date {
    /// Reads `yyMMdd`; `None` when it is not a date.
    pub fn parse(text: &str) -> Option<Date> {
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = |r: std::ops::Range<usize>| text[r].parse::<u8>().ok();
        let (year, month, day) = (n(0..2)?, n(2..4)?, n(4..6)?);
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Date {
            year: 2000 + u16::from(year),
            month,
            day,
        })
    }

    /// `yyMMdd`.
    pub fn fias(&self) -> String {
        format!("{:02}{:02}{:02}", self.year % 100, self.month, self.day)
    }

    /// `yyyy-MM-dd`.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Housekeeping's status of a room (`RS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaidStatus {
    /// 1.
    DirtyVacant,
    /// 2.
    DirtyOccupied,
    /// 3.
    CleanVacant,
    /// 4.
    CleanOccupied,
    /// 5.
    InspectedVacant,
    /// 6.
    InspectedOccupied,
}

impl MaidStatus {
    /// Every status, in code order.
    pub const ALL: [MaidStatus; 6] = [
        MaidStatus::DirtyVacant,
        MaidStatus::DirtyOccupied,
        MaidStatus::CleanVacant,
        MaidStatus::CleanOccupied,
        MaidStatus::InspectedVacant,
        MaidStatus::InspectedOccupied,
    ];

    /// The `RS` code, 1 to 6.
    pub fn code(self) -> u8 {
        MaidStatus::ALL.iter().position(|s| *s == self).map_or(1, |i| i as u8 + 1)
    }

    /// Reads an `RS` code.
    pub fn from_code(text: &str) -> Option<MaidStatus> {
        let n: usize = text.parse().ok()?;
        MaidStatus::ALL.get(n.checked_sub(1)?).copied()
    }
}

/// A guest record (GI, GO, GC): the fields Bellhop reads, and the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guest {
    /// `RN`: the room.
    pub room: String,
    /// `G#`: the PMS's reservation number.
    pub reservation: Option<String>,
    /// `GN`: the guest's name.
    pub name: Option<String>,
    /// `GF`: first name.
    pub first_name: Option<String>,
    /// `GL`: language.
    pub language: Option<String>,
    /// `GV`: VIP status, the PMS's own code.
    pub vip: Option<String>,
    /// `GA`: arrival date, as sent (`yyMMdd`; see [`Date::parse`]).
    pub arrival: Option<String>,
    /// `GD`: departure date, as sent.
    pub departure: Option<String>,
    /// `GS`: share flag, as sent.
    pub share: Option<String>,
    /// `RO`: the old room of a room move (GC only).
    pub old_room: Option<String>,
    /// Every other field, in order.
    pub extra: Vec<(String, String)>,
}

/// A room status record (RE), in either direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomStatus {
    /// `RN`: the room.
    pub room: String,
    /// `RS`: housekeeping's status.
    pub maid: Option<MaidStatus>,
    /// `DN`: do-not-disturb (`Y`/`N`).
    pub dnd: Option<bool>,
    /// Every other field, in order (message light `ML` among them).
    pub extra: Vec<(String, String)>,
}

/// One message of the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// LS: link start, with the sender's date (`DA`) and time (`TI`).
    LinkStart {
        /// `DA`.
        date: Option<String>,
        /// `TI`.
        time: Option<String>,
    },
    /// LA: link alive.
    LinkAlive {
        /// `DA`.
        date: Option<String>,
        /// `TI`.
        time: Option<String>,
    },
    /// LE: link end.
    LinkEnd {
        /// `DA`.
        date: Option<String>,
        /// `TI`.
        time: Option<String>,
    },
    /// LD: link description, from the interface to the PMS.
    LinkDescription {
        /// `IF`: the interface family.
        family: String,
        /// `V#`: the interface's version (up to 10 characters).
        version: String,
        /// `DA`.
        date: Option<String>,
        /// `TI`.
        time: Option<String>,
        /// `RL`: the longest record the interface reads.
        record_len: Option<u16>,
    },
    /// LR: a record type the interface wants, with its fields.
    LinkRecord {
        /// `RI`: the record type.
        record: String,
        /// `FL`: the field ids, run together (`RNG#GNGLGV`).
        fields: String,
    },
    /// DR: the interface asks for a database resync.
    ResyncRequest,
    /// DS: a resync begins; GI records for every occupied room follow.
    ResyncStart,
    /// DE: the resync is complete.
    ResyncEnd,
    /// GI: check-in.
    CheckIn(Guest),
    /// GO: check-out.
    CheckOut(Guest),
    /// GC: a guest's data changed, or (with `RO`) the guest moved room.
    GuestChange(Guest),
    /// RE: room status.
    RoomStatus(RoomStatus),
    /// Any other record, kept as it came.
    Other(Record),
}

/// Why a record of a known type could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// A field the record needs is missing or empty.
    #[error("{record} without {field}")]
    Missing {
        /// The record type.
        record: &'static str,
        /// The field.
        field: &'static str,
    },
}

const GUEST_FIELDS: [&str; 10] = ["RN", "G#", "GN", "GF", "GL", "GV", "GA", "GD", "GS", "RO"];

impl Message {
    /// The record type.
    pub fn kind(&self) -> &str {
        match self {
            Message::LinkStart { .. } => "LS",
            Message::LinkAlive { .. } => "LA",
            Message::LinkEnd { .. } => "LE",
            Message::LinkDescription { .. } => "LD",
            Message::LinkRecord { .. } => "LR",
            Message::ResyncRequest => "DR",
            Message::ResyncStart => "DS",
            Message::ResyncEnd => "DE",
            Message::CheckIn(_) => "GI",
            Message::CheckOut(_) => "GO",
            Message::GuestChange(_) => "GC",
            Message::RoomStatus(_) => "RE",
            Message::Other(record) => &record.kind,
        }
    }

    /// Gives a record its meaning.
    pub fn from_record(record: Record) -> Result<Message, MessageError> {
        let owned = |id: &str| record.get(id).map(str::to_owned);
        let stamp = || (owned("DA"), owned("TI"));
        Ok(match record.kind.as_str() {
            "LS" => {
                let (date, time) = stamp();
                Message::LinkStart { date, time }
            }
            "LA" => {
                let (date, time) = stamp();
                Message::LinkAlive { date, time }
            }
            "LE" => {
                let (date, time) = stamp();
                Message::LinkEnd { date, time }
            }
            "LD" => Message::LinkDescription {
                family: owned("IF").unwrap_or_default(),
                version: owned("V#").unwrap_or_default(),
                date: owned("DA"),
                time: owned("TI"),
                record_len: record.get("RL").and_then(|v| v.parse().ok()),
            },
            "LR" => {
                Message::LinkRecord { record: required(&record, "LR", "RI")?, fields: owned("FL").unwrap_or_default() }
            }
            "DR" => Message::ResyncRequest,
            "DS" => Message::ResyncStart,
            "DE" => Message::ResyncEnd,
            "GI" => Message::CheckIn(guest(&record, "GI")?),
            "GO" => Message::CheckOut(guest(&record, "GO")?),
            "GC" => Message::GuestChange(guest(&record, "GC")?),
            "RE" => Message::RoomStatus(RoomStatus {
                room: required(&record, "RE", "RN")?,
                maid: record.get("RS").and_then(MaidStatus::from_code),
                dnd: record.get("DN").and_then(|v| match v {
                    "Y" => Some(true),
                    "N" => Some(false),
                    _ => None,
                }),
                extra: record
                    .fields
                    .iter()
                    .filter(|(k, _)| !["RN", "RS", "DN"].contains(&k.as_str()))
                    .cloned()
                    .collect(),
            }),
            _ => Message::Other(record),
        })
    }

    /// Reads a frame's content as a message.
    pub fn decode(frame: &[u8]) -> Result<Message, DecodeError> {
        let record = Record::parse(frame)?;
        Ok(Message::from_record(record)?)
    }

    /// The record for this message.
    pub fn to_record(&self) -> Record {
        let stamped = |kind: &str, date: &Option<String>, time: &Option<String>| {
            Record::new(kind).with("DA", date.as_deref()).with("TI", time.as_deref())
        };
        match self {
            Message::LinkStart { date, time } => stamped("LS", date, time),
            Message::LinkAlive { date, time } => stamped("LA", date, time),
            Message::LinkEnd { date, time } => stamped("LE", date, time),
            Message::LinkDescription { family, version, date, time, record_len } => Record::new("LD")
                .with("IF", Some(family))
                .with("V#", Some(version))
                .with("DA", date.as_deref())
                .with("TI", time.as_deref())
                .with("RL", record_len.map(|n| n.to_string()).as_deref()),
            Message::LinkRecord { record, fields } => {
                Record::new("LR").with("RI", Some(record)).with("FL", Some(fields))
            }
            Message::ResyncRequest => Record::new("DR"),
            Message::ResyncStart => Record::new("DS"),
            Message::ResyncEnd => Record::new("DE"),
            Message::CheckIn(g) => guest_record("GI", g),
            Message::CheckOut(g) => guest_record("GO", g),
            Message::GuestChange(g) => guest_record("GC", g),
            Message::RoomStatus(status) => {
                let mut record = Record::new("RE")
                    .with("RN", Some(&status.room))
                    .with("RS", status.maid.map(|m| m.code().to_string()).as_deref())
                    .with("DN", status.dnd.map(|on| if on { "Y" } else { "N" }));
                record.fields.extend(status.extra.iter().cloned());
                record
            }
            Message::Other(record) => record.clone(),
        }
    }

    /// The record's bytes, without framing.
    pub fn encode(&self) -> Vec<u8> {
        self.to_record().encode()
    }
}

/// Why a frame is not a message Bellhop can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a record at all.
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
    /// A known record without a field it needs.
    #[error(transparent)]
    Message(#[from] MessageError),
}

fn required(record: &Record, kind: &'static str, field: &'static str) -> Result<String, MessageError> {
    record
        .get(field)
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().to_owned())
        .ok_or(MessageError::Missing { record: kind, field })
}

fn guest(record: &Record, kind: &'static str) -> Result<Guest, MessageError> {
    let owned = |id: &str| record.get(id).map(str::to_owned);
    Ok(Guest {
        room: required(record, kind, "RN")?,
        reservation: owned("G#"),
        name: owned("GN"),
        first_name: owned("GF"),
        language: owned("GL"),
        vip: owned("GV"),
        arrival: owned("GA"),
        departure: owned("GD"),
        share: owned("GS"),
        old_room: owned("RO"),
        extra: record.fields.iter().filter(|(k, _)| !GUEST_FIELDS.contains(&k.as_str())).cloned().collect(),
    })
}

fn guest_record(kind: &str, g: &Guest) -> Record {
    let mut record = Record::new(kind)
        .with("RN", Some(&g.room))
        .with("G#", g.reservation.as_deref())
        .with("GN", g.name.as_deref())
        .with("GF", g.first_name.as_deref())
        .with("GL", g.language.as_deref())
        .with("GV", g.vip.as_deref())
        .with("GA", g.arrival.as_deref())
        .with("GD", g.departure.as_deref())
        .with("GS", g.share.as_deref())
        .with("RO", g.old_room.as_deref());
    record.fields.extend(g.extra.iter().cloned());
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_check_in_reads_its_fields_and_keeps_the_rest() {
        let message = Message::decode(b"GI|RN1204|G#5531|GNSmith|GFAnn|GLEA|GVVIP1|GA261127|GD261130|XXkeep|").unwrap();
        let Message::CheckIn(guest) = &message else { panic!("not a check-in: {message:?}") };
        assert_eq!(guest.room, "1204");
        assert_eq!(guest.name.as_deref(), Some("Smith"));
        assert_eq!(guest.vip.as_deref(), Some("VIP1"));
        assert_eq!(guest.arrival.as_deref().and_then(Date::parse).map(|d| d.iso()), Some("2026-11-27".into()));
        assert_eq!(guest.extra, vec![("XX".to_owned(), "keep".to_owned())]);
        assert_eq!(Message::decode(&message.encode()), Ok(message));
    }

    #[test]
    fn room_moves_room_status_and_unknown_records() {
        let Message::GuestChange(g) = Message::decode(b"GC|RN305|RO204|G#1|").unwrap() else { panic!() };
        assert_eq!((g.room.as_str(), g.old_room.as_deref()), ("305", Some("204")));
        let status = Message::decode(b"RE|RN305|RS5|DNY|MLN|").unwrap();
        assert_eq!(
            status,
            Message::RoomStatus(RoomStatus {
                room: "305".into(),
                maid: Some(MaidStatus::InspectedVacant),
                dnd: Some(true),
                extra: vec![("ML".into(), "N".into())],
            })
        );
        assert!(matches!(Message::decode(b"NS|DA261127|"), Ok(Message::Other(r)) if r.kind == "NS"));
        assert_eq!(
            Message::decode(b"GI|G#5|"),
            Err(DecodeError::Message(MessageError::Missing { record: "GI", field: "RN" }))
        );
    }

    #[test]
    fn dates() {
        assert_eq!(Date::parse("261231").map(|d| d.iso()), Some("2026-12-31".into()));
        assert_eq!(Date::parse("261331"), None);
        assert_eq!(Date::parse("2612"), None);
        assert_eq!(Date::parse("26-2-1"), None);
        assert_eq!(Date::parse("261231").map(|d| d.fias()), Some("261231".into()));
    }

    fn value() -> impl Strategy<Value = String> {
        "[!-{}~]{1,20}"
    }

    fn guest_strategy() -> impl Strategy<Value = Guest> {
        (
            value(),
            proptest::option::of(value()),
            proptest::option::of(value()),
            proptest::option::of(value()),
            proptest::option::of(value()),
            proptest::option::of(value()),
            proptest::option::of(value()),
        )
            .prop_map(|(room, reservation, name, language, vip, arrival, old_room)| Guest {
                room,
                reservation,
                name,
                language,
                vip,
                arrival,
                old_room,
                ..Guest::default()
            })
    }

    proptest! {
        #[test]
        fn guests_round_trip(guest in guest_strategy(), kind in 0..3u8) {
            let message = match kind {
                0 => Message::CheckIn(guest),
                1 => Message::CheckOut(guest),
                _ => Message::GuestChange(guest),
            };
            prop_assert_eq!(Message::decode(&message.encode()), Ok(message));
        }

        #[test]
        fn room_status_round_trips(room in value(), maid in proptest::option::of(0..6usize), dnd in any::<Option<bool>>()) {
            let message = Message::RoomStatus(RoomStatus {
                room, maid: maid.map(|i| MaidStatus::ALL[i]), dnd, extra: Vec::new(),
            });
            prop_assert_eq!(Message::decode(&message.encode()), Ok(message));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(message) = Message::decode(&bytes) {
                let _ = message.encode();
            }
        }
    }
}
