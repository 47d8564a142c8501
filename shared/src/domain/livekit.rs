//! LiveKit participant tokens (HS256 with the LiveKit API secret, through the
//! livekit-api crate) and webhook signature checks.

use std::time::Duration;

use base64::Engine;
use livekit_api::access_token::{AccessToken, TokenVerifier, VideoGrants};
use livekit_protocol::{RoomAgentDispatch, RoomConfiguration};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::adapters::secrets::LiveKitCredentials;
use crate::domain::error::{Error, Result};
use crate::types::{UserId, VoiceSessionId};

/// Identity prefix of callers in voice rooms; the agent reads the user id after it.
pub const IDENTITY_PREFIX: &str = "voice_assistant_user_";
pub const ROOM_PREFIX: &str = "voice_assistant_room_";

pub fn identity_for(user_id: &UserId) -> String {
    format!("{IDENTITY_PREFIX}{user_id}")
}

/// A new voice room and the voice session it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoiceRoom {
    /// `voice_assistant_room_<unix>_<64 random bits hex>`.
    pub name: String,
    /// `vs_<the same hex>`, so a webhook that only carries the room still
    /// finds its session.
    pub session_id: VoiceSessionId,
}

impl VoiceRoom {
    pub fn new(now: i64) -> Self {
        use rand::RngCore;
        let random = format!("{:016x}", rand::rngs::OsRng.next_u64());
        Self {
            name: format!("{ROOM_PREFIX}{now}_{random}"),
            session_id: VoiceSessionId::from_random_part(&random)
                .expect("16 hex digits make a voice session id"),
        }
    }
}

/// The voice session a room of ours belongs to.
pub fn session_id_of_room(room: &str) -> Option<VoiceSessionId> {
    let (secs, random) = room.strip_prefix(ROOM_PREFIX)?.split_once('_')?;
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    VoiceSessionId::from_random_part(random).ok()
}

/// Everything a participant token carries.
pub struct ParticipantToken<'a> {
    pub identity: &'a str,
    pub name: &'a str,
    pub kind: Option<&'a str>,
    pub grants: VideoGrants,
    pub metadata: String,
    pub attributes: Vec<(String, String)>,
    pub agents: Vec<RoomAgentDispatch>,
    pub ttl: Duration,
}

pub fn sign(creds: &LiveKitCredentials, t: ParticipantToken<'_>) -> Result<String> {
    crate::adapters::secrets::install_crypto_provider();
    let mut token = AccessToken::with_api_key(&creds.api_key, &creds.api_secret)
        .with_identity(t.identity)
        .with_name(t.name)
        .with_ttl(t.ttl)
        .with_metadata(&t.metadata)
        .with_attributes(t.attributes)
        .with_grants(t.grants);
    if let Some(kind) = t.kind {
        token = token.with_kind(kind);
    }
    if !t.agents.is_empty() {
        token = token.with_room_config(RoomConfiguration {
            agents: t.agents,
            ..Default::default()
        });
    }
    token.to_jwt().map_err(Error::internal)
}

/// The grants of a caller in a voice-assistant room: join, listen, speak by
/// microphone only, and exchange data with the agent.
pub fn voice_caller_grants(room: &str) -> VideoGrants {
    VideoGrants {
        room_join: true,
        room: room.to_owned(),
        can_subscribe: Some(true),
        can_publish: Some(true),
        can_publish_data: Some(true),
        can_publish_sources: vec!["microphone".into()],
        ..Default::default()
    }
}

/// Token kinds the admin route issues, and the grants each maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminKind {
    /// Join, publish any source, subscribe, data.
    Participant,
    /// Participant plus `roomAdmin` (moderate the room).
    Admin,
    /// Subscribe only, hidden from other participants.
    ViewOnly,
    /// Publish camera only, subscribe, no data.
    CameraOnly,
    /// Publish microphone only, subscribe, no data.
    MicrophoneOnly,
    /// A LiveKit agent (`kind: agent`): publish, subscribe, data.
    Agent,
}

impl AdminKind {
    pub fn grants(self, room: &str) -> VideoGrants {
        let base = VideoGrants {
            room_join: true,
            room: room.to_owned(),
            can_subscribe: Some(true),
            ..Default::default()
        };
        let publish_all = VideoGrants {
            can_publish: Some(true),
            can_publish_data: Some(true),
            ..base.clone()
        };
        match self {
            AdminKind::Participant => publish_all,
            AdminKind::Admin => VideoGrants {
                room_admin: true,
                ..publish_all
            },
            AdminKind::ViewOnly => VideoGrants {
                can_publish: Some(false),
                can_publish_data: Some(false),
                hidden: true,
                ..base
            },
            AdminKind::CameraOnly => VideoGrants {
                can_publish: Some(true),
                can_publish_data: Some(false),
                can_publish_sources: vec!["camera".into()],
                ..base
            },
            AdminKind::MicrophoneOnly => VideoGrants {
                can_publish: Some(true),
                can_publish_data: Some(false),
                can_publish_sources: vec!["microphone".into()],
                ..base
            },
            AdminKind::Agent => VideoGrants {
                agent: true,
                ..publish_all
            },
        }
    }

    /// LiveKit's participant kind claim, where one applies.
    pub fn participant_kind(self) -> Option<&'static str> {
        matches!(self, AdminKind::Agent).then_some("agent")
    }
}

/// Verifies a LiveKit webhook: the `Authorization` JWT must be signed with
/// our API secret and carry the base64 SHA-256 of exactly these body bytes.
pub fn verify_webhook(creds: &LiveKitCredentials, authorization: &str, body: &[u8]) -> Result<()> {
    crate::adapters::secrets::install_crypto_provider();
    let token = authorization
        .strip_prefix("Bearer ")
        .unwrap_or(authorization)
        .trim();
    // LiveKit signs webhooks HS256 with `typ: JWT` (or none); anything else,
    // or a header naming its own key, is refused before the MAC is checked.
    let header =
        crate::domain::access_tokens::CompactHeader::parse(token).ok_or(Error::InvalidToken)?;
    if header.alg != "HS256" || header.typ.as_deref().is_some_and(|t| t != "jwt") {
        return Err(Error::InvalidToken);
    }
    let claims = TokenVerifier::with_api_key(&creds.api_key, &creds.api_secret)
        .verify(token)
        .map_err(|_| Error::InvalidToken)?;
    // jsonwebtoken checks `iss` only when present; LiveKit always sends it.
    if claims.iss != creds.api_key {
        return Err(Error::InvalidToken);
    }
    let claimed = base64::engine::general_purpose::STANDARD
        .decode(claims.sha256.as_bytes())
        .map_err(|_| Error::InvalidToken)?;
    let actual = Sha256::digest(body);
    if claimed.len() != actual.len() || !bool::from(claimed.as_slice().ct_eq(&actual[..])) {
        return Err(Error::InvalidToken);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_map_to_session_ids() {
        let room = VoiceRoom::new(1_700_000_000);
        assert!(room.name.starts_with("voice_assistant_room_1700000000_"));
        assert_eq!(session_id_of_room(&room.name), Some(room.session_id));
        for bad in [
            "",
            "voice_assistant_room_",
            "voice_assistant_room_1_xyz",
            "other_room_1_0123456789abcdef",
        ] {
            assert_eq!(session_id_of_room(bad), None, "{bad}");
        }
    }

    #[test]
    fn webhook_signature_binds_body_and_secret() {
        // As AppState::new does: before livekit-api installs its HMAC-only provider.
        crate::adapters::secrets::install_crypto_provider();
        let creds = LiveKitCredentials {
            api_key: "devkey".into(),
            api_secret: "secret".into(),
        };
        let body = br#"{"event":"room_finished","id":"EV_1"}"#;
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
        let auth = AccessToken::with_api_key("devkey", "secret")
            .with_sha256(&digest)
            .to_jwt()
            .unwrap();
        assert!(verify_webhook(&creds, &auth, body).is_ok());
        assert!(verify_webhook(&creds, &format!("Bearer {auth}"), body).is_ok());
        assert!(verify_webhook(&creds, &auth, b"{}").is_err());
        let wrong = LiveKitCredentials {
            api_key: "devkey".into(),
            api_secret: "other".into(),
        };
        assert!(verify_webhook(&wrong, &auth, body).is_err());
        assert!(verify_webhook(&creds, "", body).is_err());
    }
}
