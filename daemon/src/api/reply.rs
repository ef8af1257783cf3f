//! Successful answers: JSON (never cached) and the Prometheus text.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON answer with its status.
#[derive(Debug)]
pub struct Reply<T>(pub StatusCode, pub T);

impl<T> Reply<T> {
    /// 200.
    pub fn ok(value: T) -> Reply<T> {
        Reply(StatusCode::OK, value)
    }

    /// 201.
    pub fn created(value: T) -> Reply<T> {
        Reply(StatusCode::CREATED, value)
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.1) {
            Ok(bytes) => json_bytes(self.0, bytes),
            Err(error) => {
                tracing::error!(%error, "Could not serialise an answer.");
                super::error::ApiError::for_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
            }
        }
    }
}

/// A response with a JSON body already serialised.
pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A plain-text answer, such as the Prometheus exposition.
pub fn text(content_type: &'static str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
