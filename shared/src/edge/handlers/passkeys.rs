//! Passkeys: `POST /auth/passkeys/register/start` and `/finish`, `GET
//! /auth/passkeys`, `DELETE /auth/passkeys/{passkey_id}` (signed in), and
//! `POST /auth/passkeys/login/start` and `/finish` (anyone).

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::{signed_in, signed_in_user, HandlerResult};
use crate::domain::passkeys;
use crate::edge::error::ApiError;
use crate::edge::request::{json_body, RequestMeta};
use crate::edge::response::{empty_response, no_store_json};
use crate::edge::routes::PathArgs;
use crate::state::AppState;
use crate::types::{CeremonyId, PasskeyId, PasskeyName, Platform};

pub async fn register_start(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let (auth, user) = signed_in_user(state, req).await?;
    let started = passkeys::start_registration(state, &auth, &user, &meta.source_ip).await?;
    Ok(no_store_json(StatusCode::OK, &started))
}

#[derive(Deserialize)]
struct RegisterFinish {
    ceremony_id: CeremonyId,
    /// The browser's `PublicKeyCredential` from `navigator.credentials.create()`, as JSON.
    credential: RegisterPublicKeyCredential,
    name: Option<PasskeyName>,
}

pub async fn register_finish(state: &AppState, req: &Request) -> HandlerResult {
    let (_, user) = signed_in_user(state, req).await?;
    let body: RegisterFinish = json_body(req)?;
    let passkey =
        passkeys::finish_registration(state, &user, &body.ceremony_id, &body.credential, body.name)
            .await?;
    Ok(no_store_json(StatusCode::CREATED, &passkey))
}

pub async fn list(state: &AppState, req: &Request) -> HandlerResult {
    let auth = signed_in(state, req).await?;
    let list = passkeys::list(state, &auth.session.user_id).await?;
    Ok(no_store_json(StatusCode::OK, &json!({ "passkeys": list })))
}

pub async fn remove(state: &AppState, args: &PathArgs, req: &Request) -> HandlerResult {
    let auth = signed_in(state, req).await?;
    // A malformed id names no passkey of anyone's.
    let id = args
        .passkey_id
        .as_deref()
        .and_then(|id| PasskeyId::parse(id).ok())
        .ok_or(ApiError::Domain(crate::domain::error::Error::NotFound))?;
    passkeys::remove(state, &auth.session.user_id, &id).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub async fn sign_in_start(state: &AppState, meta: &RequestMeta) -> HandlerResult {
    let started = passkeys::start_sign_in(state, &meta.source_ip).await?;
    Ok(no_store_json(StatusCode::OK, &started))
}

#[derive(Deserialize)]
struct SignInFinish {
    ceremony_id: CeremonyId,
    /// The browser's `PublicKeyCredential` from `navigator.credentials.get()`, as JSON.
    credential: PublicKeyCredential,
    platform: Option<Platform>,
}

pub async fn sign_in_finish(state: &AppState, req: &Request) -> HandlerResult {
    let body: SignInFinish = json_body(req)?;
    let tokens =
        passkeys::finish_sign_in(state, &body.ceremony_id, &body.credential, body.platform).await?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}
