//! `POST /auth/phone`, `POST /auth/phone/verify` and
//! `POST /auth/phone/verify/resend`: the signed-in user proves a number.

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;

use super::otp::code_sent;
use super::HandlerResult;
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::http::{json_body, json_body_or_default, json_response, RequestMeta};
use crate::phone;
use crate::state::AppState;
use crate::store::users::User;
use crate::types::{OtpCode, Phone};

async fn signed_in_user(state: &AppState, req: &Request) -> Result<User, ApiError> {
    let auth = authenticate(state, req).await?;
    state
        .db
        .user(&auth.session.user_id)
        .await?
        .ok_or(ApiError::InvalidToken)
}

#[derive(Deserialize)]
struct ChangeBody {
    phone_number: Phone,
}

/// A new number for the account: it stays pending (codes keep going to the
/// verified number, if any) until the owner proves it.
pub async fn change(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let user = signed_in_user(state, req).await?;
    let body: ChangeBody = json_body(req)?;
    phone::change(state, &user, &body.phone_number, &meta.source_ip).await?;
    Ok(code_sent(state))
}

#[derive(Deserialize)]
struct VerifyBody {
    otp: OtpCode,
}

fn verified() -> lambda_http::Response<lambda_http::Body> {
    json_response(StatusCode::OK, &json!({"phone_verified": true}))
}

pub async fn verify(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let user = signed_in_user(state, req).await?;
    let body: VerifyBody = json_body(req)?;
    if user.pending_phone.is_none() && user.phone.is_some() {
        return Ok(verified());
    }
    phone::verify(state, &user, &meta.source_ip, &body.otp).await?;
    Ok(verified())
}

#[derive(Default, Deserialize)]
struct ResendBody {}

pub async fn resend(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let user = signed_in_user(state, req).await?;
    let _: ResendBody = json_body_or_default(req)?;
    if user.pending_phone.is_none() && user.phone.is_some() {
        return Ok(verified());
    }
    phone::send_verification(state, &user, &meta.source_ip).await?;
    Ok(code_sent(state))
}
