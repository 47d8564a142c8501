//! `POST /auth/otp/request` and `POST /auth/otp/verify`.

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;

use super::HandlerResult;
use crate::auth::{start_session, Proof};
use crate::error::ApiError;
use crate::http::{json_body, json_response, no_store_json, RequestMeta};
use crate::otp::{check_code, issue_code, CODE_TTL_SECONDS, RESEND_AFTER_SECONDS};
use crate::state::AppState;
use crate::tokens::AuthMethod;
use crate::types::{OtpCode, UserId};

#[derive(Deserialize)]
struct RequestBody {
    user_id: UserId,
}

/// Always the same 202 whether or not the user exists or has a phone.
pub async fn request(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let body: RequestBody = json_body(req)?;
    let user = state.db.user(&body.user_id).await?;
    let phone = user.as_ref().and_then(|u| u.phone.as_ref());
    issue_code(state, meta, &body.user_id, phone).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({
            "status": "sent",
            "channel": "sms",
            "expires_in": CODE_TTL_SECONDS,
            "resend_after": RESEND_AFTER_SECONDS,
        }),
    ))
}

#[derive(Deserialize)]
struct VerifyBody {
    user_id: UserId,
    otp: OtpCode,
}

pub async fn verify(state: &AppState, req: &Request) -> HandlerResult {
    let body: VerifyBody = json_body(req)?;
    check_code(state, &body.user_id, &body.otp).await?;
    // A spent code belongs to a real user (decoys never verify); a user
    // deleted since is refused like a wrong code.
    let user = state
        .db
        .user(&body.user_id)
        .await?
        .ok_or(ApiError::OtpInvalid {
            attempts_remaining: 0,
        })?;
    let proof = Proof {
        amr: vec![AuthMethod::Otp, AuthMethod::Sms],
        two_factor_verified: false,
        platform: None,
    };
    let tokens = start_session(state, &user, proof).await?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}
