//! Topic builders and the topic parser for every v1 topic under a configurable root.

use crate::id::{validate_id, IdError};

/// One v1 topic with the ids it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    /// `{root}/v1/loc/{location}/dev/{device}/request`: device → gateway, QoS 1.
    Request { location: String, device: String },
    /// `{root}/v1/loc/{location}/dev/{device}/ack`: gateway → device, QoS 1.
    Ack { location: String, device: String },
    /// `{root}/v1/loc/{location}/dev/{device}/feedback`: device → gateway, QoS 1.
    Feedback { location: String, device: String },
    /// `{root}/v1/loc/{location}/dev/{device}/presence`: the device (and its last will), QoS 1, retained.
    Presence { location: String, device: String },
    /// `{root}/v1/loc/{location}/status`: gateway → the gateway's own tools and monitoring, QoS 1, retained. Devices
    /// read [`Topic::DeviceStatus`] instead; the shipped broker ACL keeps them off this topic.
    Status { location: String },
    /// `{root}/v1/dev/{device}/status`: gateway → one device, QoS 1, retained: the status of the location the device
    /// is bound to. Readable by that device alone under the shipped broker ACL.
    DeviceStatus { device: String },
    /// `{root}/v1/menu`: gateway → devices, QoS 1, retained.
    Menu,
    /// `{root}/v1/staff/{staff}/notify`: gateway → staff handhelds, QoS 1.
    StaffNotify { staff: String },
}

/// Why a topic or a topic root is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// The root is empty, has an empty level, or holds a wildcard or NUL.
    #[error("topic root {0:?} must be one or more non-empty levels without '+', '#' or NUL")]
    BadRoot(String),
    /// The topic is not under this root's `v1` tree, or has an unknown shape.
    #[error("not a v1 topic under this root")]
    Unknown,
    /// A location, device or staff id in the topic is not valid.
    #[error("{what} id {id:?} {error}")]
    BadId { what: &'static str, id: String, error: IdError },
}

/// Builds and parses the topics under one root (default `bellhop`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// `{root}/v1`, the prefix of every topic.
    base: String,
}

impl Topics {
    /// Topics under `root`, which must be one or more non-empty levels without wildcards.
    pub fn new(root: &str) -> Result<Topics, TopicError> {
        let bad = root.is_empty() || root.split('/').any(|level| level.is_empty()) || root.contains(['+', '#', '\0']);
        if bad {
            return Err(TopicError::BadRoot(root.to_owned()));
        }
        Ok(Topics { base: format!("{root}/v1") })
    }

    fn device(&self, location: &str, device: &str, leaf: &str) -> String {
        format!("{}/loc/{location}/dev/{device}/{leaf}", self.base)
    }

    /// Where a device publishes its requests.
    pub fn request(&self, location: &str, device: &str) -> String {
        self.device(location, device, "request")
    }

    /// Where the gateway answers a device's requests and feedback.
    pub fn ack(&self, location: &str, device: &str) -> String {
        self.device(location, device, "ack")
    }

    /// Where a device publishes ratings and cancels.
    pub fn feedback(&self, location: &str, device: &str) -> String {
        self.device(location, device, "feedback")
    }

    /// A device's retained presence (`online`/`offline`), also its last will.
    pub fn presence(&self, location: &str, device: &str) -> String {
        self.device(location, device, "presence")
    }

    /// The retained status of a location's open tickets.
    pub fn status(&self, location: &str) -> String {
        format!("{}/loc/{location}/status", self.base)
    }

    /// The retained status of the location `device` is bound to, for that device alone.
    pub fn device_status(&self, device: &str) -> String {
        format!("{}/dev/{device}/status", self.base)
    }

    /// The retained menu (request catalog).
    pub fn menu(&self) -> String {
        format!("{}/menu", self.base)
    }

    /// Notifications for one member of staff.
    pub fn staff_notify(&self, staff: &str) -> String {
        format!("{}/staff/{staff}/notify", self.base)
    }

    /// The gateway's subscription to every device's requests.
    pub fn request_filter(&self) -> String {
        self.device("+", "+", "request")
    }

    /// The gateway's subscription to every device's feedback.
    pub fn feedback_filter(&self) -> String {
        self.device("+", "+", "feedback")
    }

    /// The gateway's subscription to every device's presence.
    pub fn presence_filter(&self) -> String {
        self.device("+", "+", "presence")
    }

    /// Parses a topic under this root; ids are validated.
    pub fn parse(&self, topic: &str) -> Result<Topic, TopicError> {
        let rest = topic.strip_prefix(&self.base).and_then(|r| r.strip_prefix('/')).ok_or(TopicError::Unknown)?;
        let levels: Vec<&str> = rest.split('/').collect();
        let id = |what: &'static str, id: &str| {
            validate_id(id).map(|()| id.to_owned()).map_err(|error| TopicError::BadId {
                what,
                id: id.to_owned(),
                error,
            })
        };
        match levels.as_slice() {
            ["menu"] => Ok(Topic::Menu),
            ["staff", staff, "notify"] => Ok(Topic::StaffNotify { staff: id("staff", staff)? }),
            ["loc", location, "status"] => Ok(Topic::Status { location: id("location", location)? }),
            ["dev", device, "status"] => Ok(Topic::DeviceStatus { device: id("device", device)? }),
            ["loc", location, "dev", device, leaf] => {
                let location = id("location", location)?;
                let device = id("device", device)?;
                match *leaf {
                    "request" => Ok(Topic::Request { location, device }),
                    "ack" => Ok(Topic::Ack { location, device }),
                    "feedback" => Ok(Topic::Feedback { location, device }),
                    "presence" => Ok(Topic::Presence { location, device }),
                    _ => Err(TopicError::Unknown),
                }
            }
            _ => Err(TopicError::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn topics() -> Topics {
        Topics::new("bellhop").unwrap()
    }

    #[test]
    fn builds_the_documented_topics() {
        let t = topics();
        assert_eq!(t.request("1204", "tv-1"), "bellhop/v1/loc/1204/dev/tv-1/request");
        assert_eq!(t.ack("1204", "tv-1"), "bellhop/v1/loc/1204/dev/tv-1/ack");
        assert_eq!(t.feedback("1204", "tv-1"), "bellhop/v1/loc/1204/dev/tv-1/feedback");
        assert_eq!(t.presence("1204", "tv-1"), "bellhop/v1/loc/1204/dev/tv-1/presence");
        assert_eq!(t.status("1204"), "bellhop/v1/loc/1204/status");
        assert_eq!(t.device_status("tv-1"), "bellhop/v1/dev/tv-1/status");
        assert_eq!(t.menu(), "bellhop/v1/menu");
        assert_eq!(t.staff_notify("ana"), "bellhop/v1/staff/ana/notify");
        assert_eq!(t.request_filter(), "bellhop/v1/loc/+/dev/+/request");
    }

    #[test]
    fn roots_may_have_levels_but_no_wildcards() {
        assert!(Topics::new("hotel/bellhop").is_ok());
        for bad in ["", "/bellhop", "bellhop/", "a//b", "bell+hop", "#"] {
            assert!(Topics::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parses_every_topic_it_builds() {
        let t = topics();
        let (l, d) = ("1204".to_string(), "tv-1".to_string());
        let cases = [
            (t.request(&l, &d), Topic::Request { location: l.clone(), device: d.clone() }),
            (t.ack(&l, &d), Topic::Ack { location: l.clone(), device: d.clone() }),
            (t.feedback(&l, &d), Topic::Feedback { location: l.clone(), device: d.clone() }),
            (t.presence(&l, &d), Topic::Presence { location: l.clone(), device: d.clone() }),
            (t.status(&l), Topic::Status { location: l.clone() }),
            (t.device_status(&d), Topic::DeviceStatus { device: d.clone() }),
            (t.menu(), Topic::Menu),
            (t.staff_notify("ana"), Topic::StaffNotify { staff: "ana".into() }),
        ];
        for (topic, expected) in cases {
            assert_eq!(t.parse(&topic), Ok(expected), "{topic}");
        }
    }

    #[test]
    fn refuses_foreign_and_malformed_topics() {
        let t = topics();
        for bad in [
            "other/v1/menu",
            "bellhop/v2/menu",
            "bellhop/v1/loc/1204/dev/tv-1/unknown",
            "bellhop/v1/loc/1204/dev/tv-1/request/extra",
            "bellhop/v1/loc//dev/tv-1/request",
            "bellhop/v1menu",
        ] {
            assert!(t.parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            t.parse("bellhop/v1/loc/12 04/dev/tv/request"),
            Err(TopicError::BadId { what: "location", .. })
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(topic in "\\PC{0,120}") {
            let _ = topics().parse(&topic);
        }

        #[test]
        fn request_topics_round_trip(location in "[A-Za-z0-9._-]{1,64}", device in "[A-Za-z0-9._-]{1,64}") {
            let t = topics();
            prop_assert_eq!(t.parse(&t.request(&location, &device)), Ok(Topic::Request { location, device }));
        }
    }
}
