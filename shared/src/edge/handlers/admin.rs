//! `POST /admin/livekit-tokens`: LiveKit tokens of a chosen kind, for admins.

use http::StatusCode;
use lambda_http::Request;
use serde_json::json;

use super::{signed_in, HandlerResult};
use crate::domain::admin_tokens::{self, AdminTokenRequest};
use crate::edge::request::json_body;
use crate::edge::response::no_store_json;
use crate::state::AppState;

pub async fn livekit_tokens(state: &AppState, req: &Request) -> HandlerResult {
    let auth = signed_in(state, req).await?;
    admin_tokens::require_admin(&auth)?;
    let request: AdminTokenRequest = json_body(req)?;
    let minted = admin_tokens::issue(state, &auth, request).await?;
    let answer = json!({
        "participant_token": minted.participant_token,
        "server_url": minted.server_url,
        "expires_at": minted.expires_at,
        "kind": minted.kind,
        "grants": minted.grants,
    });
    Ok(no_store_json(StatusCode::OK, &answer))
}
