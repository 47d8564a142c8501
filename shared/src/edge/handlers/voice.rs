//! `POST /connection-details` (LiveKit's standard token endpoint, so the
//! client SDKs' `TokenSource.endpoint` works unchanged) and
//! `POST /livekit/webhook`.

use std::collections::HashMap;

use http::StatusCode;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{signed_in_user, HandlerResult};
use crate::domain::voice_sessions::{self, AgentAsk, ConnectionDetails};
use crate::edge::error::ApiError;
use crate::edge::request::{
    checked_body, json_body_or_default, parse_json, single_authorization, RequestMeta,
};
use crate::edge::response::{json_response, no_store_json};
use crate::state::AppState;

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

    fn agents(self) -> Vec<AgentAsk> {
        self.room_config
            .and_then(|c| c.agents)
            .unwrap_or_default()
            .into_iter()
            .map(|a| AgentAsk {
                agent_name: a.agent_name,
                metadata: a.metadata,
            })
            .collect()
    }
}

/// The answer, in both spellings LiveKit's SDKs read.
#[derive(Serialize)]
struct ConnectionDetailsBody {
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

impl From<ConnectionDetails> for ConnectionDetailsBody {
    fn from(d: ConnectionDetails) -> Self {
        Self {
            server_url_camel: d.server_url.clone(),
            participant_token_camel: d.participant_token.clone(),
            room_name_camel: d.room_name.clone(),
            participant_name_camel: d.participant_name.clone(),
            server_url: d.server_url,
            participant_token: d.participant_token,
            room_name: d.room_name,
            participant_name: d.participant_name,
            session_id: d.session_id.into(),
            expires_at: d.expires_at,
        }
    }
}

pub async fn connection_details(
    state: &AppState,
    meta: &RequestMeta,
    req: &Request,
) -> HandlerResult {
    let (auth, user) = signed_in_user(state, req).await?;
    let body: TokenRequest = json_body_or_default(req)?;
    body.refuse_server_owned_fields()?;
    let details =
        voice_sessions::issue(state, &auth, &user, &body.agents(), &meta.source_ip).await?;
    Ok(no_store_json(
        StatusCode::CREATED,
        &ConnectionDetailsBody::from(details),
    ))
}

/// Parses LiveKit's webhook body; int64 fields arrive as JSON strings.
fn webhook_event(body: &[u8]) -> Result<livekit_protocol::WebhookEvent, ApiError> {
    parse_json(body)
}

pub async fn webhook(state: &AppState, req: &Request) -> HandlerResult {
    let body = checked_body(req, false)?;
    let authorization = single_authorization(req).ok_or_else(ApiError::invalid_token)?;
    voice_sessions::verify_webhook(state, authorization, body).await?;
    let event = webhook_event(body)?;
    let outcome = voice_sessions::receive_webhook(state, &event).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"status": outcome.as_str()}),
    ))
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
    fn asked_agents_reach_the_domain_as_given() {
        let req: TokenRequest = parse_json(
            br#"{"room_config":{"agents":[{"agent_name":"fraud-desk","metadata":"m"},{}]}}"#,
        )
        .unwrap();
        let asked = req.agents();
        assert_eq!(asked.len(), 2);
        assert_eq!(asked[0].agent_name.as_deref(), Some("fraud-desk"));
        assert_eq!(asked[0].metadata.as_deref(), Some("m"));
        assert_eq!(asked[1].agent_name, None);
    }
}
