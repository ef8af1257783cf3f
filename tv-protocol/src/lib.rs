//! The wire contract between Bellhop and in-room devices (TVs, kiosks, tablets), version 1.
//!
//! Topic builders and the topic parser, every payload with strict validation, the error codes of a rejected request,
//! and the mDNS service names and TXT keys. No I/O: the daemon, device simulators and vendors' test tools share it.
//! The human-readable specification is `docs/tv-protocol.md`.

mod ack;
mod discovery;
mod error;
mod feedback;
mod id;
mod json;
mod menu;
mod notice;
mod presence;
mod request;
mod status;
mod topic;

pub use ack::{decode_ack, Ack, AckResult, ErrorBody};
pub use discovery::{parse_device_txt, DeviceAdvert, DeviceKind, GatewayAdvert, DEVICE_SERVICE, GATEWAY_SERVICE};
pub use error::{DecodeError, ErrorCode, Rejection};
pub use feedback::{decode_feedback, encode_feedback, Feedback, FeedbackKind};
pub use id::{validate_id, IdError};
pub use menu::{decode_menu, Menu, MenuItem};
pub use notice::{decode_notice, NoticeKind, StaffNotice};
pub use presence::Presence;
pub use request::{decode_request, encode_request, Request};
pub use status::{decode_status, LocationStatus, StatusTicket};
pub use topic::{Topic, TopicError, Topics};

/// The protocol version spoken here; it appears in every topic (`v1`) and in the `proto` TXT key.
pub const PROTOCOL_VERSION: u32 = 1;
/// The revision of v1 described here. Revisions only add to v1; `docs/tv-protocol.md` lists what each one added.
/// Revision 2 added the device status topic ([`Topics::device_status`]), the one status a device may read under
/// the shipped broker ACL.
pub const PROTOCOL_REVISION: u32 = 2;
/// The topic root when the configuration does not name one.
pub const DEFAULT_ROOT: &str = "bellhop";
/// The largest request or feedback payload the gateway reads; larger ones are rejected with `too_large`.
pub const MAX_PAYLOAD_BYTES: usize = 4096;
/// The longest location, device, request or feedback id.
pub const MAX_ID_LEN: usize = 64;
/// The longest note on a request, or comment on a rating, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// The largest quantity a request may ask for.
pub const MAX_QTY: u8 = 99;
