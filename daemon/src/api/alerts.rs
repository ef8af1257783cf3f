//! `/api/v1/alerts`: monitoring systems raise tickets. Prometheus Alertmanager's webhook (payload version 4) and a
//! generic JSON webhook, each behind the bearer token of `[alerts]` (not an API token: a monitoring system may do
//! this and nothing else). Bodies are read up to `alerts.max_body_bytes`, parsed by the pure parsers of
//! `engine::alerts`, and applied by the core: one ticket per firing episode.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{media_type, timed_out};
use super::reply::Reply;
use super::views::ErrorBody;
use super::ApiState;
use crate::config::notify::Alerts;
use crate::core::{AlertResult, Command};
use crate::engine::alerts::{self, Alert};

/// What became of the alerts of one payload.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertsAnswer {
    /// One entry per alert, in the payload's order.
    pub alerts: Vec<AlertResult>,
}

/// Checks the bearer token in constant time, then reads the body under the configured limit.
async fn authorised_body(
    state: &ApiState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Alerts, bytes::Bytes), ApiError> {
    let config = state.config.borrow().clone();
    let Some(settings) = config.alerts.clone() else {
        // No token is accepted where none is configured: the answer is the same as for a wrong one, with the reason.
        return Err(ApiError::unauthorized(
            "alerts are not set up on this gateway ([alerts] in the configuration), so no token is accepted",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = ring::digest::digest(&ring::digest::SHA256, settings.token.as_bytes());
    let given = ring::digest::digest(&ring::digest::SHA256, presented.trim().as_bytes());
    let same = expected.as_ref().iter().zip(given.as_ref()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if presented.is_empty() || !same {
        return Err(ApiError::unauthorized("send Authorization: Bearer with the token of alerts.token_file"));
    }
    let limit = settings.max_body_bytes;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over {limit} bytes (alerts.max_body_bytes)"),
        )
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    media_type(headers)?;
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(error) if timed_out(error.as_ref()) => {
            return Err(ApiError::new(StatusCode::REQUEST_TIMEOUT, "timeout", "the body did not arrive in time"))
        }
        Err(_) => return Err(ApiError::bad_request("could not read the body")),
    };
    Ok((settings, bytes))
}

async fn apply(state: &ApiState, source: &str, alerts: Vec<Alert>) -> Result<Reply<AlertsAnswer>, ApiError> {
    let source = source.to_owned();
    let results = state.core.call(|reply| Command::Alerts { source, alerts, reply }).await??;
    Ok(Reply::ok(AlertsAnswer { alerts: results }))
}

#[utoipa::path(post, path = "/api/v1/alerts/alertmanager", tag = "alerts", security(("alerts" = [])),
    request_body(content = Object, description = "Alertmanager's webhook payload, version 4"),
    responses(
        (status = 200, description = "What became of each alert", body = AlertsAnswer),
        (status = 400, description = "Not an Alertmanager payload of version 4", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, description = "Not stored; Alertmanager sends it again", body = ErrorBody),
    ))]
/// Raises, joins or resolves tickets from Prometheus Alertmanager's webhook.
pub async fn alertmanager(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply<AlertsAnswer>, ApiError> {
    let (_, bytes) = authorised_body(&state, &headers, body).await?;
    let alerts = alerts::parse_alertmanager(&bytes).map_err(|e| ApiError::bad_request(e.to_string()))?;
    apply(&state, "alertmanager", alerts).await
}

#[utoipa::path(post, path = "/api/v1/alerts/webhook", tag = "alerts", security(("alerts" = [])),
    request_body(content = Object, description = "One alert object, an array of them, or {\"alerts\": [...]}"),
    responses(
        (status = 200, description = "What became of each alert", body = AlertsAnswer),
        (status = 400, description = "Not JSON, or not objects", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, description = "Not stored; send it again", body = ErrorBody),
    ))]
/// Raises, joins or resolves tickets from any system that can POST JSON.
pub async fn webhook(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply<AlertsAnswer>, ApiError> {
    let (settings, bytes) = authorised_body(&state, &headers, body).await?;
    let alerts = alerts::parse_generic(&bytes, &settings.generic).map_err(|e| ApiError::bad_request(e.to_string()))?;
    apply(&state, "webhook", alerts).await
}
