//! `POST /auth/oidc`: a trusted identity provider's ID token for our tokens.

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;

use super::HandlerResult;
use crate::domain::oidc;
use crate::edge::error::ApiError;
use crate::edge::request::{json_body, RequestMeta};
use crate::edge::response::no_store_json;
use crate::state::AppState;
use crate::types::Platform;

/// Longest ID token or nonce read (both fit the 16 KiB body anyway).
const MAX_TOKEN_CHARS: usize = 8 * 1024;
const MAX_NONCE_CHARS: usize = 256;

#[derive(Deserialize)]
struct Body {
    id_token: String,
    nonce: Option<String>,
    platform: Option<Platform>,
}

pub async fn sign_in(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let body: Body = json_body(req)?;
    if body.id_token.is_empty() || body.id_token.len() > MAX_TOKEN_CHARS {
        return Err(ApiError::invalid("id_token: must be a JWT"));
    }
    if body
        .nonce
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.len() > MAX_NONCE_CHARS)
    {
        return Err(ApiError::invalid("nonce: must be 1 to 256 characters"));
    }
    let tokens = oidc::sign_in(
        state,
        &body.id_token,
        body.nonce.as_deref(),
        body.platform,
        &meta.source_ip,
    )
    .await?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}
