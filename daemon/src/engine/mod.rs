//! Pure decision engines: they take state and input and return a decision. No I/O, no clock.

pub mod assign;
pub mod calendar;
pub mod devices;
pub mod flood;
pub mod intake;
pub mod lifecycle;
pub mod outage;
pub mod routing;
pub mod shifts;
pub mod sla;
