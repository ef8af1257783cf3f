//! The API's error type and the JSON error body: every 4xx and 5xx the API answers, its own or the framework's,
//! carries `{"error": {"code": ..., "message": ...}}`.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::views::{ErrorBody, ErrorDetail};
use crate::core::CoreError;
use crate::store::StoreError;

/// What a `401` says about the scheme to use.
pub const WWW_AUTHENTICATE: &str = "Bearer realm=\"bellhop\"";

/// An error answered as `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`), for a 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// The error a status stands for when nothing more specific is known (the framework's own answers).
    pub fn for_status(status: StatusCode) -> ApiError {
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "the request could not be read"),
            401 => ("unauthorized", "send Authorization: Bearer <token>"),
            403 => ("forbidden", "not allowed"),
            404 => ("not_found", "no such endpoint"),
            405 => ("method_not_allowed", "method not allowed here"),
            408 => ("timeout", "the request did not arrive in time"),
            413 => ("too_large", "the body is too large"),
            414 => ("too_large", "the URL is too long"),
            415 => ("unsupported_media_type", "send the body as Content-Type: application/json"),
            422 => ("invalid", "the request is not valid"),
            429 => ("too_many_attempts", "too many attempts; wait and try again"),
            431 => ("too_large", "the request headers are too large"),
            503 => ("unavailable", "not available now; try again"),
            _ if status.is_client_error() => ("bad_request", "the request was refused"),
            _ => ("internal", "the gateway could not answer this request"),
        };
        ApiError::new(status, code, message)
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        let body = ErrorBody { error: ErrorDetail { code: self.code.into(), message: self.message.clone() } };
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":{\"code\":\"internal\",\"message\":\"\"}}".to_vec())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = super::reply::json_bytes(self.status, self.body());
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(WWW_AUTHENTICATE));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::REQUEST_TIMEOUT {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        tracing::error!(%error, "Store error while answering a request.");
        ApiError::unavailable("the store is not available; try again")
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> ApiError {
        let message = error.to_string();
        match error {
            CoreError::NotFound(_) => ApiError::not_found(message),
            CoreError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            CoreError::Unreached(_) => ApiError::new(StatusCode::CONFLICT, "nobody_reached", message),
            CoreError::Invalid(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message),
            CoreError::Unavailable(_) => ApiError::unavailable(message),
        }
    }
}

/// Middleware: a 4xx or 5xx without a JSON body (the router's 404 and 405, a rejected path) gets the JSON error
/// body, keeping its status and headers (`Allow`, `WWW-Authenticate`).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let mut error = ApiError::for_status(status);
    match status {
        StatusCode::NOT_FOUND => error.message = format!("no endpoint {method} {path}"),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
            let allowed: Vec<&str> =
                allow.split(',').map(str::trim).filter(|m| !m.is_empty() && *m != "HEAD").collect();
            error.message = if allowed.is_empty() || method == Method::HEAD {
                format!("{method} is not allowed on {path}")
            } else {
                format!("{method} is not allowed on {path}; use {}", allowed.join(" or "))
            };
        }
        _ => {}
    }
    let (mut parts, _) = response.into_parts();
    let fresh = error.into_response();
    for (name, value) in fresh.headers() {
        parts.headers.insert(name.clone(), value.clone());
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, fresh.into_body())
}
