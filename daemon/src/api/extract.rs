//! Reading requests: JSON bodies (size, media type and charset, a deadline, no duplicate keys, no unknown fields)
//! and query strings (each parameter at most once, no unknown ones), and the longest URL.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::ApiState;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body read into `T`. With `EMPTY_OK`, an empty body reads as `{}` (for actions with optional fields).
#[derive(Debug)]
pub struct JsonBody<T, const EMPTY_OK: bool = false>(pub T);

impl<T: DeserializeOwned, const EMPTY_OK: bool> FromRequest<Arc<ApiState>> for JsonBody<T, EMPTY_OK> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &Arc<ApiState>) -> Result<Self, ApiError> {
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        let media = media_type(req.headers());
        let bytes = match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
            Err(error) if timed_out(error.as_ref()) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    "the body did not arrive in time (http.body_timeout_s)",
                ))
            }
            Err(_) => return Err(ApiError::bad_request("could not read the body")),
        };
        if bytes.is_empty() && EMPTY_OK {
            return serde_json::from_slice(b"{}").map(JsonBody).map_err(|e| ApiError::bad_request(e.to_string()));
        }
        media?;
        super::duplicates::check(&bytes).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// Whether the body's error, or anything it wraps, is the body deadline.
pub(super) fn timed_out(mut error: &(dyn std::error::Error + 'static)) -> bool {
    loop {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        match error.source() {
            Some(inner) => error = inner,
            None => return false,
        }
    }
}

/// `Ok` for `application/json` in UTF-8 (the charset may be named, as `utf-8`); 415 otherwise.
pub(super) fn media_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let unsupported =
        |m: &str| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", m.to_owned());
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = value.split(';');
    if !parts.next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
        return Err(unsupported("send the body as Content-Type: application/json"));
    }
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = value.trim().trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
                return Err(unsupported(&format!("the body must be UTF-8, not {charset:?}")));
            }
        }
    }
    Ok(())
}

fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("the body is over {MAX_BODY_BYTES} bytes"))
}

/// The longest URL (path and query) accepted; a longer one is answered 414.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// Middleware: refuses a URL over [`MAX_URL_BYTES`] before it is routed.
pub async fn refuse_long_urls(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let length = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if length > MAX_URL_BYTES {
        return ApiError::new(StatusCode::URI_TOO_LONG, "too_large", format!("the URL is over {MAX_URL_BYTES} bytes"))
            .into_response();
    }
    next.run(request).await
}

/// The query string read into `T` (whose fields are all optional strings): each parameter at most once, none
/// that `T` does not name.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut map = serde_json::Map::new();
        for (key, value) in url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            if map.insert(key.to_string(), serde_json::Value::String(value.into_owned())).is_some() {
                return Err(ApiError::bad_request(format!("the query parameter {key:?} is given more than once")));
            }
        }
        serde_json::from_value(serde_json::Value::Object(map))
            .map(Query)
            .map_err(|e| ApiError::bad_request(format!("bad query: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        map
    }

    #[test]
    fn json_in_utf8_only() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert!(media_type(&headers(ok)).is_ok(), "{ok}");
        }
        for refused in [
            "text/plain",
            "application/json; charset=iso-8859-1",
            "application/json;charset=utf-16",
            "application/jsonx",
        ] {
            assert_eq!(
                media_type(&headers(refused)).unwrap_err().status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{refused}"
            );
        }
        assert!(media_type(&HeaderMap::new()).is_err());
    }
}
