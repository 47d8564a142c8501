//! `POST /oauth/token` (RFC 8693 token exchange), `POST /oauth/introspect`
//! (RFC 7662) and `GET /.well-known/oauth-authorization-server` (RFC 8414).
//! The first two take form bodies and answer errors as RFC 6749 §5.2 says.

use http::header::{HeaderValue, CACHE_CONTROL};
use http::StatusCode;
use lambda_http::Request;

use super::HandlerResult;
use crate::domain::agent_calls;
use crate::domain::tool_tokens::{self, ExchangeRequest};
use crate::edge::error::ApiError;
use crate::edge::request::{form_body, single_authorization, Form};
use crate::edge::response::{json_response, no_store_json};
use crate::state::AppState;

/// Only `client_secret_basic` authenticates: credentials in the body too
/// would be a second method, which RFC 6749 §2.3 forbids.
fn refuse_body_credentials(form: &Form) -> Result<(), ApiError> {
    if form.has("client_id") || form.has("client_secret") {
        return Err(ApiError::invalid(
            "Authenticate with HTTP Basic only (client_secret_basic).",
        ));
    }
    Ok(())
}

pub async fn token(state: &AppState, req: &Request) -> HandlerResult {
    let form = form_body(req)?;
    let client = agent_calls::authenticate_client(state, single_authorization(req)).await?;
    refuse_body_credentials(&form)?;
    let exchange = ExchangeRequest {
        grant_type: form.required("grant_type")?,
        subject_token: form.get("subject_token"),
        subject_token_type: form.get("subject_token_type"),
        resource: form.get("resource").or_else(|| form.get("audience")),
        // Present but empty is a scope too (and an invalid one).
        scope: form.raw("scope"),
        requested_token_type: form.get("requested_token_type"),
    };
    let issued = tool_tokens::exchange(state, &client, exchange).await?;
    Ok(no_store_json(StatusCode::OK, &issued))
}

pub async fn introspect(state: &AppState, req: &Request) -> HandlerResult {
    let form = form_body(req)?;
    let client = agent_calls::authenticate_client(state, single_authorization(req)).await?;
    refuse_body_credentials(&form)?;
    let token = form.required("token")?;
    let answer = tool_tokens::introspect(state, &client, &token).await?;
    Ok(no_store_json(StatusCode::OK, &answer))
}

/// The URL this API is reached at: `PUBLIC_BASE_URL` when configured, else
/// the issuer when it is a URL (RFC 8414: endpoints live under the issuer),
/// else the request's own host (API Gateway forwards `https`).
fn base_url(state: &AppState, req: &Request) -> String {
    let config = &state.config;
    if let Some(url) = &config.public_base_url {
        return url.clone();
    }
    if config.token_issuer.contains("://") {
        return config.token_issuer.trim_end_matches('/').to_owned();
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
    };
    let host = header("host").unwrap_or("localhost");
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    format!("{scheme}://{host}")
}

pub fn metadata(state: &AppState, req: &Request) -> HandlerResult {
    let mut resp = json_response(
        StatusCode::OK,
        &tool_tokens::metadata(state, &base_url(state, req)),
    );
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}
