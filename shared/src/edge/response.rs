//! The response builders every route uses, and problem+json for errors.

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::domain::error::Error as DomainError;
use crate::edge::error::ApiError;

pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".into());
    let mut resp = Response::new(Body::Text(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A JSON response that carries credentials and must not be cached.
pub fn no_store_json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let mut resp = json_response(status, value);
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

pub fn empty_response(status: StatusCode) -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = status;
    resp
}

/// The `WWW-Authenticate` a 401 calls for: Bearer for tokens, Basic for clients.
fn challenge(err: &ApiError, headers: &mut http::HeaderMap) {
    let value = match err {
        ApiError::Domain(DomainError::InvalidToken) => r#"Bearer error="invalid_token""#,
        ApiError::Domain(DomainError::InvalidClient) => r#"Basic realm="voicegate""#,
        _ => return,
    };
    headers.insert(
        http::header::WWW_AUTHENTICATE,
        HeaderValue::from_static(value),
    );
}

/// Renders an error the way RFC 6749 §5.2 has token endpoints answer:
/// `{"error", "error_description"}`, never an internal cause.
pub fn oauth_error_response(err: &ApiError) -> Response<Body> {
    let code = match err.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::NOT_FOUND => "invalid_request",
        StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
        StatusCode::INTERNAL_SERVER_ERROR => "server_error",
        _ => err.code(),
    };
    let description = match err {
        ApiError::UnsupportedMediaType => {
            "Send the body as application/x-www-form-urlencoded.".to_owned()
        }
        _ => err.detail(),
    };
    let body = serde_json::json!({ "error": code, "error_description": description });
    let mut resp = json_response(err.status(), &body);
    let headers = resp.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
    challenge(err, headers);
    if let Some(seconds) = err.retry_after() {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    resp
}

/// Renders an error as problem+json with the headers its status calls for.
pub fn problem_response(err: &ApiError, request_id: &str) -> Response<Body> {
    let mut resp = Response::new(Body::Text(err.problem(request_id).to_string()));
    *resp.status_mut() = err.status();
    let headers = resp.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    challenge(err, headers);
    if let Some(seconds) = err.retry_after() {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    resp
}
