//! Tool tokens: what the voice agent presents to its tool server, obtained by
//! OAuth 2.0 Token Exchange (RFC 8693) of a voice session, checked by the tool
//! server through introspection (RFC 7662), described by RFC 8414 metadata.
//!
//! A tool token is an ES256 JWT from our JWKS with its own `typ`, so no other
//! check of ours accepts it and it is accepted by none but its own: `aud` is
//! the tool server (RFC 8707 `resource`), `sub` the caller proven in the
//! call, `act` the agent client, `sid` the voice session, `scope` within both
//! the caller's permissions and the client's allowance. `transact` needs a
//! transaction the caller confirmed in the call; the token carries it as
//! `authorization_details` (RFC 9396) and is good for one introspection.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::adapters::secrets::AgentClient;
use crate::clock::UnixTime;
use crate::domain::access_tokens::{self, LEEWAY_SECONDS};
use crate::domain::agent_calls::{session_for, still_live};
use crate::domain::audit::{self, Outcome};
use crate::domain::error::{Error, Result};
use crate::state::AppState;
use crate::types::{Resource, Scope, Scopes, Transaction, UserId, VoiceSessionId};

/// The JOSE `typ` of tool tokens; no other token of ours carries it.
pub const TOOL_TOKEN_TYPE: &str = "vg-tool+jwt";
/// The longest a tool token lives.
pub const MAX_TOOL_TOKEN_SECONDS: i64 = 300;
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 `subject_token_type` of a voice session id.
pub const VOICE_SESSION_TOKEN_TYPE: &str = "urn:voicegate:token-type:voice-session";
pub const ISSUED_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 9396 `authorization_details` type of a confirmed transaction.
pub const TRANSACTION_DETAILS_TYPE: &str = "voicegate_transaction";

/// An RFC 8693 request, as the form said it.
#[derive(Debug, Default)]
pub struct ExchangeRequest {
    pub grant_type: String,
    pub subject_token: Option<String>,
    pub subject_token_type: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub requested_token_type: Option<String>,
}

/// The agent acting for the caller (RFC 8693 §4.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
}

/// RFC 9396 details of the confirmed transaction a `transact` token is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionDetails {
    #[serde(rename = "type")]
    pub details_type: String,
    pub step_up_id: String,
    /// What the caller confirmed, canonical: the tool server compares it
    /// with the movement it is about to make.
    pub transaction: Transaction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: UnixTime,
    pub nbf: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    pub client_id: String,
    pub act: Actor,
    /// The voice session the token acts in.
    pub sid: String,
    pub scope: String,
    /// How the caller was proven in this call (`app`, `in_call_code`).
    pub caller_proof: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_details: Vec<TransactionDetails>,
}

/// The token endpoint's answer.
#[derive(Debug, Serialize)]
pub struct IssuedToolToken {
    pub access_token: String,
    pub issued_token_type: &'static str,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorization_details: Vec<TransactionDetails>,
}

/// Why the voice session cannot be exchanged, as RFC 6749 says it.
fn as_grant_error(err: Error) -> Error {
    match err {
        Error::VoiceSessionNotFound => Error::InvalidGrant("unknown voice session"),
        Error::VoiceSessionEnded => Error::InvalidGrant("the voice session has ended"),
        other => other,
    }
}

/// RFC 8693 token exchange of a voice session for a tool token.
pub async fn exchange(
    state: &AppState,
    client: &AgentClient,
    req: ExchangeRequest,
) -> Result<IssuedToolToken> {
    if req.grant_type != TOKEN_EXCHANGE_GRANT {
        return Err(Error::UnsupportedGrantType);
    }
    if req.subject_token_type.as_deref() != Some(VOICE_SESSION_TOKEN_TYPE) {
        return Err(Error::refused(format!(
            "`subject_token_type` must be {VOICE_SESSION_TOKEN_TYPE}."
        )));
    }
    if req
        .requested_token_type
        .as_deref()
        .is_some_and(|t| t != ISSUED_TOKEN_TYPE)
    {
        return Err(Error::refused(format!(
            "`requested_token_type` may only be {ISSUED_TOKEN_TYPE}."
        )));
    }
    let resource = req
        .resource
        .as_deref()
        .ok_or(Error::InvalidTarget)
        .and_then(|r| Resource::parse(r).map_err(|_| Error::InvalidTarget))?;
    if !client.serves_audience(resource.as_str()) {
        return Err(Error::InvalidTarget);
    }
    let session_id = req
        .subject_token
        .as_deref()
        .and_then(|t| VoiceSessionId::parse(t).ok())
        .ok_or(Error::InvalidGrant("unknown voice session"))?;
    let session = session_for(state, client, &session_id)
        .await
        .map_err(as_grant_error)?;
    let user_id = session.user_id.clone().ok_or(Error::InvalidGrant(
        "no caller has been verified in this voice session",
    ))?;
    let user = state
        .db
        .user(&user_id)
        .await?
        .filter(|u| u.suspended_at.is_none())
        .ok_or(Error::InvalidGrant("the caller's account is not usable"))?;

    let allowed = client.scopes.intersection(&Scopes::from_words(
        user.permissions.iter().map(String::as_str),
    ));
    let scopes = match req.scope.as_deref() {
        Some(asked) => Scopes::parse(asked).map_err(|_| Error::InvalidScope)?,
        // Nothing asked: everything allowed except moving money.
        None => allowed.without(Scope::Transact),
    };
    if scopes.is_empty() || !scopes.is_subset(&allowed) {
        audit_refusal(&user_id, client, "invalid_scope", &session_id);
        return Err(Error::InvalidScope);
    }

    let now = state.now();
    let mut expires_at = (now + MAX_TOOL_TOKEN_SECONDS).min(session.expires_at);
    let mut details = Vec::new();
    if scopes.contains(Scope::Transact) {
        let step_up = session
            .step_up
            .as_ref()
            .filter(|s| !s.used && now < s.expires_at)
            .ok_or(Error::InvalidGrant(
                "transact needs a transaction the caller confirmed in this call",
            ))?;
        if !state.db.use_step_up(&session_id, &step_up.id, now).await? {
            audit_refusal(&user_id, client, "step_up_already_used", &session_id);
            return Err(Error::InvalidGrant(
                "the confirmed transaction was already used",
            ));
        }
        let transaction = Transaction::from_canonical(&step_up.transaction)
            .ok_or_else(|| Error::internal("a stored transaction no longer parses"))?;
        expires_at = expires_at.min(step_up.expires_at);
        details.push(TransactionDetails {
            details_type: TRANSACTION_DETAILS_TYPE.into(),
            step_up_id: step_up.id.clone(),
            transaction,
        });
    }
    let claims = ToolClaims {
        iss: state.config.token_issuer.clone(),
        aud: resource.as_str().to_owned(),
        sub: user_id.to_string(),
        iat: now,
        nbf: now,
        exp: expires_at,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        client_id: client.client_id.to_string(),
        act: Actor {
            sub: client.client_id.to_string(),
        },
        sid: session_id.to_string(),
        scope: scopes.to_string(),
        caller_proof: session
            .caller_proof
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        authorization_details: details.clone(),
    };
    let token = access_tokens::sign_as(&*state.secrets().await?, TOOL_TOKEN_TYPE, &claims)?;
    audit::record(
        "tool_token_issued",
        Some(user_id.as_str()),
        Outcome::Success,
        &claims.scope,
        Some(&format!(
            "session_id={session_id} client_id={} aud={} jti={}",
            client.client_id, claims.aud, claims.jti
        )),
    );
    Ok(IssuedToolToken {
        access_token: token,
        issued_token_type: ISSUED_TOKEN_TYPE,
        token_type: "Bearer",
        expires_in: expires_at - now,
        scope: claims.scope,
        authorization_details: details,
    })
}

fn audit_refusal(user: &UserId, client: &AgentClient, reason: &str, session: &VoiceSessionId) {
    audit::record(
        "tool_token_issued",
        Some(user.as_str()),
        Outcome::Failure,
        reason,
        Some(&format!(
            "session_id={session} client_id={}",
            client.client_id
        )),
    );
}

/// RFC 7662: whether a tool token is active for the asking client (a tool
/// server introspects only tokens for its own audience). A `transact` token
/// is active for its first introspection only: that is its single use.
pub async fn introspect(state: &AppState, client: &AgentClient, token: &str) -> Result<Value> {
    let inactive = json!({ "active": false });
    let Some(claims) = active_claims(state, client, token).await? else {
        return Ok(inactive);
    };
    if claims
        .scope
        .split(' ')
        .any(|s| s == Scope::Transact.as_str())
        && !state
            .db
            .spend_tool_token(&claims.jti, claims.exp + LEEWAY_SECONDS)
            .await?
    {
        audit::record(
            "tool_token_introspected",
            Some(&claims.sub),
            Outcome::Failure,
            "already_used",
            Some(&format!(
                "jti={} client_id={}",
                claims.jti, client.client_id
            )),
        );
        return Ok(inactive);
    }
    audit::record(
        "tool_token_introspected",
        Some(&claims.sub),
        Outcome::Success,
        "active",
        Some(&format!(
            "jti={} client_id={}",
            claims.jti, client.client_id
        )),
    );
    let mut answer = serde_json::to_value(&claims).map_err(Error::internal)?;
    answer["active"] = json!(true);
    answer["token_type"] = json!("Bearer");
    Ok(answer)
}

/// The token's claims when it is ours, unexpired, for this client's
/// audience, and its voice session (and app sign-in) still live.
async fn active_claims(
    state: &AppState,
    client: &AgentClient,
    token: &str,
) -> Result<Option<ToolClaims>> {
    let secrets = state.secrets().await?;
    let Ok(claims) = access_tokens::decode_ours::<ToolClaims>(
        &secrets,
        TOOL_TOKEN_TYPE,
        &state.config.token_issuer,
        None,
        token,
    ) else {
        return Ok(None);
    };
    let now = state.now();
    if now >= claims.exp
        || now + LEEWAY_SECONDS < claims.nbf
        || !client.serves_audience(&claims.aud)
    {
        return Ok(None);
    }
    let Ok(session_id) = VoiceSessionId::parse(&claims.sid) else {
        return Ok(None);
    };
    let Some(session) = state.db.voice_session(&session_id).await? else {
        return Ok(None);
    };
    if session.user_id.as_ref().map(UserId::as_str) != Some(&claims.sub)
        || !still_live(state, &session, now).await?
    {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// RFC 8414 authorization server metadata; endpoints under `base_url`.
pub fn metadata(state: &AppState, base_url: &str) -> Value {
    json!({
        "issuer": state.config.token_issuer,
        "jwks_uri": format!("{base_url}/.well-known/jwks.json"),
        "token_endpoint": format!("{base_url}/oauth/token"),
        "introspection_endpoint": format!("{base_url}/oauth/introspect"),
        "grant_types_supported": [TOKEN_EXCHANGE_GRANT],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "response_types_supported": [],
        "authorization_details_types_supported": [TRANSACTION_DETAILS_TYPE],
        "subject_token_types_supported": [VOICE_SESSION_TOKEN_TYPE],
    })
}
