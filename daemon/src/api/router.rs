//! The route table. Every route is registered through `routes!`, which takes its path and method from the
//! handler's `#[utoipa::path]`, so the router and the OpenAPI document cannot disagree.

use std::sync::Arc;

use axum::{middleware, Extension, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ApiDoc, DocumentJson};
use super::{
    admin, alerts, devices, error, extract, grms, guests, locations, openapi, probes, signin, staff, tickets, tokens,
    users, ApiState,
};

/// The router over `state`, with the OpenAPI document it serves.
pub fn build(state: Arc<ApiState>) -> (Router, utoipa::openapi::OpenApi) {
    let (router, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(probes::health))
        .routes(routes!(probes::ready))
        .routes(routes!(probes::metrics))
        .routes(routes!(openapi::document))
        .routes(routes!(tickets::list, tickets::create))
        .routes(routes!(tickets::read))
        .routes(routes!(tickets::routing))
        .routes(routes!(tickets::assign))
        .routes(routes!(tickets::escalate))
        .routes(routes!(tickets::comment))
        .routes(routes!(tickets::step))
        .routes(routes!(staff::roster))
        .routes(routes!(staff::set_duty))
        .routes(routes!(locations::guest_tier))
        .routes(routes!(locations::dnd))
        .routes(routes!(guests::room_status))
        .routes(routes!(guests::export, guests::erase))
        .routes(routes!(admin::reload))
        .routes(routes!(devices::list))
        .routes(routes!(devices::read))
        .routes(routes!(devices::bind))
        .routes(routes!(grms::write_point))
        .routes(routes!(alerts::alertmanager))
        .routes(routes!(alerts::webhook))
        .routes(routes!(signin::enrolment))
        .routes(routes!(signin::enrol))
        .routes(routes!(signin::sign_in))
        .routes(routes!(signin::me))
        .routes(routes!(signin::sign_out))
        .routes(routes!(signin::sign_out_everywhere))
        .routes(routes!(signin::list_sessions))
        .routes(routes!(signin::end_session))
        .routes(routes!(users::list))
        .routes(routes!(users::issue_enrolment))
        .routes(routes!(users::disable))
        .routes(routes!(users::locks))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .with_state(state)
        .split_for_parts();
    let json = serde_json::to_vec(&document).unwrap_or_default();
    let router =
        router.layer(Extension(DocumentJson(json.into()))).layer(middleware::from_fn(extract::refuse_long_urls));
    // Outside the router, so the JSON error sees its answers whole (the `Allow` of a 405 is added late).
    let router = Router::new().fallback_service(router).layer(middleware::from_fn(error::json_errors));
    (router, document)
}
