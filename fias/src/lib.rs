//! The link between Bellhop and a hotel's property management system (PMS) over FIAS, as far as Bellhop speaks it.
//!
//! Three layers, none of which does I/O: [`frame`] cuts a byte stream into STX … ETX frames (skipping garbage
//! between them, bounding a frame's size, checking an optional LRC byte), [`record`] reads one frame as a record
//! type and its two-letter fields, and [`message`] gives the records Bellhop acts on their meaning. Unknown
//! records and fields are kept, never refused; nothing here panics on any input. The daemon's link adapter moves
//! the bytes; the specification for people is `docs/pms.md`.

pub mod frame;
pub mod message;
pub mod record;

pub use frame::{encode_frame, Decoder, FrameError, MAX_FRAME};
pub use message::{Date, DecodeError, Guest, MaidStatus, Message, MessageError, RoomStatus};
pub use record::{Record, RecordError};

/// Start of a frame.
pub const STX: u8 = 0x02;
/// End of a frame.
pub const ETX: u8 = 0x03;
/// Separates the record type and the fields.
pub const SEP: u8 = b'|';
