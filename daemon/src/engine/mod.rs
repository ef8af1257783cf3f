//! Pure decision engines: they take state and input and return a decision. No I/O, no clock.

pub mod devices;
pub mod intake;
pub mod lifecycle;
