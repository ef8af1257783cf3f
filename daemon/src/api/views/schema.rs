//! Schemas for fields whose Rust type belongs to the domain (statuses, priorities, duty): an enumeration of the
//! spellings the domain type itself gives, so the document cannot drift from the code.

use crate::vocab::{
    Action, AssignmentKind, DeviceState, Duty, Flag, GuestTier, Priority, Reason, Role, Source, Status, Target,
};
use utoipa::openapi::schema::{Object, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;

fn strings<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.into_iter().map(str::to_owned)))
        .description(Some(description))
        .build()
}

fn nullable(schema: Object) -> RefOr<Schema> {
    RefOr::T(Schema::OneOf(OneOfBuilder::new().item(schema).item(ObjectBuilder::new().schema_type(Type::Null)).build()))
}

/// A ticket's status.
pub fn status() -> Object {
    strings(Status::ALL.map(Status::as_str), "The ticket's status.")
}

/// A life-cycle action.
pub fn action() -> Object {
    strings(Action::ALL.map(Action::as_str), "A life-cycle step.")
}

/// Where a ticket came from.
pub fn source() -> Object {
    strings(Source::ALL.map(Source::as_str), "Where the ticket came from.")
}

/// A priority.
pub fn priority() -> Object {
    strings(Priority::ALL.map(Priority::as_str), "The priority.")
}

/// A priority, or null.
pub fn priority_or_null() -> RefOr<Schema> {
    nullable(priority())
}

/// On duty, on a break, or off.
pub fn duty() -> Object {
    strings(Duty::ALL.map(Duty::as_str), "On duty, on a break, or off.")
}

/// A guest tier.
pub fn guest_tier() -> Object {
    strings(GuestTier::ALL.map(GuestTier::as_str), "The guest tier.")
}

/// A staff member's role on the roster.
pub fn staff_role() -> Object {
    strings(Role::ALL.map(Role::as_str), "Their role on the roster.")
}

/// An SLA flag.
pub fn flag() -> Object {
    strings(Flag::ALL.map(Flag::as_str), "The SLA flag.")
}

/// An SLA target.
pub fn sla_target() -> Object {
    strings(Target::ALL.map(Target::as_str), "The SLA target: `response` or `resolution`.")
}

/// Why an escalation level fired.
pub fn escalation_reason() -> Object {
    strings(Reason::ALL.map(Reason::as_str), "Why the level fired: `due`, `emergency` or `manual`.")
}

/// How a ticket was assigned.
pub fn assignment_kind() -> Object {
    strings(AssignmentKind::ALL.map(AssignmentKind::as_str), "`auto`, `manual`, `handoff` or `queued`.")
}

/// The state of a device's binding.
pub fn device_state() -> Object {
    strings(DeviceState::ALL.map(DeviceState::as_str), "The state of the device's binding.")
}

/// `ok` or `degraded`.
pub fn health_status() -> Object {
    strings(["ok", "degraded"], "`degraded` while the broker connection is down or cloud sync has an alarm.")
}

/// A number or a boolean.
pub fn number_or_bool() -> RefOr<Schema> {
    RefOr::T(Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .description(Some("A number or true/false, in engineering units."))
            .build(),
    ))
}
