//! `POST /auth/otp/request` and `POST /auth/otp/verify`: sign in with a code
//! sent by SMS to the account's verified number.

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;

use super::HandlerResult;
use crate::audit::{self, Outcome};
use crate::auth::{start_session, Proof};
use crate::error::ApiError;
use crate::http::{json_body, json_response, no_store_json, RequestMeta};
use crate::otp::{check_code, issue_code, CodeCheck, CodeRequest, Purpose, CODE_TTL_SECONDS};
use crate::phone;
use crate::state::AppState;
use crate::tokens::AuthMethod;
use crate::types::{OtpCode, UserId};

#[derive(Deserialize)]
struct RequestBody {
    user_id: UserId,
}

/// The 202 every code request answers, whoever the user is.
pub fn code_sent(state: &AppState) -> lambda_http::Response<lambda_http::Body> {
    json_response(
        StatusCode::ACCEPTED,
        &json!({
            "status": "sent",
            "channel": "sms",
            "expires_in": CODE_TTL_SECONDS,
            "resend_after": state.config.limits.otp_resend_after.seconds,
        }),
    )
}

/// Always the same 202 whether or not the user exists or has a verified phone.
pub async fn request(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let body: RequestBody = json_body(req)?;
    let user = state.db.user(&body.user_id).await?;
    let phone = match &user {
        Some(user) => phone::verified(&*state.secrets().await?, user)?,
        None => None,
    };
    issue_code(
        state,
        CodeRequest {
            purpose: Purpose::SignIn,
            user: &body.user_id,
            source: &meta.source_ip,
            destination: phone.as_ref(),
            destination_index: None,
            context: "",
        },
    )
    .await?;
    Ok(code_sent(state))
}

#[derive(Deserialize)]
struct VerifyBody {
    user_id: UserId,
    otp: OtpCode,
}

pub async fn verify(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let body: VerifyBody = json_body(req)?;
    check_code(
        state,
        CodeCheck {
            purpose: Purpose::SignIn,
            user: &body.user_id,
            source: &meta.source_ip,
            code: &body.otp,
            context: "",
        },
    )
    .await?;
    // A spent code belongs to a real user (decoys never verify); a user
    // deleted since is refused like a wrong code.
    let user = state
        .db
        .user(&body.user_id)
        .await?
        .ok_or(ApiError::OtpInvalid {
            attempts_remaining: 0,
        })?;
    // One factor never yields a session of an account that asks for two: the
    // code is spent, and the caller is told the password is needed too. Only
    // someone holding the code learns the account has a second factor.
    if user.suspended_at.is_some() {
        audit::record(
            "otp_verify",
            Some(user.user_id.as_str()),
            Outcome::Failure,
            "suspended",
            None,
        );
        return Err(ApiError::OtpInvalid {
            attempts_remaining: 0,
        });
    }
    if user.mfa_enabled {
        audit::record(
            "otp_verify",
            Some(user.user_id.as_str()),
            Outcome::Failure,
            "password_required",
            None,
        );
        return Err(ApiError::PasswordRequired);
    }
    let proof = Proof {
        amr: vec![AuthMethod::Otp, AuthMethod::Sms],
        two_factor_verified: false,
        platform: None,
    };
    let tokens = start_session(state, &user, proof).await?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}
