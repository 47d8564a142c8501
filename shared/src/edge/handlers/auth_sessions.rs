//! `POST /auth/refresh`, `POST /auth/logout`, `GET /auth/me`.

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;

use super::{signed_in_user, HandlerResult};
use crate::domain::auth_sessions::{self, RefreshToken};
use crate::edge::error::ApiError;
use crate::edge::request::{bearer_token, json_body};
use crate::edge::response::{empty_response, no_store_json};
use crate::state::AppState;

#[derive(Deserialize)]
struct RefreshBody {
    /// Kept as text: a token that is not shaped like ours is an invalid
    /// token (401), not a malformed request.
    refresh_token: String,
}

pub async fn refresh(state: &AppState, req: &Request) -> HandlerResult {
    let body: RefreshBody = json_body(req)?;
    let presented = RefreshToken::parse(&body.refresh_token).ok_or_else(ApiError::invalid_token)?;
    let tokens = auth_sessions::refresh(state, &presented).await?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}

pub async fn logout(state: &AppState, req: &Request) -> HandlerResult {
    let token = bearer_token(req).ok_or_else(ApiError::invalid_token)?;
    auth_sessions::logout(state, token).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub async fn me(state: &AppState, req: &Request) -> HandlerResult {
    let (auth, user) = signed_in_user(state, req).await?;
    let body = json!({
        "user_id": user.user_id,
        "email": user.email,
        "full_name": user.full_name,
        // The verified number if there is one, else the one waiting for proof.
        "phone_number": user.phone.as_ref().or(user.pending_phone.as_ref()).map(|p| &p.masked),
        "phone_verified": user.phone.is_some(),
        "pending_phone_number": user.phone.as_ref().and(user.pending_phone.as_ref()).map(|p| &p.masked),
        "roles": user.roles,
        "permissions": user.permissions,
        "mfa_enabled": user.mfa_enabled,
        "created_at": user.created_at,
        "session": {
            "sid": auth.session.sid,
            "amr": auth.claims.amr,
            "platform": auth.claims.platform,
            "two_factor_verified": auth.claims.two_factor_verified,
            "biometric_verified": auth.claims.biometric_verified,
            "idp": auth.claims.idp,
        },
    });
    Ok(no_store_json(StatusCode::OK, &body))
}
