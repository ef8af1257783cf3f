//! The OpenAPI 3.1 description of the API, generated from the handlers' annotations and the view types, and served
//! at `GET /api/v1/openapi.json` for staff-app and integration developers to generate clients from.

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, OpenApi as Document};
use utoipa::{Modify, OpenApi};

/// The document's frame: title, description, the bearer scheme and the tags; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bellhop HTTP API",
        description = "Tickets, staff, locations, devices and room controllers on a property's gateway. \
                       Every error is `{\"error\": {\"code\", \"message\"}}`. The prose reference is docs/api.md.",
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "tickets", description = "Service requests: list, read, raise, work, assign, escalate"),
        (name = "staff", description = "The roster and duty"),
        (name = "locations", description = "Guest tier and do-not-disturb"),
        (name = "devices", description = "TVs, kiosks and tablets and their binding to locations"),
        (name = "room controllers", description = "Writing room-controller points"),
        (name = "administration", description = "Reloading the configuration"),
        (name = "alerts", description = "Monitoring alerts that raise tickets (Alertmanager, generic JSON)"),
        (name = "sign-in", description = "Enrolment, signing in and out, sessions"),
        (name = "people", description = "Accounts, enrolment codes, sign-in locks and tokens (admins)"),
        (name = "monitoring", description = "Liveness, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme the operations name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let scheme = SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A token from `bellhop token create`: `Authorization: Bearer bh_...`"))
                .build(),
        );
        let alerts = SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The token in the file named by `alerts.token_file`"))
                .build(),
        );
        let session = SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
            utoipa::openapi::security::ApiKeyValue::with_description(
                "__Host-bellhop_session",
                "The session cookie set by POST /api/v1/auth/sign-in (`bellhop_session` over plain HTTP on loopback)",
            ),
        ));
        match openapi.components.as_mut() {
            Some(components) => {
                components.add_security_scheme("bearer", scheme);
                components.add_security_scheme("alerts", alerts);
                components.add_security_scheme("session", session);
            }
            None => {
                openapi.components = Some(
                    ComponentsBuilder::new()
                        .security_scheme("bearer", scheme)
                        .security_scheme("alerts", alerts)
                        .security_scheme("session", session)
                        .build(),
                )
            }
        }
    }
}

/// The serialised document, handed to [`document`] as an extension.
#[derive(Clone, Debug)]
pub struct DocumentJson(pub Bytes);

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "monitoring",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json")))]
/// The OpenAPI document. No token needed.
pub async fn document(Extension(DocumentJson(json)): Extension<DocumentJson>) -> Response {
    let mut response = json.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
