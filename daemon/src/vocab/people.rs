//! People and their standing: roles (for the roster and for tokens), duty, and guest tiers.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

/// What a person or a token may do. Every role may be held by a person on the roster; the escalation ladder's roles
/// (staff, supervisor, manager, admin) are ordered from the bottom up, and analytics and installer, who work no
/// tickets and are on no ladder, come after them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, IntoStaticStr, EnumString, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// Does the work: works tickets.
    Staff,
    /// Leads a department's shift: works tickets and gets escalations.
    Supervisor,
    /// Runs a department: gets escalations and reports.
    Manager,
    /// Runs the property (the general manager, the duty manager); not tied to a department. Everything.
    Admin,
    /// Reads tickets and reports; works no tickets.
    Analytics,
    /// Devices, controllers and health; works no tickets.
    Installer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] =
        [Role::Staff, Role::Supervisor, Role::Manager, Role::Admin, Role::Analytics, Role::Installer];

    /// The escalation ladder, bottom first: the roles that work tickets and are reached by escalations.
    pub const LADDER: [Role; 4] = [Role::Staff, Role::Supervisor, Role::Manager, Role::Admin];

    /// The spelling in files, JSON, the CLI and the store.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<Role> {
        s.parse().ok()
    }

    /// Parses the spelling of a role on the escalation ladder (not analytics or installer).
    pub fn parse_ladder(s: &str) -> Option<Role> {
        Role::LADDER.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether tickets are assigned to people with this role.
    pub fn works_tickets(self) -> bool {
        Role::LADDER.contains(&self)
    }
}

/// Whether a member of staff can take tickets now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr, EnumString, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Duty {
    /// Not working.
    Off,
    /// Working and taking tickets.
    On,
    /// Working but on a break: keeps their tickets, takes no new ones.
    Break,
}

impl Duty {
    /// Every duty state.
    pub const ALL: [Duty; 3] = [Duty::Off, Duty::On, Duty::Break];

    /// The spelling in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<Duty> {
        s.parse().ok()
    }
}

/// The guest's standing, as the PMS or the front desk records it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr, EnumString, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum GuestTier {
    /// An ordinary stay (also when the tier is not known).
    #[default]
    Standard,
    /// A VIP.
    Vip,
    /// A long stay.
    LongStay,
}

impl GuestTier {
    /// Every tier.
    pub const ALL: [GuestTier; 3] = [GuestTier::Standard, GuestTier::Vip, GuestTier::LongStay];

    /// The spelling in files, JSON and SQL.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<GuestTier> {
        s.parse().ok()
    }
}
