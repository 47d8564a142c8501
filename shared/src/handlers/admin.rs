//! `POST /admin/livekit-tokens`: LiveKit tokens of a chosen kind, for admins.

use std::time::Duration;

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;

use super::HandlerResult;
use crate::audit::{self, Outcome};
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::http::{json_body, no_store_json};
use crate::livekit::{self, AdminKind, ParticipantToken};
use crate::state::AppState;

#[derive(Deserialize)]
struct AdminTokenBody {
    identity: String,
    room_name: String,
    name: Option<String>,
    kind: AdminKind,
    ttl_seconds: u64,
    metadata: Option<String>,
}

const TTL_RANGE: std::ops::RangeInclusive<u64> = 60..=86_400;

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "`{field}` must be 1 to {max} printable characters."
        )));
    }
    Ok(())
}

pub async fn livekit_tokens(state: &AppState, req: &Request) -> HandlerResult {
    let auth = authenticate(state, req).await?;
    if !auth.claims.has_role("admin") {
        audit::record(
            "admin_token_issued",
            Some(&auth.claims.sub),
            Outcome::Failure,
            "not_admin",
            None,
        );
        return Err(ApiError::Forbidden);
    }
    let body: AdminTokenBody = json_body(req)?;
    check_text("identity", &body.identity, 128)?;
    check_text("room_name", &body.room_name, 128)?;
    if let Some(name) = &body.name {
        check_text("name", name, 128)?;
    }
    if !TTL_RANGE.contains(&body.ttl_seconds) {
        return Err(ApiError::invalid(
            "`ttl_seconds` must be between 60 and 86400.",
        ));
    }
    let secrets = state.secrets().await?;
    let grants = body.kind.grants(&body.room_name);
    let token = livekit::sign(
        &secrets.livekit,
        ParticipantToken {
            identity: &body.identity,
            name: body.name.as_deref().unwrap_or(&body.identity),
            kind: body.kind.participant_kind(),
            grants: grants.clone(),
            metadata: body.metadata.clone().unwrap_or_default(),
            attributes: Vec::new(),
            agents: Vec::new(),
            ttl: Duration::from_secs(body.ttl_seconds),
        },
    )?;
    audit::record(
        "admin_token_issued",
        Some(&auth.claims.sub),
        Outcome::Success,
        "issued",
        Some(&format!(
            "for={} room={} kind={:?}",
            body.identity, body.room_name, body.kind
        )),
    );
    let body = json!({
        "participant_token": token,
        "server_url": state.config.livekit_url,
        "expires_at": state.now() + body.ttl_seconds as i64,
        "kind": body.kind,
        "grants": grants,
    });
    Ok(no_store_json(StatusCode::OK, &body))
}
