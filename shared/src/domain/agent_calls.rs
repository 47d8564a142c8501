//! The voice agent's side of a call: the agent deployment authenticates as a
//! client, opens a voice session for a caller who joined without the app,
//! signs the caller in by the user id and code they speak, and has the caller
//! confirm a described transaction by code (PSD2 dynamic linking).
//!
//! The agent never receives the caller's app tokens: a proven caller is bound
//! to the voice session, and what the agent may then do is a tool token
//! (`domain::tool_tokens`) for exactly that session.

use std::sync::Arc;

use base64::Engine;
use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::adapters::secrets::AgentClient;
use crate::adapters::store::users::User;
use crate::adapters::store::voice_sessions::{OpenError, StepUp, VoiceSession};
use crate::domain::audit::{self, Outcome};
use crate::domain::codes::{self, CodeCheck, CodeRequest, Purpose};
use crate::domain::error::{Error, Result};
use crate::domain::livekit;
use crate::domain::phone;
use crate::state::AppState;
use crate::types::{
    CallerProof, OtpCode, SourceIp, TokenText, Transaction, UserId, VoiceSessionId, VoiceStatus,
};

/// How long an agent-opened voice session allows sign-in, step-ups and tool
/// tokens (the same hour an app session gets).
pub const AGENT_SESSION_SECONDS: i64 = 3_600;

/// How long a confirmed transaction may be turned into a tool token.
pub const STEP_UP_SECONDS: i64 = 300;

/// A client authenticated by `client_secret_basic`.
pub struct Client {
    clients: Arc<crate::adapters::secrets::AgentClients>,
    index: usize,
}

impl std::ops::Deref for Client {
    type Target = AgentClient;
    fn deref(&self) -> &AgentClient {
        self.clients.get(self.index)
    }
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn basic_credentials(authorization: &str) -> Option<(String, String)> {
    let (scheme, encoded) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

/// Authenticates the calling client from its one `Authorization` header.
/// Every failure is the same `invalid_client`, so nothing is learned.
pub async fn authenticate_client(state: &AppState, authorization: Option<&str>) -> Result<Client> {
    let clients = state.agent_clients().await?;
    let refused = || {
        audit::record(
            "agent_client",
            None,
            Outcome::Failure,
            "invalid_client",
            None,
        );
        Error::InvalidClient
    };
    let (id, secret) = authorization
        .and_then(basic_credentials)
        .ok_or_else(refused)?;
    let index = clients.authenticate(&id, &secret).ok_or_else(refused)?;
    Ok(Client { clients, index })
}

/// A voice session this client may act in, still live, whose app sign-in (if
/// any) has not been revoked. Unknown and foreign sessions read the same.
pub async fn session_for(
    state: &AppState,
    client: &AgentClient,
    session_id: &VoiceSessionId,
) -> Result<VoiceSession> {
    let session = state
        .db
        .voice_session(session_id)
        .await?
        .ok_or(Error::VoiceSessionNotFound)?;
    let ours = session.opened_by.as_ref() == Some(&client.client_id)
        || session.agents.iter().any(|a| client.runs_agent(a));
    if !ours {
        return Err(Error::VoiceSessionNotFound);
    }
    if !still_live(state, &session, state.now()).await? {
        return Err(Error::VoiceSessionEnded);
    }
    Ok(session)
}

/// Whether anything may still happen in the session: it has not ended or
/// expired, and the app sign-in behind it (if any) has not been revoked.
pub async fn still_live(state: &AppState, session: &VoiceSession, now: i64) -> Result<bool> {
    if !session.is_live(now) {
        return Ok(false);
    }
    let Some(sid) = &session.auth_session_id else {
        return Ok(true);
    };
    Ok(state.db.session(sid).await?.is_some_and(|s| s.is_live(now)))
}

/// Opens a voice session for a caller already in `room_name` (for example
/// by phone through LiveKit SIP) as `participant_identity`.
pub async fn open(
    state: &AppState,
    client: &AgentClient,
    room_name: &TokenText,
    participant_identity: &TokenText,
) -> Result<VoiceSession> {
    if client.agent_names.is_empty() {
        return Err(Error::Forbidden);
    }
    if livekit::session_id_of_room(room_name.as_str()).is_some() {
        return Err(Error::RoomTaken);
    }
    if participant_identity
        .as_str()
        .starts_with(livekit::IDENTITY_PREFIX)
    {
        return Err(Error::refused(
            "`participant_identity` is in the namespace of app callers.",
        ));
    }
    let now = state.now();
    let session = VoiceSession {
        session_id: VoiceSessionId::new_random(),
        user_id: None,
        caller_proof: None,
        auth_session_id: None,
        room_name: room_name.as_str().to_owned(),
        identity: participant_identity.as_str().to_owned(),
        platform: None,
        status: VoiceStatus::Active,
        started_at: now,
        expires_at: now + AGENT_SESSION_SECONDS,
        joined_at: Some(now),
        ended_at: None,
        duration_seconds: None,
        agents: client.agent_names.clone(),
        opened_by: Some(client.client_id.clone()),
        pending_user: None,
        step_up: None,
    };
    let retain_until = now + state.config.voice_session_retention.as_secs() as i64;
    match state
        .db
        .open_room_voice_session(&session, retain_until)
        .await
    {
        Ok(()) => {}
        Err(OpenError::RoomTaken) => return Err(Error::RoomTaken),
        Err(OpenError::Store(e)) => return Err(e.into()),
    }
    audit::record(
        "voice_session_opened",
        None,
        Outcome::Success,
        "agent",
        Some(&format!(
            "session_id={} client_id={}",
            session.session_id, client.client_id
        )),
    );
    Ok(session)
}

/// The caller as the agent may greet them.
#[derive(Debug, Serialize)]
pub struct VerifiedCaller {
    pub session_id: VoiceSessionId,
    pub user_id: UserId,
    pub full_name: String,
    pub permissions: Vec<String>,
    pub caller_proof: CallerProof,
}

/// A user who may be texted a code: exists, not suspended, verified number.
async fn textable(
    state: &AppState,
    user_id: &UserId,
) -> Result<Option<(User, crate::types::Phone)>> {
    let Some(user) = state.db.user(user_id).await? else {
        return Ok(None);
    };
    if user.suspended_at.is_some() {
        return Ok(None);
    }
    let phone = phone::verified(&*state.secrets().await?, &user)?;
    Ok(phone.map(|p| (user, p)))
}

/// Texts an in-call sign-in code to the spoken user's verified number. The
/// answer is the same whether or not the user exists, has a number, or is
/// someone other than the app user the session already belongs to.
pub async fn request_sign_in_code(
    state: &AppState,
    client: &AgentClient,
    session_id: &VoiceSessionId,
    user_id: &UserId,
    source: &SourceIp,
) -> Result<()> {
    let session = session_for(state, client, session_id).await?;
    let other_caller = session.user_id.as_ref().is_some_and(|u| u != user_id);
    if state
        .db
        .set_pending_caller(session_id, user_id, state.now())
        .await?
        .is_none()
    {
        return Err(Error::VoiceSessionEnded);
    }
    let destination = if other_caller {
        audit::record(
            "in_call_code",
            Some(user_id.as_str()),
            Outcome::Failure,
            "not_the_sessions_caller",
            Some(&format!("session_id={session_id}")),
        );
        None
    } else {
        textable(state, user_id).await?.map(|(_, phone)| phone)
    };
    codes::issue_code(
        state,
        CodeRequest {
            purpose: Purpose::InCall,
            user: user_id,
            source,
            destination: destination.as_ref(),
            destination_index: None,
            voice_session: Some(session_id),
            context: session_id.as_str(),
            remembered: None,
            confirms: None,
        },
    )
    .await
}

/// Checks the spoken code for the user it was asked for and binds that user
/// to the voice session.
pub async fn verify_sign_in_code(
    state: &AppState,
    client: &AgentClient,
    session_id: &VoiceSessionId,
    code: &OtpCode,
    source: &SourceIp,
) -> Result<VerifiedCaller> {
    let session = session_for(state, client, session_id).await?;
    let max_attempts = state.config.limits.otp_attempts_per_code;
    let Some(user_id) = session.pending_user.clone() else {
        return Err(Error::OtpInvalid {
            attempts_remaining: (max_attempts - 1).max(0) as u32,
        });
    };
    codes::check_code(
        state,
        CodeCheck {
            purpose: Purpose::InCall,
            user: &user_id,
            source,
            code,
            context: session_id.as_str(),
            expect_remembered: None,
        },
    )
    .await?;
    // A spent code belongs to a real user; one suspended since is refused
    // like a wrong code.
    let refused = || Error::OtpInvalid {
        attempts_remaining: 0,
    };
    let (user, _) = textable(state, &user_id).await?.ok_or_else(refused)?;
    let bound = state
        .db
        .bind_caller(&session, &user.user_id, state.now())
        .await?
        .ok_or(Error::VoiceSessionEnded)?;
    let proof = bound.caller_proof.unwrap_or(CallerProof::InCallCode);
    audit::record(
        "in_call_sign_in",
        Some(user.user_id.as_str()),
        Outcome::Success,
        proof.as_str(),
        Some(&format!(
            "session_id={session_id} client_id={}",
            client.client_id
        )),
    );
    Ok(VerifiedCaller {
        session_id: session_id.clone(),
        user_id: user.user_id,
        full_name: user.full_name.as_str().to_owned(),
        permissions: user.permissions,
        caller_proof: proof,
    })
}

/// The caller bound to a session, or why there is none.
fn caller_of(session: &VoiceSession) -> Result<&UserId> {
    session.user_id.as_ref().ok_or(Error::CallerNotVerified)
}

/// Texts the caller a code that confirms exactly `transaction`; the SMS
/// names its amount and payee.
pub async fn request_step_up(
    state: &AppState,
    client: &AgentClient,
    session_id: &VoiceSessionId,
    transaction: &Transaction,
    source: &SourceIp,
) -> Result<()> {
    let session = session_for(state, client, session_id).await?;
    let user_id = caller_of(&session)?;
    let (_, phone) = textable(state, user_id)
        .await?
        .ok_or(Error::CallerNotVerified)?;
    let canonical = transaction.canonical();
    let spoken = transaction.spoken();
    codes::issue_code(
        state,
        CodeRequest {
            purpose: Purpose::StepUp,
            user: user_id,
            source,
            destination: Some(&phone),
            destination_index: None,
            voice_session: Some(session_id),
            context: session_id.as_str(),
            remembered: Some(&canonical),
            confirms: Some(&spoken),
        },
    )
    .await?;
    audit::record(
        "step_up_requested",
        Some(user_id.as_str()),
        Outcome::Success,
        transaction.kind.as_str(),
        Some(&format!(
            "session_id={session_id} amount={} {}",
            transaction.amount.as_str(),
            transaction.currency.as_str()
        )),
    );
    Ok(())
}

/// A transaction the caller confirmed, usable once until `expires_at`.
#[derive(Debug, Serialize)]
pub struct ConfirmedStepUp {
    pub step_up_id: String,
    pub transaction: Transaction,
    pub expires_at: i64,
}

/// Checks the code the caller spoke against the pending step-up. When the
/// agent names the transaction too, it must be exactly the one texted.
pub async fn verify_step_up(
    state: &AppState,
    client: &AgentClient,
    session_id: &VoiceSessionId,
    code: &OtpCode,
    expected: Option<&Transaction>,
    source: &SourceIp,
) -> Result<ConfirmedStepUp> {
    let session = session_for(state, client, session_id).await?;
    let user_id = caller_of(&session)?.clone();
    let expected = expected.map(Transaction::canonical);
    let spent = codes::check_code(
        state,
        CodeCheck {
            purpose: Purpose::StepUp,
            user: &user_id,
            source,
            code,
            context: session_id.as_str(),
            expect_remembered: expected.as_deref(),
        },
    )
    .await?;
    let canonical = spent
        .remembered
        .ok_or_else(|| Error::internal("a step-up code without its transaction"))?;
    let transaction = Transaction::from_canonical(&canonical)
        .ok_or_else(|| Error::internal("a stored transaction no longer parses"))?;
    let now = state.now();
    let step_up = StepUp {
        id: uuid::Uuid::new_v4().simple().to_string(),
        transaction: canonical,
        expires_at: (now + STEP_UP_SECONDS).min(session.expires_at),
        used: false,
    };
    state
        .db
        .confirm_step_up(session_id, &user_id, &step_up, now)
        .await?
        .ok_or(Error::VoiceSessionEnded)?;
    audit::record(
        "step_up_confirmed",
        Some(user_id.as_str()),
        Outcome::Success,
        transaction.kind.as_str(),
        Some(&format!(
            "session_id={session_id} step_up_id={}",
            step_up.id
        )),
    );
    Ok(ConfirmedStepUp {
        step_up_id: step_up.id,
        transaction,
        expires_at: step_up.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_follow_rfc_6749() {
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            basic_credentials(&format!("Basic {}", enc("banking-assistant:s3cr%3At"))),
            Some(("banking-assistant".into(), "s3cr:t".into()))
        );
        assert_eq!(
            basic_credentials(&format!("basic {}", enc("a:b+c"))),
            Some(("a".into(), "b c".into()))
        );
        for bad in [
            "Bearer abc".to_owned(),
            "Basic".to_owned(),
            "Basic !!!".to_owned(),
            format!("Basic {}", enc("no-colon")),
        ] {
            assert_eq!(basic_credentials(&bad), None, "{bad}");
        }
    }
}
