//! The ground floor: the words every layer shares (tickets, priorities, people, places, devices). It depends on
//! nothing else in the crate, and does no I/O.

pub mod device;
pub mod people;
pub mod place;
pub mod priority;
pub mod ticket;

pub use device::Device;
pub use people::{Duty, GuestTier, Role};
pub use place::{CatalogItem, Location, LocationClass, LocationKind};
pub use priority::Priority;
pub use ticket::{Action, Source, Status};
