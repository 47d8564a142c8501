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
    if matches!(err, ApiError::Domain(DomainError::InvalidToken)) {
        headers.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer error="invalid_token""#),
        );
    }
    if let Some(seconds) = err.retry_after() {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    resp
}
