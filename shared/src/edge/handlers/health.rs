//! `GET /health`, `GET /.well-known/jwks.json` and `GET /openapi.json`.

use http::header::{HeaderValue, CACHE_CONTROL};
use http::StatusCode;
use serde_json::json;

use super::HandlerResult;
use crate::domain::access_tokens;
use crate::edge::response::json_response;
use crate::state::AppState;

/// Liveness only: it answers without touching dependencies, so a DynamoDB
/// blip does not take the health check (and the API's alarms) with it.
pub async fn health(state: &AppState) -> HandlerResult {
    let body = json!({
        "status": "ok",
        "service": "voicegate",
        "version": env!("CARGO_PKG_VERSION"),
        "time": state.now(),
    });
    let mut resp = json_response(StatusCode::OK, &body);
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Public keys that verify our access tokens.
pub async fn jwks(state: &AppState) -> HandlerResult {
    let keys = access_tokens::published_keys(state).await?;
    let mut resp = json_response(StatusCode::OK, &keys);
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}

/// docs/openapi.yaml, converted to JSON at build time.
const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The API's OpenAPI 3.1 description.
pub fn openapi() -> lambda_http::Response<lambda_http::Body> {
    let mut resp = lambda_http::Response::new(lambda_http::Body::Text(OPENAPI_JSON.to_owned()));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}
