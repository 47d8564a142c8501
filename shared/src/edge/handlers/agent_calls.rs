//! The agent's routes in a call, authenticated as a client
//! (`client_secret_basic`): `POST /voice-sessions` and, under
//! `/voice-sessions/{session_id}`, `otp`, `otp/verify`, `step-up` and
//! `step-up/verify`.

use http::StatusCode;
use lambda_http::Request;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::sms_sign_in::code_sent;
use super::HandlerResult;
use crate::domain::agent_calls::{self, Client};
use crate::domain::error::Error as DomainError;
use crate::edge::error::ApiError;
use crate::edge::request::{json_body, single_authorization, RequestMeta};
use crate::edge::response::{json_response, no_store_json};
use crate::edge::routes::PathArgs;
use crate::state::AppState;
use crate::types::{OtpCode, TokenText, Transaction, UserId, VoiceSessionId};

async fn client(state: &AppState, req: &Request) -> Result<Client, ApiError> {
    Ok(agent_calls::authenticate_client(state, single_authorization(req)).await?)
}

/// The session named in the path; a malformed id is as unknown as any other.
fn session_id(args: &PathArgs) -> Result<VoiceSessionId, ApiError> {
    args.session_id
        .as_deref()
        .and_then(|s| VoiceSessionId::parse(s).ok())
        .ok_or(ApiError::Domain(DomainError::VoiceSessionNotFound))
}

/// What every route under `/voice-sessions/{session_id}` reads first: the
/// client, the session named in the path, and the typed body.
async fn in_call<T: DeserializeOwned>(
    state: &AppState,
    args: &PathArgs,
    req: &Request,
) -> Result<(Client, VoiceSessionId, T), ApiError> {
    let client = client(state, req).await?;
    Ok((client, session_id(args)?, json_body(req)?))
}

#[derive(Deserialize)]
struct OpenBody {
    room_name: TokenText,
    participant_identity: TokenText,
}

pub async fn open(state: &AppState, req: &Request) -> HandlerResult {
    let client = client(state, req).await?;
    let body: OpenBody = json_body(req)?;
    let session =
        agent_calls::open(state, &client, &body.room_name, &body.participant_identity).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "session_id": session.session_id,
            "room_name": session.room_name,
            "participant_identity": session.identity,
            "expires_at": session.expires_at,
        }),
    ))
}

#[derive(Deserialize)]
struct CodeBody {
    user_id: UserId,
}

pub async fn request_code(
    state: &AppState,
    args: &PathArgs,
    meta: &RequestMeta,
    req: &Request,
) -> HandlerResult {
    let (client, sid, body): (_, _, CodeBody) = in_call(state, args, req).await?;
    agent_calls::request_sign_in_code(state, &client, &sid, &body.user_id, &meta.source_ip).await?;
    Ok(code_sent(state))
}

#[derive(Deserialize)]
struct VerifyBody {
    otp: OtpCode,
}

pub async fn verify_code(
    state: &AppState,
    args: &PathArgs,
    meta: &RequestMeta,
    req: &Request,
) -> HandlerResult {
    let (client, sid, body): (_, _, VerifyBody) = in_call(state, args, req).await?;
    let caller =
        agent_calls::verify_sign_in_code(state, &client, &sid, &body.otp, &meta.source_ip).await?;
    Ok(no_store_json(StatusCode::OK, &caller))
}

#[derive(Deserialize)]
struct StepUpBody {
    transaction: Transaction,
}

pub async fn request_step_up(
    state: &AppState,
    args: &PathArgs,
    meta: &RequestMeta,
    req: &Request,
) -> HandlerResult {
    let (client, sid, body): (_, _, StepUpBody) = in_call(state, args, req).await?;
    agent_calls::request_step_up(state, &client, &sid, &body.transaction, &meta.source_ip).await?;
    Ok(code_sent(state))
}

#[derive(Deserialize)]
struct StepUpVerifyBody {
    otp: OtpCode,
    /// When given, must be exactly the transaction the code was sent for.
    transaction: Option<Transaction>,
}

pub async fn verify_step_up(
    state: &AppState,
    args: &PathArgs,
    meta: &RequestMeta,
    req: &Request,
) -> HandlerResult {
    let (client, sid, body): (_, _, StepUpVerifyBody) = in_call(state, args, req).await?;
    let confirmed = agent_calls::verify_step_up(
        state,
        &client,
        &sid,
        &body.otp,
        body.transaction.as_ref(),
        &meta.source_ip,
    )
    .await?;
    Ok(no_store_json(StatusCode::OK, &confirmed))
}
