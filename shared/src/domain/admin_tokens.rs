//! LiveKit tokens of a chosen kind, minted by admins for operators, test
//! participants and agents.
//!
//! An admin token never impersonates a caller: its identity may not be in
//! the caller namespace (`voice_assistant_user_...`, seen through case,
//! separators and lookalike characters), its metadata may not claim a
//! `user_id`, and it carries attributes that tell the agent who minted it.

use livekit_api::access_token::VideoGrants;
use serde::Deserialize;

use crate::domain::audit::{self, Outcome};
use crate::domain::auth_sessions::Authenticated;
use crate::domain::error::{Error, Result};
use crate::domain::livekit::{self, AdminKind, ParticipantToken, IDENTITY_PREFIX};
use crate::state::AppState;
use crate::types::text;
use crate::types::{AdminTokenTtl, TokenMetadata, TokenText};

/// The role that may mint tokens.
const ADMIN_ROLE: &str = "admin";

/// What an admin asks for.
#[derive(Debug, Deserialize)]
pub struct AdminTokenRequest {
    pub identity: TokenText,
    pub room_name: TokenText,
    #[serde(default)]
    pub name: Option<TokenText>,
    pub kind: AdminKind,
    pub ttl_seconds: AdminTokenTtl,
    #[serde(default)]
    pub metadata: Option<TokenMetadata>,
}

impl AdminTokenRequest {
    /// Refuses what would let the agent take this participant for a caller.
    fn refuse_impersonation(&self) -> Result<()> {
        let caller_namespace = text::compact_skeleton(IDENTITY_PREFIX);
        if text::compact_skeleton(self.identity.as_str()).starts_with(&caller_namespace) {
            return Err(Error::refused(format!(
                "`identity` may not be in the caller namespace `{IDENTITY_PREFIX}`."
            )));
        }
        let user_id_claim = text::compact_skeleton("user_id");
        if let Some(metadata) = &self.metadata {
            if text::compact_skeleton(metadata.as_str()).contains(&user_id_claim) {
                return Err(Error::refused("`metadata` may not carry a `user_id`."));
            }
        }
        Ok(())
    }
}

/// A minted token and what it grants.
#[derive(Debug)]
pub struct AdminToken {
    pub participant_token: String,
    pub server_url: String,
    pub expires_at: i64,
    pub kind: AdminKind,
    pub grants: VideoGrants,
}

/// Refuses a caller who is not an admin (before their request is read, so
/// a non-admin learns nothing about what a valid one looks like).
pub fn require_admin(auth: &Authenticated) -> Result<()> {
    if auth.claims.has_role(ADMIN_ROLE) {
        return Ok(());
    }
    audit::record(
        "admin_token_issued",
        Some(&auth.claims.sub),
        Outcome::Failure,
        "not_admin",
        None,
    );
    Err(Error::Forbidden)
}

/// Mints the token, if the caller is an admin and the request impersonates
/// no caller.
pub async fn issue(
    state: &AppState,
    auth: &Authenticated,
    request: AdminTokenRequest,
) -> Result<AdminToken> {
    require_admin(auth)?;
    let admin = auth.claims.sub.as_str();
    if let Err(err) = request.refuse_impersonation() {
        audit::record(
            "admin_token_issued",
            Some(admin),
            Outcome::Failure,
            "impersonation_refused",
            None,
        );
        return Err(err);
    }
    let credentials = state.livekit().await?;
    let grants = request.kind.grants(request.room_name.as_str());
    let identity = request.identity.as_str();
    let token = livekit::sign(
        &credentials,
        ParticipantToken {
            identity,
            name: request.name.as_ref().map_or(identity, TokenText::as_str),
            kind: request.kind.participant_kind(),
            grants: grants.clone(),
            metadata: request
                .metadata
                .as_ref()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            // What the agent sees: this participant was minted by an admin.
            attributes: vec![
                ("token_origin".to_owned(), "admin".to_owned()),
                ("issued_by".to_owned(), admin.to_owned()),
            ],
            agents: Vec::new(),
            ttl: request.ttl_seconds.duration(),
        },
    )?;
    audit::record(
        "admin_token_issued",
        Some(admin),
        Outcome::Success,
        "issued",
        Some(&format!(
            "for={identity:?} room={:?} kind={:?} ttl={}",
            request.room_name.as_str(),
            request.kind,
            request.ttl_seconds.seconds()
        )),
    );
    Ok(AdminToken {
        participant_token: token,
        server_url: state.config.livekit_url.clone(),
        expires_at: state.now() + request.ttl_seconds.seconds() as i64,
        kind: request.kind,
        grants,
    })
}
