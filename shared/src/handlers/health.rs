//! `GET /health` and `GET /.well-known/jwks.json`.

use http::header::{HeaderValue, CACHE_CONTROL};
use http::StatusCode;
use serde_json::json;

use super::HandlerResult;
use crate::http::json_response;
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

/// Public keys that verify our access tokens; retired keys stay listed while
/// tokens they signed can still be valid.
pub async fn jwks(state: &AppState) -> HandlerResult {
    let secrets = state.secrets().await?;
    let mut resp = json_response(StatusCode::OK, &secrets.jwks());
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}
