//! `POST /auth/otp/request` and `POST /auth/otp/verify`: sign in with a code
//! sent by SMS to the account's verified number.

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::HandlerResult;
use crate::domain::codes::CODE_TTL_SECONDS;
use crate::domain::sms_sign_in;
use crate::edge::request::{json_body, RequestMeta};
use crate::edge::response::{json_response, no_store_json};
use crate::state::AppState;
use crate::types::{OtpCode, UserId};

#[derive(Deserialize)]
struct RequestBody {
    user_id: UserId,
}

/// The 202 every code request answers, whoever the user is.
pub fn code_sent(state: &AppState) -> Response<Body> {
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

pub async fn request(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let body: RequestBody = json_body(req)?;
    sms_sign_in::request_code(state, &body.user_id, &meta.source_ip).await?;
    Ok(code_sent(state))
}

#[derive(Deserialize)]
struct VerifyBody {
    user_id: UserId,
    otp: OtpCode,
}

pub async fn verify(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let body: VerifyBody = json_body(req)?;
    let tokens = sms_sign_in::verify_code(state, &body.user_id, &body.otp, &meta.source_ip).await?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}
