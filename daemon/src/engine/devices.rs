//! Pure decisions about devices: what an observation (an mDNS advert or removal, an MQTT presence, a request, an
//! installer's binding) changes in a device's record, which changes the core journals, and whether a request may speak for the
//! location in its topic. No I/O, no clock: the time and the property's locations come in.
//!
//! A device is bound at first sight only to a location the property knows: a claim of any other location leaves it
//! unbound (journaled with the reason), and it is bound the first time it claims a location the property knows.

use serde::Deserialize;
use tv_protocol::DeviceAdvert;

use crate::vocab::{Device, DeviceState};

/// When a new device's location is bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// To the location it first claims.
    #[default]
    FirstSight,
    /// Only when an installer confirms it.
    Confirm,
}

/// What happens to requests from a device the gateway has never seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unknown {
    /// Record it and treat it as first sight (bound per [`Binding`]).
    #[default]
    Accept,
    /// Record it as quarantined and refuse its requests until an installer binds it.
    Quarantine,
    /// Refuse its requests and record nothing but the rejection.
    Reject,
}

/// The device policy from the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// When locations are bound.
    pub binding: Binding,
    /// What unknown devices get.
    pub unknown: Unknown,
}

/// What was observed about one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation<'a> {
    /// Its mDNS advertisement resolved (again).
    Advert {
        /// The TXT record.
        advert: &'a DeviceAdvert,
        /// Its addresses.
        addresses: Vec<String>,
    },
    /// mDNS removed it (goodbye, expiry, or a failed re-query).
    MdnsGone,
    /// Its MQTT presence topic.
    Presence {
        /// The location in the topic.
        location: &'a str,
        /// `online` or `offline`.
        online: bool,
    },
    /// It sent a request or feedback for the location in the topic.
    Request {
        /// The location in the topic.
        location: &'a str,
    },
    /// An installer bound it to a location (confirming or moving it).
    Bind {
        /// The location.
        location: &'a str,
    },
}

/// Whether a request may go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The device is bound to the topic's location.
    Allowed,
    /// The device is bound elsewhere.
    Mismatch {
        /// Where it is bound.
        bound: String,
    },
    /// The device is not bound and the location in the topic is not one the property knows.
    UnknownLocation,
    /// The device is unknown, quarantined or awaiting confirmation.
    Refused {
        /// Why, for the ack.
        reason: String,
    },
}

/// What an observation changed in a device's record; the core journals each as the `device_*` event of the same
/// name and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// First sight (`device_seen`).
    Seen {
        /// Device id.
        device: String,
        /// `tv`, `kiosk`, `tablet`, or empty when unknown.
        device_kind: String,
        /// The location it claims.
        location: Option<String>,
        /// Model, when advertised.
        model: String,
        /// Firmware, when advertised.
        firmware: String,
        /// Addresses, when advertised.
        addresses: Vec<String>,
        /// `mdns` or `mqtt`.
        via: String,
    },
    /// It advertised something new (`device_updated`).
    Updated {
        /// Device id.
        device: String,
        /// Kind.
        device_kind: String,
        /// The location it claims.
        location: Option<String>,
        /// Model.
        model: String,
        /// Firmware.
        firmware: String,
        /// Addresses.
        addresses: Vec<String>,
    },
    /// Its binding changed (`device_bound`).
    Bound {
        /// Device id.
        device: String,
        /// The location it may now speak for.
        location: Option<String>,
        /// Where its binding stands now.
        state: DeviceState,
        /// Why it was left unbound, when that is not the policy alone.
        reason: Option<String>,
    },
    /// It claims a location other than its binding (`device_claim_conflict`).
    ClaimConflict {
        /// Device id.
        device: String,
        /// Its binding.
        bound: String,
        /// What it now claims.
        claim: String,
    },
    /// It came online or went offline (`device_liveness`).
    Liveness {
        /// Device id.
        device: String,
        /// Whether it is online now.
        online: bool,
        /// `mdns`, `mdns_removed` or `presence`.
        via: String,
    },
}

/// The device's new record (when it is stored), the changes to journal, and the verdict for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The record to store, or `None` to store nothing.
    pub device: Option<Device>,
    /// Changes to journal, in order.
    pub events: Vec<Change>,
    /// For [`Observation::Request`]; `Allowed` otherwise.
    pub verdict: Verdict,
}

fn blank(id: &str, at: &str) -> Device {
    Device {
        id: id.to_owned(),
        kind: String::new(),
        claim: None,
        bound: None,
        state: DeviceState::Unbound,
        model: String::new(),
        firmware: String::new(),
        addresses: Vec::new(),
        online: false,
        mdns: false,
        presence: None,
        offline_ticket: None,
        first_seen: at.to_owned(),
        last_seen: at.to_owned(),
        offline_since: None,
    }
}

/// What the rules need from the configuration: the device policy and which locations the property knows.
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    /// The device policy.
    pub policy: Policy,
    /// Whether a location is one the property knows.
    pub known: &'a dyn Fn(&str) -> bool,
}

impl Policy {
    /// Whether a device that is not bound yet is bound to the first known location it claims.
    fn binds_at_first_sight(self) -> bool {
        self.binding == Binding::FirstSight && self.unknown == Unknown::Accept
    }
}

/// Applies one observation to a device's current record.
pub fn observe(
    current: Option<&Device>,
    id: &str,
    observation: Observation<'_>,
    rules: Rules<'_>,
    at: &str,
) -> Outcome {
    let mut events = Vec::new();
    let mut verdict = Verdict::Allowed;
    let is_new = current.is_none();
    let mut d = current.cloned().unwrap_or_else(|| blank(id, at));
    match observation {
        Observation::Advert { advert, mut addresses } => {
            addresses.sort();
            if is_new {
                events.push(seen(
                    id,
                    advert.kind.as_str(),
                    Some(&advert.location),
                    &advert.model,
                    &advert.firmware,
                    &addresses,
                    "mdns",
                ));
                d.claim = Some(advert.location.clone());
                bind_first_sight(&mut d, rules, &mut events);
            } else if d.kind != advert.kind.as_str()
                || d.claim.as_deref() != Some(&advert.location)
                || d.model != advert.model
                || d.firmware != advert.firmware
                || d.addresses != addresses
            {
                events.push(Change::Updated {
                    device: id.to_owned(),
                    device_kind: advert.kind.as_str().to_owned(),
                    location: Some(advert.location.clone()),
                    model: advert.model.clone(),
                    firmware: advert.firmware.clone(),
                    addresses: addresses.clone(),
                });
                let claim_changed = d.claim.as_deref() != Some(&advert.location);
                d.claim = Some(advert.location.clone());
                match d.bound.clone() {
                    Some(bound) if bound != advert.location && claim_changed => {
                        events.push(Change::ClaimConflict {
                            device: id.to_owned(),
                            bound,
                            claim: advert.location.clone(),
                        });
                        d.state = DeviceState::Conflict;
                    }
                    Some(bound) if bound == advert.location && d.state == DeviceState::Conflict => {
                        d.state = DeviceState::Bound
                    }
                    _ => {}
                }
            }
            if !is_new {
                adopt(&mut d, &advert.location, rules, &mut events);
            }
            d.kind = advert.kind.as_str().to_owned();
            d.model = advert.model.clone();
            d.firmware = advert.firmware.clone();
            d.addresses = addresses;
            let changed = !d.mdns;
            d.mdns = true;
            liveness(&mut d, changed, "mdns", at, &mut events);
        }
        Observation::MdnsGone => {
            if is_new {
                return Outcome { device: None, events, verdict };
            }
            let changed = d.mdns;
            d.mdns = false;
            liveness(&mut d, changed, "mdns_removed", at, &mut events);
        }
        Observation::Presence { location, online } => {
            if is_new && !admit_unknown(&mut d, location, rules, &mut events) {
                return Outcome { device: None, events, verdict };
            }
            adopt(&mut d, location, rules, &mut events);
            let changed = d.presence != Some(online);
            d.presence = Some(online);
            liveness(&mut d, changed, "presence", at, &mut events);
        }
        Observation::Request { location } => {
            if is_new && !admit_unknown(&mut d, location, rules, &mut events) {
                verdict = Verdict::Refused { reason: "unknown devices are refused here".into() };
                return Outcome { device: None, events, verdict };
            }
            adopt(&mut d, location, rules, &mut events);
            verdict = match (&d.bound, d.state.as_str()) {
                (Some(bound), _) if bound == location => Verdict::Allowed,
                (Some(bound), _) => Verdict::Mismatch { bound: bound.clone() },
                (None, "quarantined") => {
                    Verdict::Refused { reason: "the device is quarantined until an installer binds it".into() }
                }
                (None, _) if !(rules.known)(location) => Verdict::UnknownLocation,
                (None, _) => Verdict::Refused { reason: "the device awaits an installer's confirmation".into() },
            };
            if !is_new && events.is_empty() {
                // Nothing changed: store nothing.
                return Outcome { device: None, events, verdict };
            }
        }
        Observation::Bind { location } => {
            if d.bound.as_deref() == Some(location) && d.state == DeviceState::Bound {
                return Outcome { device: None, events, verdict };
            }
            d.bound = Some(location.to_owned());
            if !d.mdns {
                // Only an mDNS advertisement is a standing claim; a topic's location is not.
                d.claim = Some(location.to_owned());
            }
            d.state = if d.claim.as_deref().is_some_and(|c| c != location) {
                DeviceState::Conflict
            } else {
                DeviceState::Bound
            };
            events.push(Change::Bound {
                device: id.to_owned(),
                location: Some(location.to_owned()),
                state: d.state,
                reason: None,
            });
        }
    }
    if events.is_empty() {
        return Outcome { device: None, events, verdict };
    }
    d.last_seen = at.to_owned();
    Outcome { device: Some(d), events, verdict }
}

fn seen(
    id: &str,
    kind: &str,
    location: Option<&str>,
    model: &str,
    firmware: &str,
    addresses: &[String],
    via: &str,
) -> Change {
    Change::Seen {
        device: id.to_owned(),
        device_kind: kind.to_owned(),
        location: location.map(str::to_owned),
        model: model.to_owned(),
        firmware: firmware.to_owned(),
        addresses: addresses.to_vec(),
        via: via.to_owned(),
    }
}

/// Binds a new device to its claim, or leaves it awaiting an installer: in confirm mode, whenever unknown devices
/// are not simply accepted, and when the claim is not a location the property knows (journaled with the reason).
fn bind_first_sight(d: &mut Device, rules: Rules<'_>, events: &mut Vec<Change>) {
    let claim = d.claim.clone().unwrap_or_default();
    let (bound, state, reason) = if !rules.policy.binds_at_first_sight() {
        (None, DeviceState::Unbound, None)
    } else if !(rules.known)(&claim) {
        (None, DeviceState::Unbound, Some(unknown_claim(&claim)))
    } else {
        (Some(claim), DeviceState::Bound, None)
    };
    d.bound = bound.clone();
    d.state = state;
    events.push(Change::Bound { device: d.id.clone(), location: bound, state, reason });
}

/// Why a device is left unbound at first sight.
pub fn unknown_claim(location: &str) -> String {
    format!(
        "location {location} is not one this property knows; the device is bound when it claims a location the \
         property knows, or when an installer binds it"
    )
}

/// A device left unbound (its first claim named a location the property does not know, or it was recorded under
/// another policy) is bound at its first claim of a known location, as at first sight.
fn adopt(d: &mut Device, location: &str, rules: Rules<'_>, events: &mut Vec<Change>) {
    if d.bound.is_some()
        || d.state != DeviceState::Unbound
        || !rules.policy.binds_at_first_sight()
        || !(rules.known)(location)
    {
        return;
    }
    if !d.mdns {
        // Only an mDNS advertisement is a standing claim; for a device met over MQTT its topic is its claim.
        d.claim = Some(location.to_owned());
    }
    d.bound = Some(location.to_owned());
    d.state =
        if d.claim.as_deref().is_some_and(|c| c != location) { DeviceState::Conflict } else { DeviceState::Bound };
    events.push(Change::Bound {
        device: d.id.clone(),
        location: Some(location.to_owned()),
        state: d.state,
        reason: None,
    });
}

/// A device first met over MQTT: recorded per policy. Returns whether it is stored at all.
fn admit_unknown(d: &mut Device, location: &str, rules: Rules<'_>, events: &mut Vec<Change>) -> bool {
    let policy = rules.policy;
    if policy.unknown == Unknown::Reject {
        return false;
    }
    events.push(seen(&d.id, "", Some(location), "", "", &[], "mqtt"));
    d.claim = Some(location.to_owned());
    if policy.unknown == Unknown::Quarantine {
        d.state = DeviceState::Quarantined;
        events.push(Change::Bound {
            device: d.id.clone(),
            location: None,
            state: DeviceState::Quarantined,
            reason: None,
        });
    } else {
        bind_first_sight(d, rules, events);
    }
    true
}

/// Recomputes the one online state from mDNS and presence. A change of either source is journaled (with the
/// resulting state), so the projection never changes without an event.
fn liveness(d: &mut Device, source_changed: bool, via: &str, at: &str, events: &mut Vec<Change>) {
    let online = d.mdns || d.presence == Some(true);
    if online != d.online {
        d.online = online;
        d.offline_since = if online { None } else { Some(at.to_owned()) };
    } else if !source_changed {
        return;
    }
    events.push(Change::Liveness { device: d.id.clone(), online, via: via.to_owned() });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tv_protocol::DeviceKind;

    const AT: &str = "2026-01-01T10:00:00.000Z";

    fn advert(location: &str) -> DeviceAdvert {
        DeviceAdvert {
            location: location.into(),
            device: "tv-1".into(),
            kind: DeviceKind::Tv,
            model: "X1".into(),
            firmware: "2.0".into(),
            proto: 1,
        }
    }

    /// Every location is known but `999`.
    fn known(location: &str) -> bool {
        location != "999"
    }

    fn rules(policy: Policy) -> Rules<'static> {
        Rules { policy, known: &known }
    }

    fn kinds(outcome: &Outcome) -> Vec<&'static str> {
        outcome.events.iter().map(|change| crate::event::EventBody::from(change.clone()).kind()).collect()
    }

    fn first(policy: Policy) -> Device {
        let a = advert("101");
        let obs = Observation::Advert { advert: &a, addresses: vec!["10.0.0.5".into()] };
        observe(None, "tv-1", obs, rules(policy), AT).device.unwrap()
    }

    #[test]
    fn first_sight_binds_to_the_claim_and_comes_online() {
        let a = advert("101");
        let out =
            observe(None, "tv-1", Observation::Advert { advert: &a, addresses: vec![] }, rules(Policy::default()), AT);
        assert_eq!(kinds(&out), ["device_seen", "device_bound", "device_liveness"]);
        let d = out.device.unwrap();
        assert_eq!((d.bound.as_deref(), d.state.as_str(), d.online), (Some("101"), "bound", true));
    }

    #[test]
    fn repeated_resolutions_change_nothing_and_new_firmware_is_an_update() {
        let d = first(Policy::default());
        let a = advert("101");
        let same = observe(
            Some(&d),
            "tv-1",
            Observation::Advert { advert: &a, addresses: vec!["10.0.0.5".into()] },
            rules(Policy::default()),
            AT,
        );
        assert_eq!(same, Outcome { device: None, events: vec![], verdict: Verdict::Allowed });
        let newer = DeviceAdvert { firmware: "2.1".into(), ..advert("101") };
        let out = observe(
            Some(&d),
            "tv-1",
            Observation::Advert { advert: &newer, addresses: vec!["10.0.0.5".into()] },
            rules(Policy::default()),
            AT,
        );
        assert_eq!(kinds(&out), ["device_updated"]);
    }

    #[test]
    fn a_claim_for_another_room_is_flagged_not_followed() {
        let d = first(Policy::default());
        let moved = advert("301");
        let out = observe(
            Some(&d),
            "tv-1",
            Observation::Advert { advert: &moved, addresses: vec!["10.0.0.5".into()] },
            rules(Policy::default()),
            AT,
        );
        assert_eq!(kinds(&out), ["device_updated", "device_claim_conflict"]);
        let d = out.device.unwrap();
        assert_eq!((d.bound.as_deref(), d.state.as_str()), (Some("101"), "conflict"));
        let verdict =
            observe(Some(&d), "tv-1", Observation::Request { location: "301" }, rules(Policy::default()), AT).verdict;
        assert_eq!(verdict, Verdict::Mismatch { bound: "101".into() });
        let bound = observe(Some(&d), "tv-1", Observation::Bind { location: "301" }, rules(Policy::default()), AT)
            .device
            .unwrap();
        assert_eq!((bound.bound.as_deref(), bound.state.as_str()), (Some("301"), "bound"));
    }

    #[test]
    fn confirm_mode_holds_requests_until_an_installer_binds() {
        let policy = Policy { binding: Binding::Confirm, ..Policy::default() };
        let d = first(policy);
        assert_eq!(d.bound, None);
        let held = observe(Some(&d), "tv-1", Observation::Request { location: "101" }, rules(policy), AT);
        assert!(matches!(held.verdict, Verdict::Refused { .. }));
        let d = observe(Some(&d), "tv-1", Observation::Bind { location: "101" }, rules(policy), AT).device.unwrap();
        assert_eq!(
            observe(Some(&d), "tv-1", Observation::Request { location: "101" }, rules(policy), AT).verdict,
            Verdict::Allowed
        );
    }

    #[test]
    fn quarantine_holds_back_devices_found_over_mdns_too() {
        let d = first(Policy { unknown: Unknown::Quarantine, ..Policy::default() });
        assert_eq!((d.bound, d.state.as_str()), (None, "unbound"));
    }

    #[test]
    fn a_device_met_only_over_mqtt_is_never_offline_and_moves_cleanly() {
        let out = observe(None, "tv-9", Observation::Request { location: "101" }, rules(Policy::default()), AT);
        let d = out.device.unwrap();
        assert_eq!(d.offline_since, None, "never seen online, so never offline");
        let moved = observe(Some(&d), "tv-9", Observation::Bind { location: "102" }, rules(Policy::default()), AT);
        assert_eq!(moved.device.unwrap().state.as_str(), "bound");
    }

    #[test]
    fn unknown_devices_follow_the_policy() {
        let request = Observation::Request { location: "101" };
        let accept = observe(None, "tv-9", request.clone(), rules(Policy::default()), AT);
        assert_eq!((accept.verdict.clone(), kinds(&accept)), (Verdict::Allowed, vec!["device_seen", "device_bound"]));
        let quarantine = observe(
            None,
            "tv-9",
            request.clone(),
            rules(Policy { unknown: Unknown::Quarantine, ..Policy::default() }),
            AT,
        );
        assert!(matches!(quarantine.verdict, Verdict::Refused { .. }));
        assert_eq!(quarantine.device.unwrap().state.as_str(), "quarantined");
        let reject =
            observe(None, "tv-9", request, rules(Policy { unknown: Unknown::Reject, ..Policy::default() }), AT);
        assert!(matches!(reject.verdict, Verdict::Refused { .. }));
        assert_eq!((reject.device, reject.events.len()), (None, 0));
    }

    #[test]
    fn first_sight_never_binds_to_an_unknown_location_and_the_real_room_binds_later() {
        // Met over MQTT on a location the property does not know: recorded unbound, with the reason, and refused
        // with location_mismatch; nothing is bound.
        let out = observe(None, "tv-9", Observation::Request { location: "999" }, rules(Policy::default()), AT);
        assert_eq!(kinds(&out), ["device_seen", "device_bound"]);
        assert_eq!(out.verdict, Verdict::UnknownLocation);
        match &out.events[1] {
            Change::Bound { location: None, state, reason: Some(reason), .. } => {
                assert_eq!(state.as_str(), "unbound");
                assert!(reason.contains("location 999 is not one this property knows"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let d = out.device.unwrap();
        assert_eq!((d.bound.as_deref(), d.state.as_str(), d.claim.as_deref()), (None, "unbound", Some("999")));

        // Asking again for the unknown location changes nothing and is refused the same way.
        let again = observe(Some(&d), "tv-9", Observation::Request { location: "999" }, rules(Policy::default()), AT);
        assert_eq!((again.device, again.events.len(), again.verdict), (None, 0, Verdict::UnknownLocation));

        // Its real room: bound at that first claim, and allowed.
        let real = observe(Some(&d), "tv-9", Observation::Request { location: "101" }, rules(Policy::default()), AT);
        assert_eq!((kinds(&real), real.verdict), (vec!["device_bound"], Verdict::Allowed));
        let d = real.device.unwrap();
        assert_eq!((d.bound.as_deref(), d.state.as_str(), d.claim.as_deref()), (Some("101"), "bound", Some("101")));
        // From then on it is bound like any other device: the unknown location is a mismatch.
        let back = observe(Some(&d), "tv-9", Observation::Request { location: "999" }, rules(Policy::default()), AT);
        assert_eq!(back.verdict, Verdict::Mismatch { bound: "101".into() });
    }

    #[test]
    fn an_advert_of_an_unknown_location_is_not_bound_until_it_advertises_a_known_one() {
        let a = advert("999");
        let obs = Observation::Advert { advert: &a, addresses: vec![] };
        let d = observe(None, "tv-1", obs, rules(Policy::default()), AT).device.unwrap();
        assert_eq!((d.bound.as_deref(), d.state.as_str(), d.online), (None, "unbound", true));
        // Presence on an unknown topic location does not bind it either.
        let presence = Observation::Presence { location: "999", online: true };
        let d = observe(Some(&d), "tv-1", presence, rules(Policy::default()), AT).device.unwrap();
        assert_eq!(d.bound, None);
        let fixed = advert("101");
        let out = observe(
            Some(&d),
            "tv-1",
            Observation::Advert { advert: &fixed, addresses: vec![] },
            rules(Policy::default()),
            AT,
        );
        assert_eq!(kinds(&out), ["device_updated", "device_bound"]);
        let d = out.device.unwrap();
        assert_eq!((d.bound.as_deref(), d.state.as_str()), (Some("101"), "bound"));
    }

    #[test]
    fn a_device_left_unbound_by_policy_is_not_adopted_under_that_policy() {
        let confirm = Policy { binding: Binding::Confirm, ..Policy::default() };
        let d = first(confirm);
        let out = observe(Some(&d), "tv-1", Observation::Request { location: "101" }, rules(confirm), AT);
        assert!(matches!(out.verdict, Verdict::Refused { .. }), "{out:?}");
        assert_eq!(out.events.len(), 0);
        let quarantine = Policy { unknown: Unknown::Quarantine, ..Policy::default() };
        let q = observe(None, "tv-8", Observation::Request { location: "999" }, rules(quarantine), AT);
        assert!(matches!(q.verdict, Verdict::Refused { .. }), "quarantine is refused before the location is looked at");
        let q = q.device.unwrap();
        let later = observe(Some(&q), "tv-8", Observation::Request { location: "101" }, rules(quarantine), AT);
        assert!(matches!(later.verdict, Verdict::Refused { .. }));
    }

    #[test]
    fn online_while_either_mdns_or_presence_says_so() {
        let d = first(Policy::default());
        let presence = |d: &Device, online| {
            observe(Some(d), "tv-1", Observation::Presence { location: "101", online }, rules(Policy::default()), AT)
        };
        let d = presence(&d, true).device.unwrap();
        let gone = observe(Some(&d), "tv-1", Observation::MdnsGone, rules(Policy::default()), AT).device.unwrap();
        assert!(gone.online, "presence still says online");
        let out = presence(&gone, false);
        assert_eq!(kinds(&out), ["device_liveness"]);
        let d = out.device.unwrap();
        assert_eq!((d.online, d.offline_since.as_deref()), (false, Some(AT)));
    }
}
