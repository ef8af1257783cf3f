//! The ground floor: the words every layer shares (tickets, priorities, people, places, devices). It depends on
//! nothing else in the crate, and does no I/O.

pub mod actor;
pub mod device;
pub mod people;
pub mod place;
pub mod priority;
pub mod sla;
pub mod ticket;

pub use actor::Actor;
pub use device::{Device, DeviceState};
pub use people::{Duty, GuestTier, Role};
pub use place::{CatalogItem, Location, LocationClass, LocationKind, Occupancy};
pub use priority::Priority;
pub use sla::{Flag, Reason, Target};
pub use ticket::{Action, AssignmentKind, Source, Status};

#[cfg(test)]
mod tests {
    use super::*;

    /// Each value's `as_str` is its JSON spelling, and `parse` reads it back; anything else parses to nothing.
    fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize,
    {
        for &value in all {
            let text = as_str(value);
            assert_eq!(serde_json::to_value(value).unwrap(), serde_json::Value::from(text), "{value:?}");
            assert_eq!(parse(text), Some(value), "{text}");
        }
        assert_eq!(parse("Nonsense"), None);
    }

    #[test]
    fn every_spelling_is_the_json_one_and_parses_back() {
        round_trips(&Status::ALL, Status::as_str, Status::parse);
        round_trips(&Action::ALL, Action::as_str, Action::parse);
        round_trips(&Source::ALL, Source::as_str, Source::parse);
        round_trips(&Priority::ALL, Priority::as_str, Priority::parse);
        round_trips(&Role::ALL, Role::as_str, Role::parse);
        round_trips(&Duty::ALL, Duty::as_str, Duty::parse);
        round_trips(&GuestTier::ALL, GuestTier::as_str, GuestTier::parse);
        round_trips(&DeviceState::ALL, DeviceState::as_str, DeviceState::parse);
        round_trips(&Flag::ALL, Flag::as_str, Flag::parse);
        round_trips(&Target::ALL, Target::as_str, Target::parse);
        round_trips(&Reason::ALL, Reason::as_str, Reason::parse);
        round_trips(&AssignmentKind::ALL, AssignmentKind::as_str, AssignmentKind::parse);
        assert_eq!(Status::InProgress.as_str(), "in_progress");
        assert_eq!(GuestTier::LongStay.as_str(), "long_stay");
    }

    #[test]
    fn the_roster_holds_only_the_roles_people_have() {
        assert_eq!(Role::parse_ladder("manager"), Some(Role::Manager));
        assert_eq!(Role::parse_ladder("installer"), None);
        assert_eq!(Role::parse("installer"), Some(Role::Installer));
    }
}
