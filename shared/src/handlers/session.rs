//! `POST /auth/refresh`, `POST /auth/logout`, `GET /auth/me`.

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;

use super::HandlerResult;
use crate::audit::{self, Outcome};
use crate::auth::{authenticate, refresh_hash, refresh_token_sid, successor_token, token_response};
use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::http::{empty_response, json_body, no_store_json};
use crate::state::AppState;
use crate::store::sessions::{AuthSession, Rotation};

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

pub async fn refresh(state: &AppState, req: &Request) -> HandlerResult {
    let body: RefreshBody = json_body(req)?;
    let presented = body.refresh_token.as_str();
    let sid = refresh_token_sid(presented).ok_or(ApiError::InvalidToken)?;
    let now = state.now();
    let secrets = state.secrets().await?;
    let successor = successor_token(&secrets.refresh_successor_key, sid, presented);
    let (presented_hash, successor_hash) = (refresh_hash(presented), refresh_hash(&successor));
    let session = match state
        .db
        .rotate_refresh(sid, &presented_hash, &successor_hash, now)
        .await?
    {
        Rotation::Rotated(session) => session,
        Rotation::NotCurrent {
            session,
            was_rotated,
        } => {
            if is_retry_within_grace(state, &session, &presented_hash, &successor_hash, now) {
                // The client lost the answer to the rotation it caused: the
                // same successor again, nothing rotated, nothing revoked.
                audit::record(
                    "refresh",
                    Some(session.user_id.as_str()),
                    Outcome::Success,
                    "retry_within_grace",
                    Some(&format!("sid={sid}")),
                );
                session
            } else if was_rotated {
                state
                    .db
                    .revoke_session(sid, now, "refresh_token_reuse")
                    .await?;
                audit::record(
                    "refresh",
                    Some(session.user_id.as_str()),
                    Outcome::Locked,
                    "refresh_token_reuse_session_revoked",
                    Some(&format!("sid={sid}")),
                );
                return Err(ApiError::InvalidToken);
            } else {
                audit::record(
                    "refresh",
                    None,
                    Outcome::Failure,
                    "unknown_or_dead_session",
                    None,
                );
                return Err(ApiError::InvalidToken);
            }
        }
        Rotation::Unknown => {
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
    let user = match state.db.user(&session.user_id).await? {
        Some(user) if user.suspended_at.is_none() => user,
        gone_or_suspended => {
            let reason = if gone_or_suspended.is_some() {
                "user_suspended"
            } else {
                "user_gone"
            };
            state.db.revoke_session(sid, now, reason).await?;
            audit::record(
                "refresh",
                Some(session.user_id.as_str()),
                Outcome::Failure,
                reason,
                Some(&format!("sid={sid}")),
            );
            return Err(ApiError::InvalidToken);
        }
    };
    audit::record(
        "refresh",
        Some(user.user_id.as_str()),
        Outcome::Success,
        "rotated",
        Some(&format!("sid={sid}")),
    );
    let tokens = token_response(state, &secrets, &user, &session, successor)?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}

/// A presented token that is the one just rotated away, within the grace
/// window, whose successor is still the session's current token, in a live
/// session: a client retrying after a lost response.
fn is_retry_within_grace(
    state: &AppState,
    session: &AuthSession,
    presented_hash: &str,
    successor_hash: &str,
    now: UnixTime,
) -> bool {
    let grace = state.config.limits.refresh_reuse_grace_seconds;
    grace > 0
        && session.is_live(now)
        && session.prev_hash.as_deref() == Some(presented_hash)
        && session.refresh_hash == successor_hash
        && session.rotated_at.is_some_and(|at| now - at <= grace)
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
        },
    });
    Ok(no_store_json(StatusCode::OK, &body))
}
