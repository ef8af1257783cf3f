//! A ticket's SLA standing: its flag, the two targets, and why an escalation level fired.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

/// How close a ticket is to its targets. Ordered from best to worst.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    IntoStaticStr,
    EnumString,
    Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Flag {
    /// Every active target is comfortably ahead.
    #[default]
    Green,
    /// An active target is past its yellow share.
    Yellow,
    /// An active target has been reached.
    Red,
}

/// One of the two targets of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, IntoStaticStr, EnumString, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Target {
    /// Acknowledge by then.
    Response,
    /// Resolve by then.
    Resolution,
}

/// Why an escalation level fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, IntoStaticStr, EnumString, Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Reason {
    /// The clock reached the level's position.
    Due,
    /// The ticket was started as an emergency: every level fires at once.
    Emergency,
    /// Someone escalated by hand.
    Manual,
}

impl Flag {
    /// Every value.
    pub const ALL: [Flag; 3] = [Flag::Green, Flag::Yellow, Flag::Red];

    /// The spelling in JSON and SQL: `green`, `yellow` or `red`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<Flag> {
        s.parse().ok()
    }
}

impl Target {
    /// Every value.
    pub const ALL: [Target; 2] = [Target::Response, Target::Resolution];

    /// The spelling in JSON and SQL: `response` or `resolution`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<Target> {
        s.parse().ok()
    }
}

impl Reason {
    /// Every value.
    pub const ALL: [Reason; 3] = [Reason::Due, Reason::Emergency, Reason::Manual];

    /// The spelling in JSON and SQL: `due`, `emergency` or `manual`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<Reason> {
        s.parse().ok()
    }
}
