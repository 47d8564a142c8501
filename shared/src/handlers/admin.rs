//! `POST /admin/livekit-tokens`: LiveKit tokens of a chosen kind, for admins.
//!
//! An admin token never impersonates a caller: its identity may not be in
//! the caller namespace (`voice_assistant_user_...`, seen through case,
//! separators and lookalike characters), its metadata may not claim a
//! `user_id`, and it carries attributes that tell the agent who minted it.

use std::time::Duration;

use http::StatusCode;
use lambda_http::Request;
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::HandlerResult;
use crate::audit::{self, Outcome};
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::http::{json_body, no_store_json};
use crate::livekit::{self, AdminKind, ParticipantToken, IDENTITY_PREFIX};
use crate::state::AppState;
use crate::text;
use crate::types::{text_rule, ParseError};

/// Text an admin puts into a token: 1 to 128 characters (metadata: up to
/// 4 KiB), no invisible, control or format characters.
#[derive(Debug)]
struct TokenText(String);

impl TokenText {
    fn parse(s: String, max_chars: usize) -> Result<Self, ParseError> {
        let n = s.chars().count();
        if n == 0 || n > max_chars {
            return Err(ParseError("must be 1 to 128 characters (metadata: 4096)"));
        }
        if s.chars().any(text::is_hidden) {
            return Err(text_rule(text::TextProblem::Hidden));
        }
        Ok(Self(s))
    }
}

const MAX_TEXT_CHARS: usize = 128;
const MAX_METADATA_CHARS: usize = 4096;

fn short_text<'de, D: Deserializer<'de>>(d: D) -> Result<TokenText, D::Error> {
    TokenText::parse(String::deserialize(d)?, MAX_TEXT_CHARS).map_err(serde::de::Error::custom)
}

fn optional_short_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TokenText>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| TokenText::parse(s, MAX_TEXT_CHARS))
        .transpose()
        .map_err(serde::de::Error::custom)
}

fn optional_metadata<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TokenText>, D::Error> {
    Option::<String>::deserialize(d)?
        .filter(|s| !s.is_empty())
        .map(|s| TokenText::parse(s, MAX_METADATA_CHARS))
        .transpose()
        .map_err(serde::de::Error::custom)
}

#[derive(Deserialize)]
struct AdminTokenBody {
    #[serde(deserialize_with = "short_text")]
    identity: TokenText,
    #[serde(deserialize_with = "short_text")]
    room_name: TokenText,
    #[serde(default, deserialize_with = "optional_short_text")]
    name: Option<TokenText>,
    kind: AdminKind,
    ttl_seconds: u64,
    #[serde(default, deserialize_with = "optional_metadata")]
    metadata: Option<TokenText>,
}

const TTL_RANGE: std::ops::RangeInclusive<u64> = 60..=86_400;

impl AdminTokenBody {
    /// Refuses what would let the agent take this participant for a caller.
    fn refuse_impersonation(&self) -> Result<(), ApiError> {
        let caller_namespace = text::compact_skeleton(IDENTITY_PREFIX);
        if text::compact_skeleton(&self.identity.0).starts_with(&caller_namespace) {
            return Err(ApiError::invalid(format!(
                "`identity` may not be in the caller namespace `{IDENTITY_PREFIX}`."
            )));
        }
        let user_id_claim = text::compact_skeleton("user_id");
        if let Some(metadata) = &self.metadata {
            if text::compact_skeleton(&metadata.0).contains(&user_id_claim) {
                return Err(ApiError::invalid("`metadata` may not carry a `user_id`."));
            }
        }
        if !TTL_RANGE.contains(&self.ttl_seconds) {
            return Err(ApiError::invalid(format!(
                "`ttl_seconds` must be between {} and {}.",
                TTL_RANGE.start(),
                TTL_RANGE.end()
            )));
        }
        Ok(())
    }
}

pub async fn livekit_tokens(state: &AppState, req: &Request) -> HandlerResult {
    let auth = authenticate(state, req).await?;
    let admin = auth.claims.sub.as_str();
    if !auth.claims.has_role("admin") {
        audit::record(
            "admin_token_issued",
            Some(admin),
            Outcome::Failure,
            "not_admin",
            None,
        );
        return Err(ApiError::Forbidden);
    }
    let body: AdminTokenBody = json_body(req)?;
    if let Err(err) = body.refuse_impersonation() {
        audit::record(
            "admin_token_issued",
            Some(admin),
            Outcome::Failure,
            "impersonation_refused",
            None,
        );
        return Err(err);
    }
    let livekit = state.livekit().await?;
    let grants = body.kind.grants(&body.room_name.0);
    let identity = body.identity.0.as_str();
    let token = livekit::sign(
        &livekit,
        ParticipantToken {
            identity,
            name: body.name.as_ref().map_or(identity, |n| n.0.as_str()),
            kind: body.kind.participant_kind(),
            grants: grants.clone(),
            metadata: body
                .metadata
                .as_ref()
                .map(|m| m.0.clone())
                .unwrap_or_default(),
            // What the agent sees: this participant was minted by an admin.
            attributes: vec![
                ("token_origin".to_owned(), "admin".to_owned()),
                ("issued_by".to_owned(), admin.to_owned()),
            ],
            agents: Vec::new(),
            ttl: Duration::from_secs(body.ttl_seconds),
        },
    )?;
    audit::record(
        "admin_token_issued",
        Some(admin),
        Outcome::Success,
        "issued",
        Some(&format!(
            "for={identity:?} room={:?} kind={:?} ttl={}",
            body.room_name.0, body.kind, body.ttl_seconds
        )),
    );
    let answer = json!({
        "participant_token": token,
        "server_url": state.config.livekit_url,
        "expires_at": state.now() + body.ttl_seconds as i64,
        "kind": body.kind,
        "grants": grants,
    });
    Ok(no_store_json(StatusCode::OK, &answer))
}
