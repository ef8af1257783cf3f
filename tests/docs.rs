//! The documents integrators and installers work from, checked against the product so they cannot drift: the event
//! payload schemas in `docs/schemas`, the hash-chain test vector in `docs/cloud-sync.md`, and the man page's commands,
//! options and exit status.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use bellhop::event::EventBody;
use bellhop::store::chain::{self, Link, GENESIS};
use bellhop::sync::batch::{Builder, Row};
use bellhop::vocab::Duty;
use bellhop::vocab::GuestTier;
use bellhop::vocab::Priority;
use bellhop::vocab::{Action, AssignmentKind, DeviceState, Flag, Reason, Role, Source, Status, Target};
use serde_json::{json, Value};
use tv_protocol::ErrorCode;

const BELLHOP: &str = env!("CARGO_BIN_EXE_bellhop");

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn schema(kind: &str) -> Value {
    let path = docs().join("schemas/events").join(format!("{kind}.json"));
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Which variant an event is. A match without a wildcard: a new kind of event does not compile until it is given a
/// number here, and then [`samples`] must hold it for the tests to pass.
fn variant(body: &EventBody) -> usize {
    match body {
        EventBody::TicketRaised { .. } => 0,
        EventBody::RequestMerged { .. } => 1,
        EventBody::RequestRejected { .. } => 2,
        EventBody::TicketStatusChanged { .. } => 3,
        EventBody::TicketCommented { .. } => 4,
        EventBody::TicketRated { .. } => 5,
        EventBody::DoNotDisturbChanged { .. } => 6,
        EventBody::ControllerPointWritten { .. } => 7,
        EventBody::DeviceSeen { .. } => 8,
        EventBody::DeviceUpdated { .. } => 9,
        EventBody::DeviceBound { .. } => 10,
        EventBody::DeviceClaimConflict { .. } => 11,
        EventBody::DeviceLiveness { .. } => 12,
        EventBody::JournalPruned { .. } => 13,
        EventBody::TicketRouted { .. } => 14,
        EventBody::TicketAssigned { .. } => 15,
        EventBody::StaffDutyChanged { .. } => 16,
        EventBody::GuestTierChanged { .. } => 17,
        EventBody::SlaFlagChanged { .. } => 18,
        EventBody::SlaBreached { .. } => 19,
        EventBody::SlaBreachCleared { .. } => 20,
        EventBody::TicketEscalated { .. } => 21,
        EventBody::ClockStepped { .. } => 22,
        EventBody::TokenCreated { .. } => 23,
        EventBody::PresenceRejected { .. } => 24,
        EventBody::GuestCheckedIn { .. } => 25,
        EventBody::GuestCheckedOut { .. } => 26,
        EventBody::GuestMoved { .. } => 27,
        EventBody::GuestChanged { .. } => 28,
        EventBody::TicketTierRaised { .. } => 29,
        EventBody::RoomStatusChanged { .. } => 30,
        EventBody::GuestDataDeleted { .. } => 31,
        EventBody::NoticeQueued { .. } => 32,
        EventBody::NoticeDelivered { .. } => 33,
        EventBody::NoticeFailed { .. } => 34,
        EventBody::AlertFired { .. } => 35,
        EventBody::AlertResolved { .. } => 36,
        EventBody::TokenRevoked { .. } => 37,
        EventBody::EnrolmentIssued { .. } => 38,
        EventBody::AccountEnrolled { .. } => 39,
        EventBody::AccountDisabled { .. } => 40,
        EventBody::SignInAttempted { .. } => 41,
        EventBody::SignInLocked { .. } => 42,
        EventBody::SessionEnded { .. } => 43,
    }
}

const VARIANTS: usize = 44;

fn text(s: &str) -> String {
    s.to_owned()
}

/// Events of every kind as the gateway journals them: each with every optional member set, and the kinds that have
/// optional members once more without them.
fn samples() -> Vec<EventBody> {
    let t = || text("HTL1-42");
    vec![
        EventBody::GuestCheckedIn {
            guest: text("guest-7"),
            location: text("101"),
            tier: GuestTier::Vip,
            language: Some(text("EA")),
            arrival: Some(text("2026-11-27")),
            departure: Some(text("2026-11-30")),
            resync: false,
        },
        EventBody::GuestCheckedIn {
            guest: text("guest-8"),
            location: text("102"),
            tier: GuestTier::Standard,
            language: None,
            arrival: None,
            departure: None,
            resync: true,
        },
        EventBody::GuestCheckedOut { guest: text("guest-7"), location: text("101"), resync: false },
        EventBody::GuestMoved { guest: text("guest-7"), from: text("101"), to: text("102") },
        EventBody::GuestChanged {
            guest: text("guest-7"),
            location: text("102"),
            tier: GuestTier::LongStay,
            language: Some(text("GE")),
            departure: Some(text("2026-12-04")),
        },
        EventBody::GuestChanged {
            guest: text("guest-7"),
            location: text("102"),
            tier: GuestTier::Standard,
            language: None,
            departure: None,
        },
        EventBody::TicketTierRaised { ticket: t(), tier: GuestTier::Vip, sla: text("vip") },
        EventBody::RoomStatusChanged { location: text("101"), status: text("inspected"), occupied: false },
        EventBody::GuestDataDeleted { guests: vec![text("guest-7")], reason: text("erasure") },
        EventBody::TicketRaised {
            ticket: t(),
            item: text("hk.towels"),
            category: text("housekeeping"),
            location: text("101"),
            department: text("housekeeping"),
            priority: Priority::Low,
            source: Source::Tv,
            device: Some(text("tv-101")),
            request_id: Some(text("r-1")),
            qty: 2,
            note: Some(text("two, please")),
            eta_s: Some(900),
            language: Some(text("EA")),
        },
        EventBody::TicketRaised {
            ticket: t(),
            item: text("grms.sos"),
            category: text("security"),
            location: text("101"),
            department: text("security"),
            priority: Priority::Critical,
            source: Source::Grms,
            device: None,
            request_id: None,
            qty: 1,
            note: None,
            eta_s: None,
            language: None,
        },
        EventBody::RequestMerged {
            ticket: t(),
            device: Some(text("tv-101")),
            request_id: Some(text("r-2")),
            qty: 1,
            note: Some(text("and soap")),
        },
        EventBody::RequestMerged { ticket: t(), device: None, request_id: None, qty: 1, note: None },
        EventBody::RequestRejected {
            location: text("101"),
            device: text("tv-101"),
            request_id: Some(text("r-3")),
            code: ErrorCode::UnknownItem,
            message: text("no such item"),
        },
        EventBody::RequestRejected {
            location: text("101"),
            device: text("tv-101"),
            request_id: None,
            code: ErrorCode::BadPayload,
            message: text("not JSON"),
        },
        EventBody::TicketStatusChanged {
            ticket: t(),
            action: Action::Hold,
            from: Status::InProgress,
            to: Status::OnHold,
            reason: Some(text("guest asleep")),
        },
        EventBody::TicketStatusChanged {
            ticket: t(),
            action: Action::Acknowledge,
            from: Status::Assigned,
            to: Status::Acknowledged,
            reason: None,
        },
        EventBody::TicketCommented { ticket: t(), text: text("on my way") },
        EventBody::TicketRated { ticket: t(), stars: 5, comment: Some(text("quick")) },
        EventBody::TicketRated { ticket: t(), stars: 1, comment: None },
        EventBody::DoNotDisturbChanged { location: text("101"), on: true },
        EventBody::ControllerPointWritten {
            controller: text("rc-101"),
            location: text("101"),
            point: text("setpoint"),
            value: json!(21.5),
            outcome: text("ok"),
        },
        EventBody::DeviceSeen {
            device: text("tv-101"),
            device_kind: text("tv"),
            location: Some(text("101")),
            model: text("X1"),
            firmware: text("1.2.3"),
            addresses: vec![text("10.0.0.7")],
            via: text("mdns"),
        },
        EventBody::DeviceSeen {
            device: text("tv-102"),
            device_kind: text(""),
            location: None,
            model: text(""),
            firmware: text(""),
            addresses: vec![],
            via: text("mqtt"),
        },
        EventBody::DeviceUpdated {
            device: text("tv-101"),
            device_kind: text("tv"),
            location: Some(text("102")),
            model: text("X1"),
            firmware: text("1.2.4"),
            addresses: vec![text("10.0.0.7"), text("fe80::7")],
        },
        EventBody::DeviceBound {
            device: text("tv-101"),
            location: Some(text("101")),
            state: DeviceState::Bound,
            reason: None,
        },
        EventBody::DeviceBound { device: text("tv-9"), location: None, state: DeviceState::Quarantined, reason: None },
        EventBody::DeviceBound {
            device: text("tv-7"),
            location: None,
            state: DeviceState::Unbound,
            reason: Some(text("it claims location 999, which the property does not have")),
        },
        EventBody::PresenceRejected {
            location: text("101"),
            device: text("tv-101"),
            code: ErrorCode::TooLarge,
            message: text("presence is 70000 bytes; the limit is 4096"),
        },
        EventBody::DeviceClaimConflict { device: text("tv-101"), bound: text("101"), claim: text("102") },
        EventBody::DeviceLiveness { device: text("tv-101"), online: false, via: text("presence") },
        EventBody::JournalPruned { through_seq: 5000, events: 5000 },
        EventBody::TicketRouted {
            ticket: t(),
            rule: Some(text("vip-floor")),
            department: text("housekeeping"),
            priority: Priority::High,
            sla: text("vip"),
            skill: Some(text("linen")),
            explanation: json!({"rule": "vip-floor", "department": "housekeeping", "priority": "high",
                "sla": "vip", "skill": "linen", "skipped": [{"rule": "night", "reason": "outside 22:00-06:00"}],
                "guest_tier": "vip", "local_time": "2026-03-01T13:00:00", "sla_chosen_by": "rule"}),
        },
        EventBody::TicketRouted {
            ticket: t(),
            rule: None,
            department: text("engineering"),
            priority: Priority::Medium,
            sla: text("default-medium"),
            skill: None,
            explanation: json!({"rule": null, "department": "engineering", "priority": "medium", "sla": null,
                "skill": null, "skipped": [], "guest_tier": "standard", "local_time": "2026-03-01T13:00:00",
                "sla_chosen_by": "default"}),
        },
        EventBody::TicketAssigned {
            ticket: t(),
            staff: Some(text("ana")),
            previous: Some(text("rui")),
            status: Status::Assigned,
            how: AssignmentKind::Handoff,
            considered: json!({"considered": [{"staff": "ana", "load": 1}, {"staff": "rui", "excluded": "off duty"}],
                "flagged": []}),
        },
        EventBody::TicketAssigned {
            ticket: t(),
            staff: None,
            previous: None,
            status: Status::New,
            how: AssignmentKind::Queued,
            considered: json!({"considered": [], "flagged": ["eva"]}),
        },
        EventBody::StaffDutyChanged { staff: text("ana"), duty: Duty::Break, was: Duty::On },
        EventBody::GuestTierChanged { location: text("101"), tier: GuestTier::LongStay },
        EventBody::SlaFlagChanged { ticket: t(), flag: Flag::Yellow, due_at: text("2026-03-01T12:07:30.000Z") },
        EventBody::SlaBreached { ticket: t(), target: Target::Response, due_at: text("2026-03-01T12:10:00.000Z") },
        EventBody::SlaBreachCleared { ticket: t(), target: Target::Resolution },
        EventBody::TicketEscalated {
            ticket: t(),
            level: 2,
            reason: Reason::Due,
            due_at: text("2026-03-01T12:15:00.000Z"),
            to: text("contact:security-desk"),
            recipients: vec![text("security-desk")],
        },
        EventBody::ClockStepped { delta_ms: -3_600_000 },
        EventBody::TokenCreated {
            token: text("t-7f3a"),
            role: Role::Installer,
            label: text("prometheus"),
            owner: None,
            department: None,
            expires_at: None,
        },
        EventBody::TokenCreated {
            token: text("t-8e4b"),
            role: Role::Staff,
            label: text("housekeeping tablet"),
            owner: Some(text("integration:hk-tablet")),
            department: Some(text("housekeeping")),
            expires_at: Some(text("2027-01-01T00:00:00.000Z")),
        },
        EventBody::TokenRevoked { token: text("t-8e4b") },
        EventBody::EnrolmentIssued { staff: text("ana"), expires_at: text("2026-11-30T12:00:00.000Z"), reset: false },
        EventBody::AccountEnrolled { staff: text("ana"), totp: true },
        EventBody::AccountDisabled { staff: text("ana"), sessions_ended: 2, tokens_revoked: 1 },
        EventBody::SignInAttempted {
            user: text("ana"),
            address: text("10.0.4.17"),
            outcome: text("success"),
            reason: None,
            session: Some(text("a1b2c3d4e5f6")),
            factor: Some(text("totp")),
        },
        EventBody::SignInAttempted {
            user: text("ana"),
            address: text("10.0.4.17"),
            outcome: text("failure"),
            reason: Some(text("wrong password")),
            session: None,
            factor: None,
        },
        EventBody::SignInLocked {
            scope: text("account"),
            key: text("ana"),
            failures: 5,
            until: text("2026-11-27T18:15:00.000Z"),
        },
        EventBody::SessionEnded { staff: text("ana"), session: text("a1b2c3d4e5f6"), why: text("everywhere") },
        EventBody::NoticeQueued {
            notice: text("HTL1-N7"),
            ticket: Some(t()),
            recipient: text("ana"),
            channel: text("sms"),
            reason: text("assigned"),
            subject: text("HTL1-42: Extra towels at 101 is yours"),
            text: text("HTL1-42 (low): Extra towels at 101 is assigned to you."),
            facts: serde_json::json!({"ticket": "HTL1-42", "item": "hk.towels", "location": "101"}),
            not_before: Some(text("2026-03-01T07:00:00.000Z")),
        },
        EventBody::NoticeQueued {
            notice: text("HTL1-N8"),
            ticket: None,
            recipient: text("ops"),
            channel: text("email"),
            reason: text("summary"),
            subject: text("Hotel: daily summary"),
            text: text("3 raised"),
            facts: serde_json::json!({"period": "daily", "raised": 3}),
            not_before: None,
        },
        EventBody::NoticeDelivered {
            notice: text("HTL1-N7"),
            ticket: Some(t()),
            recipient: text("ana"),
            channel: text("sms"),
            attempts: 2,
        },
        EventBody::NoticeDelivered {
            notice: text("HTL1-N8"),
            ticket: None,
            recipient: text("ops"),
            channel: text("email"),
            attempts: 1,
        },
        EventBody::NoticeFailed {
            notice: text("HTL1-N7"),
            ticket: Some(t()),
            recipient: text("ana"),
            channel: text("sms"),
            attempts: 1,
            error: text("sms: connecting to sms.example:443: connection refused"),
            retry_at: Some(text("2026-03-01T12:00:30.000Z")),
        },
        EventBody::NoticeFailed {
            notice: text("HTL1-N8"),
            ticket: None,
            recipient: text("ops"),
            channel: text("email"),
            attempts: 1,
            error: text("the mail server refused it"),
            retry_at: None,
        },
        EventBody::AlertFired {
            source: text("alertmanager"),
            fingerprint: text("c0ffee"),
            rule: text("freezer"),
            ticket: t(),
            summary: text("Freezer 2 is at -8 C"),
        },
        EventBody::AlertResolved {
            source: text("webhook"),
            fingerprint: text("door-7"),
            ticket: t(),
            action: text("annotated"),
        },
    ]
}

fn kinds_with_schemas() -> BTreeSet<String> {
    std::fs::read_dir(docs().join("schemas/events"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .map(|name| name.strip_suffix(".json").unwrap_or_else(|| panic!("{name} is not a .json schema")).to_owned())
        .collect()
}

fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("the schema of {what}: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not match its schema: {errors:?}\n{instance}");
}

#[test]
fn every_event_kind_has_a_payload_schema_that_its_events_match() {
    let samples = samples();
    let covered: BTreeSet<usize> = samples.iter().map(variant).collect();
    assert_eq!(covered, (0..VARIANTS).collect(), "samples() holds an event of every kind");
    let kinds: BTreeSet<String> = samples.iter().map(|s| s.kind().to_owned()).collect();
    assert_eq!(kinds, kinds_with_schemas(), "docs/schemas/events has one schema per kind of event, and no other");
    for sample in &samples {
        let kind = sample.kind();
        let schema = schema(kind);
        assert_eq!(schema["title"], kind);
        let payload = serde_json::to_value(sample).unwrap();
        assert_valid(&schema, &payload, kind);
        // Every member the gateway writes is documented, and every member documented is one it writes.
        let properties: BTreeSet<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let written: BTreeSet<&String> = payload.as_object().unwrap().keys().collect();
        assert!(written.is_subset(&properties), "{kind}: {written:?} has members its schema lacks: {properties:?}");
        let required: BTreeSet<&str> =
            schema["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(required.iter().all(|r| payload.get(*r).is_some()), "{kind}: {payload} lacks one of {required:?}");
    }
    for kind in kinds_with_schemas() {
        let schema = schema(&kind);
        let properties: BTreeSet<String> = schema["properties"].as_object().unwrap().keys().cloned().collect();
        let written: BTreeSet<String> = samples
            .iter()
            .filter(|s| s.kind() == kind)
            .flat_map(|s| serde_json::to_value(s).unwrap().as_object().unwrap().keys().cloned().collect::<Vec<_>>())
            .collect();
        assert_eq!(properties, written, "{kind}: the schema documents exactly the members the gateway writes");
    }
}

#[test]
fn the_word_lists_in_the_schemas_are_the_products() {
    let words = |kind: &str, member: &str| -> Vec<String> {
        let list = schema(kind)["properties"][member]["enum"].clone();
        serde_json::from_value(list).unwrap_or_else(|e| panic!("{kind}.{member} has no word list: {e}"))
    };
    let spelled =
        |values: Vec<Value>| -> Vec<String> { values.into_iter().map(|v| v.as_str().unwrap().into()).collect() };
    let of = |values: &[Value]| spelled(values.to_vec());
    let priorities: Vec<Value> = Priority::ALL.iter().map(|p| json!(p)).collect();
    let sources: Vec<Value> = Source::ALL.iter().map(|s| json!(s)).collect();
    let statuses: Vec<Value> = Status::ALL.iter().map(|s| json!(s)).collect();
    let actions: Vec<Value> = Action::ALL.iter().map(|a| json!(a)).collect();
    let codes: Vec<Value> = ErrorCode::ALL.iter().map(|c| json!(c)).collect();
    let duties: Vec<Value> = Duty::ALL.iter().map(|d| json!(d)).collect();
    let tiers: Vec<Value> = GuestTier::ALL.iter().map(|t| json!(t)).collect();
    for (kind, member, expected) in [
        ("ticket_raised", "priority", of(&priorities)),
        ("ticket_routed", "priority", of(&priorities)),
        ("ticket_raised", "source", of(&sources)),
        ("ticket_status_changed", "from", of(&statuses)),
        ("ticket_status_changed", "to", of(&statuses)),
        ("ticket_assigned", "status", of(&statuses)),
        ("ticket_status_changed", "action", of(&actions)),
        ("request_rejected", "code", of(&codes)),
        ("staff_duty_changed", "duty", of(&duties)),
        ("staff_duty_changed", "was", of(&duties)),
        ("guest_tier_changed", "tier", of(&tiers)),
        ("guest_checked_in", "tier", of(&tiers)),
        ("guest_changed", "tier", of(&tiers)),
        ("ticket_tier_raised", "tier", of(&tiers)),
    ] {
        assert_eq!(words(kind, member), expected, "{kind}.{member}");
    }
}

#[test]
fn a_batch_the_gateway_builds_matches_the_batch_schema() {
    let mut builder = Builder::new("hotel-42", 0, 500, 1 << 20);
    let mut prev = GENESIS;
    for (i, sample) in samples().iter().enumerate() {
        let row = row(i as u64 + 1, "2026-03-01T12:00:00.000Z", "system", sample, &mut prev);
        assert!(builder.push(&row).unwrap());
    }
    let batch = builder.finish().unwrap();
    let body: Value = serde_json::from_str(&gunzip(&batch.body)).unwrap();
    let schema: Value = serde_json::from_str(&read(&docs().join("schemas/batch.json"))).unwrap();
    assert_valid(&schema, &body, "a batch");
    assert!(!jsonschema::is_valid(&schema, &json!({"gateway": "hotel-42", "events": []})), "a batch is never empty");
}

/// A journal row as the store writes it: the payload is the event's JSON text, chained onto `prev`.
fn row(seq: u64, at: &str, actor: &str, body: &EventBody, prev: &mut [u8; 32]) -> Row {
    let payload = serde_json::to_string(body).unwrap();
    let hash = chain::hash(prev, Link { seq, at, actor, kind: body.kind(), payload: &payload });
    let row = Row {
        seq,
        at: at.into(),
        actor: actor.into(),
        kind: body.kind().into(),
        ticket: body.ticket().map(str::to_owned),
        payload,
        prev_hash: prev.to_vec(),
        hash: hash.to_vec(),
    };
    *prev = hash;
    row
}

fn gunzip(body: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(body).read_to_string(&mut text).unwrap();
    text
}

/// The three events of the test vector in `docs/cloud-sync.md`.
fn vector_rows() -> Vec<Row> {
    let ticket = text("HTL1-1");
    let events = [
        (
            "2026-03-01T12:00:00.000Z",
            "tv:tv-101",
            EventBody::TicketRaised {
                ticket: ticket.clone(),
                item: text("hk.towels"),
                category: text("housekeeping"),
                location: text("101"),
                department: text("housekeeping"),
                priority: Priority::Low,
                source: Source::Tv,
                device: Some(text("tv-101")),
                request_id: Some(text("r-0001")),
                qty: 2,
                note: Some(text("Deux serviettes, s'il vous plaît")),
                eta_s: Some(900),
                language: None,
            },
        ),
        (
            "2026-03-01T12:03:10.250Z",
            "token:t-7f3a",
            EventBody::TicketStatusChanged {
                ticket: ticket.clone(),
                action: Action::Acknowledge,
                from: Status::Assigned,
                to: Status::Acknowledged,
                reason: None,
            },
        ),
        (
            "2026-03-01T12:09:45.004Z",
            "token:t-7f3a",
            EventBody::TicketCommented { ticket, text: text("Left at the door, \"do not disturb\" is on") },
        ),
    ];
    let mut prev = GENESIS;
    events.iter().enumerate().map(|(i, (at, actor, body))| row(i as u64 + 1, at, actor, body, &mut prev)).collect()
}

/// The lines of the code block that follows `marker` in `text`.
fn block_after<'t>(text: &'t str, marker: &str) -> Vec<&'t str> {
    let rest = text.split(marker).nth(1).unwrap_or_else(|| panic!("no {marker:?} in the document"));
    let rest = &rest[rest.find("```").expect("a code block") + 3..];
    let rest = &rest[rest.find('\n').unwrap() + 1..];
    rest[..rest.find("```").expect("the end of the code block")].lines().collect()
}

#[test]
fn the_hash_chain_test_vector_in_cloud_sync_md_is_what_the_gateway_sends() {
    let rows = vector_rows();
    let mut builder = Builder::new("hotel-42", 0, 500, 1 << 20);
    for row in &rows {
        assert!(builder.push(row).unwrap());
    }
    let body = gunzip(&builder.finish().unwrap().body);
    let doc = read(&docs().join("cloud-sync.md"));
    // The body is one line; the document breaks it after `[`, between events and before `]}`.
    let shown = block_after(&doc, "<!-- test vector: batch -->").concat();
    assert_eq!(shown, body, "the batch shown is the gateway's, byte for byte");
    // The hashes, and the lengths that enter them, as the table gives them.
    let table = block_after(&doc, "<!-- test vector: hashes -->");
    let expected: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}  at {} B  actor {} B  kind {} B  payload {} B  prev_hash {}…  hash {}",
                r.seq,
                r.at.len(),
                r.actor.len(),
                r.kind.len(),
                r.payload.len(),
                &hex::encode(&r.prev_hash)[..8],
                hex::encode(&r.hash)
            )
        })
        .collect();
    assert_eq!(table, expected, "the hash table of the test vector");
}

/// The subcommands of `bellhop [path] --help`, and for each leaf its long options and the values of its arguments.
fn command_tree(path: &[String], out: &mut Vec<(Vec<String>, Vec<String>)>) {
    let help = Command::new(BELLHOP).args(path).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    let mut section = "";
    let mut children = Vec::new();
    let mut words = Vec::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line;
            continue;
        }
        let trimmed = line.trim_start();
        let first = trimmed.split_whitespace().next().unwrap_or("");
        match section {
            "Commands:" if line.starts_with("  ") && !line.starts_with("   ") && first != "help" => {
                children.push(first.to_owned())
            }
            // `  -h, --help  Print help` or `      --config <CONFIG>  The configuration file`: the long name only.
            "Options:" if first.starts_with('-') => {
                let long = trimmed.split_whitespace().map(|w| w.trim_end_matches(',')).find(|w| w.starts_with("--"));
                if let Some(long) = long.filter(|l| !["--help", "--version"].contains(l)) {
                    words.push(long.to_owned());
                }
            }
            // Possible values of an argument: `- locations: ...`.
            _ if trimmed.starts_with("- ") => words.push(trimmed[2..].split(':').next().unwrap().to_owned()),
            _ => {}
        }
    }
    if children.is_empty() {
        out.push((path.to_vec(), words));
    }
    for child in children {
        let mut path = path.to_vec();
        path.push(child);
        command_tree(&path, out);
    }
}

/// The man page with roff's escapes undone: `\-` is `-`.
fn man_page() -> String {
    read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../deb/bellhop.1")).replace("\\-", "-")
}

#[test]
fn the_man_page_has_every_command_and_option_of_the_binary() {
    let mut tree = Vec::new();
    command_tree(&[], &mut tree);
    assert!(tree.len() >= 13, "{tree:?}");
    let man = man_page();
    let synopsis = man.split(".SH SYNOPSIS").nth(1).unwrap().split(".SH ").next().unwrap();
    // One synopsis entry per command, separated by `.br`, each as one line of words.
    let entries: Vec<String> = synopsis
        .split(".br")
        .map(|entry| {
            let words = entry.lines().filter_map(|l| l.split_once(' ').map(|(_, words)| words));
            words.collect::<Vec<_>>().join(" ")
        })
        .collect();
    let commands = man.split(".SH COMMANDS").nth(1).unwrap().split(".SH ").next().unwrap();
    for (path, words) in &tree {
        let name = format!("bellhop {}", path.join(" "));
        let entry = entries
            .iter()
            .find(|e| e.starts_with(&name) && !e[name.len()..].starts_with(|c: char| c.is_alphanumeric()))
            .unwrap_or_else(|| panic!("the man page's synopsis has no `{name}`"));
        for word in words {
            assert!(entry.split([' ', '[', ']', '|']).any(|w| w == word), "`{name}` lacks {word} in the synopsis");
        }
        assert!(
            commands.contains(&format!(".TP\n.B {}\n", path.join(" "))),
            "the man page's COMMANDS section does not describe `{name}`"
        );
    }
}

#[test]
fn the_man_page_gives_the_exit_status_of_an_unknown_command() {
    let out = Command::new(BELLHOP).arg("no-such-command").output().unwrap();
    let code = out.status.code().unwrap();
    assert_ne!(code, 0);
    let man = man_page();
    let exit_status = man.split(".SH EXIT STATUS").nth(1).unwrap().split(".SH ").next().unwrap();
    let entry = exit_status
        .split(".TP\n")
        .find(|entry| entry.starts_with(&format!(".B {code}\n")))
        .unwrap_or_else(|| panic!("EXIT STATUS does not list {code}, the status of an unknown command"));
    assert!(entry.contains("unknown command"), "EXIT STATUS {code} does not say it is an unknown command: {entry}");
}
