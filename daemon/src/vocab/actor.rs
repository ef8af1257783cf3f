//! Who caused a journal event, and how the journal's `actor` column spells it.

use std::fmt;

use super::Source;

/// Who caused an event. Its text form (`Display`) is the journal's `actor` column, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A guest's device, by its source and id: `tv:{device}`, `kiosk:{device}`.
    Device {
        /// What kind of device (`tv`, `kiosk`).
        source: Source,
        /// Its id.
        device: String,
    },
    /// An API token issued without an owner, by its public id: `token:{id}`.
    Token(String),
    /// A person, signed in or through a token they own, by their staff id: `staff:{id}`.
    Staff(String),
    /// Another system, through a token it owns, by its name: `integration:{name}`.
    Integration(String),
    /// A room controller, by its id in `[grms]`: `grms:{controller}`.
    Controller(String),
    /// An operator at the command line (`bellhop devices bind`, `bellhop token create`): `cli`.
    Cli,
    /// mDNS discovery: `mdns`.
    Mdns,
    /// `bellhop demo` setting up its property: `demo`.
    Demo,
    /// Bellhop itself (SLA clocks, queues, pruning, outages): `system`.
    System,
    /// The hotel's property management system, over the PMS link: `pms`.
    Pms,
}

impl Actor {
    /// A guest's device.
    pub fn device(source: Source, device: impl Into<String>) -> Actor {
        Actor::Device { source, device: device.into() }
    }

    /// Reads the journal's spelling back; `None` for text no version of Bellhop writes.
    pub fn parse(text: &str) -> Option<Actor> {
        match text {
            "cli" => return Some(Actor::Cli),
            "mdns" => return Some(Actor::Mdns),
            "demo" => return Some(Actor::Demo),
            "system" => return Some(Actor::System),
            "pms" => return Some(Actor::Pms),
            _ => {}
        }
        let (prefix, id) = text.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        match prefix {
            "token" => Some(Actor::Token(id.to_owned())),
            "staff" => Some(Actor::Staff(id.to_owned())),
            "integration" => Some(Actor::Integration(id.to_owned())),
            "grms" => Some(Actor::Controller(id.to_owned())),
            other => Source::parse(other).map(|source| Actor::device(source, id)),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Device { source, device } => write!(f, "{}:{device}", source.as_str()),
            Actor::Token(id) => write!(f, "token:{id}"),
            Actor::Staff(id) => write!(f, "staff:{id}"),
            Actor::Integration(name) => write!(f, "integration:{name}"),
            Actor::Controller(id) => write!(f, "grms:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::Mdns => f.write_str("mdns"),
            Actor::Demo => f.write_str("demo"),
            Actor::System => f.write_str("system"),
            Actor::Pms => f.write_str("pms"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_spelling_is_kept_byte_for_byte() {
        let cases = [
            (Actor::device(Source::Tv, "tv-101"), "tv:tv-101"),
            (Actor::device(Source::Kiosk, "lobby-1"), "kiosk:lobby-1"),
            (Actor::Token("7f3a".into()), "token:7f3a"),
            (Actor::Staff("ana".into()), "staff:ana"),
            (Actor::Integration("pms-link".into()), "integration:pms-link"),
            (Actor::Controller("plc-1".into()), "grms:plc-1"),
            (Actor::Cli, "cli"),
            (Actor::Mdns, "mdns"),
            (Actor::Demo, "demo"),
            (Actor::System, "system"),
            (Actor::Pms, "pms"),
        ];
        for (actor, text) in cases {
            assert_eq!(actor.to_string(), text);
            assert_eq!(Actor::parse(text), Some(actor), "{text}");
        }
        assert_eq!(Actor::parse("token:"), None);
        assert_eq!(Actor::parse("someone"), None);
    }
}
