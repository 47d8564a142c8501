//! Voice sessions: the LiveKit connection details a signed-in caller gets
//! (a room of their own, a participant token carrying who they are, the
//! agent dispatched to it), and the webhooks that move the session from
//! issued to active to ended.

use livekit_protocol::{RoomAgentDispatch, WebhookEvent};
use serde_json::json;

use crate::adapters::store::users::User;
use crate::adapters::store::voice_sessions::VoiceSession;
use crate::config::Config;
use crate::domain::audit::{self, Outcome};
use crate::domain::auth_sessions::Authenticated;
use crate::domain::error::{Error, Result};
use crate::domain::livekit::{self, ParticipantToken, VoiceRoom};
use crate::domain::throttle::{self, Limit};
use crate::state::AppState;
use crate::types::{text, CallerProof, SourceIp, UserId, VoiceSessionId, VoiceStatus};

/// How long an issued voice session stays joinable.
const VOICE_SESSION_SECONDS: i64 = 3_600;

/// An agent the client asks to be dispatched (LiveKit's `room_config.agents[]`).
#[derive(Clone, Debug, Default)]
pub struct AgentAsk {
    pub agent_name: Option<String>,
    pub metadata: Option<String>,
}

/// The agents to dispatch: those asked for, all from the allow-list, or the
/// default. Metadata for the agent from the client is refused unless
/// configuration allows it, and then bounded and free of hidden text.
pub fn choose_agents(config: &Config, asked: &[AgentAsk]) -> Result<Vec<RoomAgentDispatch>> {
    let default_agent = config.default_agent();
    let mut out: Vec<RoomAgentDispatch> = Vec::new();
    for agent in asked {
        let name = agent
            .agent_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(default_agent);
        if !config.agent_allowlist.iter().any(|a| a == name) {
            return Err(Error::refused(
                "`room_config.agents.agent_name` is not an allowed agent.",
            ));
        }
        let metadata = agent.metadata.clone().unwrap_or_default();
        if !metadata.is_empty() {
            check_agent_metadata(&metadata, config.allow_client_agent_metadata)?;
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

/// `room_config.agents[].metadata` reaches the agent verbatim, so it is off
/// unless configured on, and then at most [`Config::MAX_AGENT_METADATA_BYTES`]
/// with no hidden characters.
fn check_agent_metadata(metadata: &str, allowed: bool) -> Result<()> {
    const FIELD: &str = "`room_config.agents.metadata`";
    if !allowed {
        return Err(Error::refused(format!("{FIELD} may not be given.")));
    }
    if metadata.len() > Config::MAX_AGENT_METADATA_BYTES {
        return Err(Error::refused(format!(
            "{FIELD} must be at most {} bytes.",
            Config::MAX_AGENT_METADATA_BYTES
        )));
    }
    if metadata.chars().any(text::is_hidden) {
        return Err(Error::refused(format!(
            "{FIELD} must not contain invisible, control or format characters."
        )));
    }
    Ok(())
}

/// What a caller needs to join their voice room.
#[derive(Debug)]
pub struct ConnectionDetails {
    pub server_url: String,
    pub participant_token: String,
    pub room_name: String,
    pub participant_name: String,
    pub session_id: VoiceSessionId,
    pub expires_at: i64,
}

/// Opens a voice session for the signed-in caller: a fresh room, a
/// participant token whose identity, attributes and metadata say who they
/// are and how they signed in, and the session recorded as issued.
pub async fn issue(
    state: &AppState,
    auth: &Authenticated,
    user: &User,
    asked: &[AgentAsk],
    source: &SourceIp,
) -> Result<ConnectionDetails> {
    let agents = choose_agents(&state.config, asked)?;
    // Each call stores a voice session kept for months: bounded per user and per source.
    let limits = [
        Limit::ConnectionDetailsPerUser(&auth.session.user_id),
        Limit::ConnectionDetailsPerIp(source),
    ];
    if let Err(err) = throttle::take_all(state, &limits, state.now()).await {
        if matches!(err, Error::RateLimited { .. }) {
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
    let credentials = state.livekit().await?;

    let now = state.now();
    let room = VoiceRoom::new(now);
    let identity = livekit::identity_for(&user.user_id);
    let name = user.full_name.as_str().to_owned();
    let platform = auth.claims.platform.map(|p| p.as_str());
    let two_factor = auth.claims.two_factor_verified;
    let biometric = auth.claims.biometric_verified;
    let metadata = json!({
        "user_id": user.user_id,
        "email": user.email,
        "user_name": name,
        "roles": user.roles,
        "permissions": user.permissions,
        "session_type": "voice_assistant",
        "session_id": room.session_id,
        "platform": platform,
        "two_factor_verified": two_factor,
        "biometric_verified": biometric,
    });
    // Attributes are string-to-string: lists are comma-joined.
    let attributes = vec![
        ("user_id".to_owned(), user.user_id.to_string()),
        ("email".to_owned(), user.email.to_string()),
        ("user_name".to_owned(), name.clone()),
        ("roles".to_owned(), user.roles.join(",")),
        ("permissions".to_owned(), user.permissions.join(",")),
        ("session_type".to_owned(), "voice_assistant".to_owned()),
        ("session_id".to_owned(), room.session_id.to_string()),
        ("platform".to_owned(), platform.unwrap_or("").to_owned()),
        ("two_factor_verified".to_owned(), two_factor.to_string()),
        ("biometric_verified".to_owned(), biometric.to_string()),
    ];
    let ttl = state.config.livekit_token_ttl;
    let dispatched: Vec<String> = agents.iter().map(|a| a.agent_name.clone()).collect();
    let token = livekit::sign(
        &credentials,
        ParticipantToken {
            identity: &identity,
            name: &name,
            kind: None,
            grants: livekit::voice_caller_grants(&room.name),
            metadata: metadata.to_string(),
            attributes,
            agents,
            ttl,
        },
    )?;

    let session = VoiceSession {
        session_id: room.session_id.clone(),
        user_id: Some(user.user_id.clone()),
        caller_proof: Some(CallerProof::App),
        auth_session_id: Some(auth.session.sid.clone()),
        agents: dispatched.clone(),
        opened_by: None,
        pending_user: None,
        step_up: None,
        room_name: room.name.clone(),
        identity,
        platform: auth.claims.platform,
        status: VoiceStatus::Issued,
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
            "session_id={} agents={}",
            room.session_id,
            dispatched.join(",")
        )),
    );
    Ok(ConnectionDetails {
        server_url: state.config.livekit_url.clone(),
        participant_token: token,
        room_name: room.name,
        participant_name: name,
        session_id: room.session_id,
        expires_at: now + ttl.as_secs() as i64,
    })
}

/// Checks that a webhook body was signed by our LiveKit server (before
/// anything in it is read).
pub async fn verify_webhook(state: &AppState, authorization: &str, body: &[u8]) -> Result<()> {
    let credentials = state.livekit().await?;
    livekit::verify_webhook(&credentials, authorization, body).inspect_err(|_| {
        audit::record(
            "livekit_webhook",
            None,
            Outcome::Failure,
            "bad_signature",
            None,
        )
    })
}

/// What a verified webhook did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// It moved one of our voice sessions.
    Applied,
    /// Not about one of our sessions, or the move no longer applies.
    Ignored,
    /// Its id was seen before (LiveKit delivers at least once).
    Duplicate,
}

impl WebhookOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Applied => "applied",
            WebhookOutcome::Ignored => "ignored",
            WebhookOutcome::Duplicate => "duplicate",
        }
    }
}

/// Applies a verified webhook event once, by its id.
pub async fn receive_webhook(state: &AppState, event: &WebhookEvent) -> Result<WebhookOutcome> {
    if event.id.is_empty() {
        return Err(Error::refused("`id` is required."));
    }
    let now = state.now();
    if !state
        .db
        .claim_webhook_event(&event.id, &event.event, now)
        .await?
    {
        return Ok(WebhookOutcome::Duplicate);
    }
    match apply_event(state, event, now).await {
        Ok(true) => Ok(WebhookOutcome::Applied),
        Ok(false) => Ok(WebhookOutcome::Ignored),
        Err(err) => {
            // Let LiveKit's retry be processed rather than dropped as a
            // duplicate. If the release fails too, the retry is dropped:
            // on-call needs to know.
            if let Err(release) = state.db.release_webhook_event(&event.id).await {
                tracing::error!(
                    event = "webhook_release_failed",
                    webhook_event = %event.event,
                    cause = %release
                );
            }
            Err(err)
        }
    }
}

/// Our session for a room: app rooms carry their session id in their name;
/// rooms an agent opened a session for point to it.
async fn session_of_room(state: &AppState, room: &str) -> Result<Option<VoiceSessionId>> {
    if let Some(id) = livekit::session_id_of_room(room) {
        return Ok(Some(id));
    }
    Ok(state.db.voice_session_of_room(room).await?)
}

/// Moves the voice session the event is about; false when it is not ours or
/// the transition no longer applies.
async fn apply_event(state: &AppState, event: &WebhookEvent, now: i64) -> Result<bool> {
    let Some(room) = event.room.as_ref() else {
        return Ok(false);
    };
    let Some(session_id) = session_of_room(state, &room.name).await? else {
        return Ok(false);
    };
    let Some(session) = state.db.voice_session(&session_id).await? else {
        return Ok(false);
    };
    // Only the caller's own comings and goings move the session; the agent
    // (or anyone else) leaving does not end it.
    let caller = event
        .participant
        .as_ref()
        .is_some_and(|p| p.identity == session.identity);
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
        session.user_id.as_ref().map(UserId::as_str),
        Outcome::Success,
        &event.event,
        Some(&format!("session_id={session_id}")),
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(allow_metadata: bool) -> Config {
        let env: std::collections::HashMap<String, String> = [
            ("TABLE_NAME", "t"),
            ("APP_SECRET_ID", "a"),
            ("LIVEKIT_SECRET_ID", "l"),
            ("LIVEKIT_URL", "ws://x"),
            ("AGENT_ALLOWLIST", "banking-assistant,fraud-desk"),
            (
                "ALLOW_CLIENT_AGENT_METADATA",
                if allow_metadata { "true" } else { "false" },
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Config::from_env(&env).unwrap()
    }

    fn ask(name: Option<&str>, metadata: Option<&str>) -> AgentAsk {
        AgentAsk {
            agent_name: name.map(str::to_owned),
            metadata: metadata.map(str::to_owned),
        }
    }

    #[test]
    fn no_agent_asked_dispatches_the_default() {
        let chosen = choose_agents(&config(false), &[]).unwrap();
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].agent_name, "banking-assistant");
        let unnamed = choose_agents(&config(false), &[ask(Some(""), None)]).unwrap();
        assert_eq!(unnamed[0].agent_name, "banking-assistant");
    }

    #[test]
    fn only_allowed_agents_are_dispatched_once_each() {
        let twice = [ask(Some("fraud-desk"), None), ask(Some("fraud-desk"), None)];
        let chosen = choose_agents(&config(false), &twice).unwrap();
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].agent_name, "fraud-desk");
        assert!(choose_agents(&config(true), &[ask(Some("evil"), None)]).is_err());
    }

    #[test]
    fn agent_metadata_needs_configuration_and_is_bounded_and_visible() {
        let with_metadata = [ask(Some("fraud-desk"), Some("m"))];
        assert!(choose_agents(&config(false), &with_metadata).is_err());
        let chosen = choose_agents(&config(true), &with_metadata).unwrap();
        assert_eq!(chosen[0].metadata, "m");
        assert!(choose_agents(&config(true), &[ask(None, Some("a\u{200b}b"))]).is_err());
        let big = "m".repeat(Config::MAX_AGENT_METADATA_BYTES + 1);
        assert!(choose_agents(&config(true), &[ask(None, Some(&big))]).is_err());
    }
}
