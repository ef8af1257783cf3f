//! Request bodies. Unknown fields are refused, as are duplicate keys (see `extract`).

use serde::Deserialize;
use utoipa::ToSchema;

use super::schema;

/// A ticket raised from a staff terminal or another system.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketBody {
    /// A catalog item code.
    pub item: String,
    /// A location id.
    pub location: String,
    /// Quantity; 1 when not given.
    #[serde(default = "one")]
    #[schema(default = 1, minimum = 1)]
    pub qty: u8,
    /// Free text (at most the protocol's note length).
    pub note: Option<String>,
    /// `staff` (the default), `api` or `alert`.
    #[serde(default)]
    #[schema(schema_with = source_request)]
    pub source: Option<String>,
}

fn one() -> u8 {
    1
}

fn source_request() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["staff", "api", "alert"]))
        .description(Some("Where the ticket comes from; `staff` when not given."))
        .build()
}

/// The optional body of a life-cycle step.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// Why (at most 500 characters).
    pub reason: Option<String>,
}

/// A comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// 1 to 2,000 characters.
    pub text: String,
}

/// A manual or automatic assignment: `{"staff": "bruno"}`, `{}` (back to the queue) or `{"auto": true}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The staff id to give it to; null or absent: back to the department's queue.
    pub staff: Option<String>,
    /// Assign automatically now.
    #[serde(default)]
    pub auto: bool,
}

/// Clocking in, a break, clocking out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DutyBody {
    #[schema(schema_with = schema::duty)]
    pub duty: String,
}

/// A guest tier.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestTierBody {
    #[schema(schema_with = schema::guest_tier)]
    pub tier: String,
}

/// Do-not-disturb on or off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DndBody {
    /// Whether do-not-disturb is on.
    pub on: bool,
}

/// Binding a device to a location.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindBody {
    /// A location id.
    pub location: String,
}

/// A value to write to a room controller's point.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointBody {
    #[schema(schema_with = schema::number_or_bool)]
    pub value: serde_json::Value,
}
