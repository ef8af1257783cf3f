//! Credentials of people: password hashing and the strength rule, TOTP second factors with their QR code, and the
//! random one-time codes (enrolment, recovery, session tokens). Pure functions on ring; no I/O, no store.

pub mod clock;
pub mod codes;
pub mod password;
pub mod qr;
pub mod totp;
