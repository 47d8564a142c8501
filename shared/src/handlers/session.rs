//! `POST /auth/refresh`, `POST /auth/logout`, `GET /auth/me`.

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;

use super::HandlerResult;
use crate::audit::{self, Outcome};
use crate::auth::{
    authenticate, new_refresh_token, refresh_hash, refresh_token_sid, token_response,
};
use crate::error::ApiError;
use crate::http::{empty_response, json_body, no_store_json};
use crate::state::AppState;
use crate::store::sessions::Rotation;

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

pub async fn refresh(state: &AppState, req: &Request) -> HandlerResult {
    let body: RefreshBody = json_body(req)?;
    let sid = refresh_token_sid(&body.refresh_token).ok_or(ApiError::InvalidToken)?;
    let now = state.now();
    let (next_token, next_hash) = new_refresh_token(sid);
    let session = match state
        .db
        .rotate_refresh(sid, &refresh_hash(&body.refresh_token), &next_hash, now)
        .await?
    {
        Rotation::Rotated(session) => session,
        Rotation::Reused => {
            audit::record(
                "refresh",
                None,
                Outcome::Locked,
                "refresh_token_reuse_session_revoked",
                Some(&format!("sid={sid}")),
            );
            return Err(ApiError::InvalidToken);
        }
        Rotation::Refused => {
            audit::record(
                "refresh",
                None,
                Outcome::Failure,
                "unknown_or_dead_session",
                None,
            );
            return Err(ApiError::InvalidToken);
        }
    };
    // The user is read again so role changes reach the next access token;
    // a deleted user ends the session.
    let Some(user) = state.db.user(&session.user_id).await? else {
        state.db.revoke_session(sid, now, "user_gone").await?;
        return Err(ApiError::InvalidToken);
    };
    audit::record(
        "refresh",
        Some(user.user_id.as_str()),
        Outcome::Success,
        "rotated",
        Some(&format!("sid={sid}")),
    );
    let tokens = token_response(state, &user, &session, next_token).await?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}

pub async fn logout(state: &AppState, req: &Request) -> HandlerResult {
    let auth = authenticate(state, req).await?;
    state
        .db
        .revoke_session(&auth.session.sid, state.now(), "logout")
        .await?;
    audit::record(
        "logout",
        Some(&auth.claims.sub),
        Outcome::Success,
        "session_revoked",
        Some(&format!("sid={}", auth.session.sid)),
    );
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub async fn me(state: &AppState, req: &Request) -> HandlerResult {
    let auth = authenticate(state, req).await?;
    let user = state
        .db
        .user(&auth.session.user_id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let body = json!({
        "user_id": user.user_id,
        "email": user.email,
        "full_name": user.full_name,
        "phone_number": user.phone.as_ref().map(|p| p.masked()),
        "roles": user.roles,
        "permissions": user.permissions,
        "mfa_enabled": user.mfa_enabled,
        "created_at": user.created_at,
        "session": {
            "sid": auth.session.sid,
            "amr": auth.claims.amr,
            "platform": auth.claims.platform,
            "two_factor_verified": auth.claims.two_factor_verified,
        },
    });
    Ok(no_store_json(StatusCode::OK, &body))
}
