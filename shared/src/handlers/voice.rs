//! `POST /connection-details` and `POST /livekit/webhook`.

use std::collections::HashMap;

use http::StatusCode;
use lambda_http::Request;
use livekit_protocol::RoomAgentDispatch;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::HandlerResult;
use crate::audit::{self, Outcome};
use crate::auth::authenticate;
use crate::config::Config;
use crate::error::ApiError;
use crate::http::{
    checked_body, json_body_or_default, json_response, no_store_json, parse_json,
    single_authorization, RequestMeta,
};
use crate::livekit::{
    self, identity_for, room_and_session_ids, session_id_of_room, ParticipantToken,
};
use crate::state::AppState;
use crate::store::voice::VoiceSession;
use crate::text;
use crate::throttle::{self, Limit};

/// How long an issued voice session stays joinable.
const VOICE_SESSION_SECONDS: i64 = 3_600;

/// LiveKit's standard token request (what `TokenSource.endpoint` sends).
#[derive(Default, Deserialize)]
struct TokenRequest {
    room_name: Option<String>,
    participant_name: Option<String>,
    participant_identity: Option<String>,
    participant_metadata: Option<String>,
    participant_attributes: Option<HashMap<String, String>>,
    room_config: Option<RoomConfigRequest>,
}

#[derive(Default, Deserialize)]
struct RoomConfigRequest {
    agents: Option<Vec<AgentRequest>>,
}

#[derive(Default, Deserialize)]
struct AgentRequest {
    agent_name: Option<String>,
    metadata: Option<String>,
}

impl TokenRequest {
    /// LiveKit's endpoint spec: refuse what the client may not set. Empty
    /// values count as absent (the SDKs send `""` for unset optional fields).
    fn refuse_server_owned_fields(&self) -> Result<(), ApiError> {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        let owned = [
            ("room_name", set(&self.room_name)),
            ("participant_identity", set(&self.participant_identity)),
            ("participant_name", set(&self.participant_name)),
            ("participant_metadata", set(&self.participant_metadata)),
            (
                "participant_attributes",
                self.participant_attributes
                    .as_ref()
                    .is_some_and(|a| !a.is_empty()),
            ),
        ];
        match owned.iter().find(|(_, given)| *given) {
            Some((field, _)) => Err(ApiError::invalid(format!(
                "`{field}` is set by the server and may not be given."
            ))),
            None => Ok(()),
        }
    }

    /// The agents to dispatch: those asked for, all from the allow-list, or
    /// the default. Metadata for the agent from the client is refused unless
    /// configuration allows it, and then bounded and free of hidden text.
    fn agents(
        &self,
        allowlist: &[String],
        default_agent: &str,
        allow_metadata: bool,
    ) -> Result<Vec<RoomAgentDispatch>, ApiError> {
        let asked = self
            .room_config
            .as_ref()
            .and_then(|c| c.agents.as_deref())
            .unwrap_or(&[]);
        let mut out: Vec<RoomAgentDispatch> = Vec::new();
        for agent in asked {
            let name = agent
                .agent_name
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(default_agent);
            if !allowlist.iter().any(|a| a == name) {
                return Err(ApiError::invalid(
                    "`room_config.agents.agent_name` is not an allowed agent.",
                ));
            }
            let metadata = agent.metadata.clone().unwrap_or_default();
            if !metadata.is_empty() {
                check_agent_metadata(&metadata, allow_metadata)?;
            }
            if out.iter().all(|a| a.agent_name != name) {
                out.push(RoomAgentDispatch {
                    agent_name: name.to_owned(),
                    metadata,
                    ..Default::default()
                });
            }
        }
        if out.is_empty() {
            out.push(RoomAgentDispatch {
                agent_name: default_agent.to_owned(),
                ..Default::default()
            });
        }
        Ok(out)
    }
}

/// `room_config.agents[].metadata` reaches the agent verbatim, so it is off
/// unless configured on, and then at most 1 KiB with no hidden characters.
fn check_agent_metadata(metadata: &str, allowed: bool) -> Result<(), ApiError> {
    const FIELD: &str = "`room_config.agents.metadata`";
    if !allowed {
        return Err(ApiError::invalid(format!("{FIELD} may not be given.")));
    }
    if metadata.len() > Config::MAX_AGENT_METADATA_BYTES {
        return Err(ApiError::invalid(format!(
            "{FIELD} must be at most {} bytes.",
            Config::MAX_AGENT_METADATA_BYTES
        )));
    }
    if metadata.chars().any(text::is_hidden) {
        return Err(ApiError::invalid(format!(
            "{FIELD} must not contain invisible, control or format characters."
        )));
    }
    Ok(())
}

#[derive(Serialize)]
struct ConnectionDetails {
    server_url: String,
    participant_token: String,
    room_name: String,
    participant_name: String,
    #[serde(rename = "serverUrl")]
    server_url_camel: String,
    #[serde(rename = "participantToken")]
    participant_token_camel: String,
    #[serde(rename = "roomName")]
    room_name_camel: String,
    #[serde(rename = "participantName")]
    participant_name_camel: String,
    session_id: String,
    expires_at: i64,
}

pub async fn connection_details(
    state: &AppState,
    meta: &RequestMeta,
    req: &Request,
) -> HandlerResult {
    let auth = authenticate(state, req).await?;
    let body: TokenRequest = json_body_or_default(req)?;
    body.refuse_server_owned_fields()?;
    let agents = body.agents(
        &state.config.agent_allowlist,
        state.config.default_agent(),
        state.config.allow_client_agent_metadata,
    )?;
    // Each call stores a voice session kept for months: bounded per user and per source.
    let limits = [
        Limit::ConnectionDetailsPerUser(&auth.session.user_id),
        Limit::ConnectionDetailsPerIp(&meta.source_ip),
    ];
    if let Err(err) = throttle::take_all(state, &limits, state.now()).await {
        if matches!(err, ApiError::RateLimited { .. }) {
            audit::record(
                "voice_session_issued",
                Some(auth.session.user_id.as_str()),
                Outcome::Failure,
                "rate_limited",
                None,
            );
        }
        return Err(err);
    }
    let user = state
        .db
        .user(&auth.session.user_id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let livekit = state.livekit().await?;

    let now = state.now();
    let (room, session_id) = room_and_session_ids(now);
    let identity = identity_for(user.user_id.as_str());
    let name = user.full_name.as_str().to_owned();
    let platform = auth.claims.platform.map(|p| p.as_str());
    let two_factor = auth.claims.two_factor_verified;
    let metadata = json!({
        "user_id": user.user_id,
        "email": user.email,
        "user_name": name,
        "roles": user.roles,
        "permissions": user.permissions,
        "session_type": "voice_assistant",
        "session_id": session_id,
        "platform": platform,
        "two_factor_verified": two_factor,
    });
    // Attributes are string-to-string: lists are comma-joined.
    let attributes = vec![
        ("user_id".to_owned(), user.user_id.to_string()),
        ("email".to_owned(), user.email.to_string()),
        ("user_name".to_owned(), name.clone()),
        ("roles".to_owned(), user.roles.join(",")),
        ("permissions".to_owned(), user.permissions.join(",")),
        ("session_type".to_owned(), "voice_assistant".to_owned()),
        ("session_id".to_owned(), session_id.clone()),
        ("platform".to_owned(), platform.unwrap_or("").to_owned()),
        ("two_factor_verified".to_owned(), two_factor.to_string()),
    ];
    let ttl = state.config.livekit_token_ttl;
    let dispatched: Vec<String> = agents.iter().map(|a| a.agent_name.clone()).collect();
    let token = livekit::sign(
        &livekit,
        ParticipantToken {
            identity: &identity,
            name: &name,
            kind: None,
            grants: livekit::voice_caller_grants(&room),
            metadata: metadata.to_string(),
            attributes,
            agents,
            ttl,
        },
    )?;

    let session = VoiceSession {
        session_id: session_id.clone(),
        user_id: user.user_id.to_string(),
        room_name: room.clone(),
        identity,
        platform: platform.map(str::to_owned),
        status: "issued".into(),
        started_at: now,
        expires_at: now + VOICE_SESSION_SECONDS,
        joined_at: None,
        ended_at: None,
        duration_seconds: None,
    };
    let retain_until = now + state.config.voice_session_retention.as_secs() as i64;
    state
        .db
        .create_voice_session(&session, retain_until)
        .await?;
    audit::record(
        "voice_session_issued",
        Some(user.user_id.as_str()),
        Outcome::Success,
        "connection_details",
        Some(&format!(
            "session_id={session_id} agents={}",
            dispatched.join(",")
        )),
    );

    let url = state.config.livekit_url.clone();
    let details = ConnectionDetails {
        server_url: url.clone(),
        participant_token: token.clone(),
        room_name: room.clone(),
        participant_name: name.clone(),
        server_url_camel: url,
        participant_token_camel: token,
        room_name_camel: room,
        participant_name_camel: name,
        session_id,
        expires_at: now + ttl.as_secs() as i64,
    };
    Ok(no_store_json(StatusCode::CREATED, &details))
}

/// Parses LiveKit's webhook body; int64 fields arrive as JSON strings.
fn webhook_event(body: &[u8]) -> Result<livekit_protocol::WebhookEvent, ApiError> {
    parse_json(body)
}

pub async fn webhook(state: &AppState, req: &Request) -> HandlerResult {
    let body = checked_body(req, false)?;
    let authorization = single_authorization(req).ok_or(ApiError::InvalidToken)?;
    let credentials = state.livekit().await?;
    if livekit::verify_webhook(&credentials, authorization, body).is_err() {
        audit::record(
            "livekit_webhook",
            None,
            Outcome::Failure,
            "bad_signature",
            None,
        );
        return Err(ApiError::InvalidToken);
    }
    let event = webhook_event(body)?;
    if event.id.is_empty() {
        return Err(ApiError::invalid("`id` is required."));
    }
    let now = state.now();
    if !state
        .db
        .claim_webhook_event(&event.id, &event.event, now)
        .await?
    {
        return Ok(json_response(
            StatusCode::OK,
            &json!({"status": "duplicate"}),
        ));
    }
    match apply_event(state, &event, now).await {
        Ok(applied) => Ok(json_response(
            StatusCode::OK,
            &json!({"status": if applied { "applied" } else { "ignored" }}),
        )),
        Err(err) => {
            // Let LiveKit's retry be processed rather than dropped as a duplicate.
            let _ = state.db.release_webhook_event(&event.id).await;
            Err(err)
        }
    }
}

/// Moves the voice session the event is about; false when it is not ours or
/// the transition no longer applies.
async fn apply_event(
    state: &AppState,
    event: &livekit_protocol::WebhookEvent,
    now: i64,
) -> Result<bool, ApiError> {
    let Some(session_id) = event
        .room
        .as_ref()
        .and_then(|r| session_id_of_room(&r.name))
    else {
        return Ok(false);
    };
    let caller = event
        .participant
        .as_ref()
        .is_some_and(|p| p.identity.starts_with(livekit::IDENTITY_PREFIX));
    // LiveKit stamps events with its own clock; ours decides when it is absent.
    let at = if event.created_at > 0 {
        event.created_at
    } else {
        now
    };
    let (updated, what) = match event.event.as_str() {
        "participant_joined" if caller => (
            state.db.mark_voice_joined(&session_id, at).await?,
            "voice_session_joined",
        ),
        "participant_left" if caller => (
            state.db.mark_voice_ended(&session_id, at).await?,
            "voice_session_ended",
        ),
        "room_finished" => (
            state.db.mark_voice_ended(&session_id, at).await?,
            "voice_session_ended",
        ),
        _ => return Ok(false),
    };
    let Some(session) = updated else {
        return Ok(false);
    };
    audit::record(
        what,
        Some(&session.user_id),
        Outcome::Success,
        &event.event,
        Some(&format!("session_id={session_id}")),
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_livekit_webhook_json_with_string_int64() {
        let body = br#"{"event":"participant_joined","room":{"sid":"RM_1","name":"voice_assistant_room_1_0123456789abcdef","creationTime":"1763700000"},"participant":{"sid":"PA_1","identity":"voice_assistant_user_u001","state":"ACTIVE","joinedAt":"1763700005"},"id":"EV_1","createdAt":"1763700006"}"#;
        let e = webhook_event(body).unwrap();
        assert_eq!(e.event, "participant_joined");
        assert_eq!(e.created_at, 1_763_700_006);
        assert_eq!(e.participant.unwrap().identity, "voice_assistant_user_u001");
    }

    #[test]
    fn server_owned_fields_are_refused_by_name_and_empty_ones_ignored() {
        let req: TokenRequest =
            parse_json(br#"{"room_name":"","participant_attributes":{}}"#).unwrap();
        assert!(req.refuse_server_owned_fields().is_ok());
        let req: TokenRequest = parse_json(br#"{"participant_identity":"admin"}"#).unwrap();
        match req.refuse_server_owned_fields() {
            Err(ApiError::InvalidRequest(d)) => assert!(d.contains("participant_identity")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn agents_default_and_allow_list() {
        let allow = vec!["banking-assistant".to_owned(), "fraud-desk".to_owned()];
        let none: TokenRequest = parse_json(br#"{"room_config":{}}"#).unwrap();
        assert_eq!(
            none.agents(&allow, "banking-assistant", false).unwrap()[0].agent_name,
            "banking-assistant"
        );
        let asked: TokenRequest = parse_json(
            br#"{"room_config":{"agents":[{"agent_name":"fraud-desk","metadata":"m"}]}}"#,
        )
        .unwrap();
        assert!(asked.agents(&allow, "banking-assistant", false).is_err());
        let a = asked.agents(&allow, "banking-assistant", true).unwrap();
        assert_eq!(
            (a.len(), a[0].agent_name.as_str(), a[0].metadata.as_str()),
            (1, "fraud-desk", "m")
        );
        let bad: TokenRequest =
            parse_json(br#"{"room_config":{"agents":[{"agent_name":"evil"}]}}"#).unwrap();
        assert!(bad.agents(&allow, "banking-assistant", true).is_err());
        let hidden: TokenRequest =
            parse_json(br#"{"room_config":{"agents":[{"metadata":"a\u200bb"}]}}"#).unwrap();
        assert!(hidden.agents(&allow, "banking-assistant", true).is_err());
        let big = format!(
            r#"{{"room_config":{{"agents":[{{"metadata":"{}"}}]}}}}"#,
            "m".repeat(Config::MAX_AGENT_METADATA_BYTES + 1)
        );
        let big: TokenRequest = parse_json(big.as_bytes()).unwrap();
        assert!(big.agents(&allow, "banking-assistant", true).is_err());
    }
}
