//! `POST /auth/phone`, `POST /auth/phone/verify` and
//! `POST /auth/phone/verify/resend`: the signed-in user proves a number.

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::sms_sign_in::code_sent;
use super::{signed_in_user, HandlerResult};
use crate::domain::phone::{self, Standing};
use crate::edge::request::{json_body, json_body_or_default, RequestMeta};
use crate::edge::response::json_response;
use crate::state::AppState;
use crate::types::{OtpCode, Phone};

#[derive(Deserialize)]
struct ChangeBody {
    phone_number: Phone,
}

/// A new number for the account: it stays pending (codes keep going to the
/// verified number, if any) until the owner proves it.
pub async fn change(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let (_, user) = signed_in_user(state, req).await?;
    let body: ChangeBody = json_body(req)?;
    phone::change(state, &user, &body.phone_number, &meta.source_ip).await?;
    Ok(code_sent(state))
}

#[derive(Deserialize)]
struct VerifyBody {
    otp: OtpCode,
}

fn verified() -> Response<Body> {
    json_response(StatusCode::OK, &json!({"phone_verified": true}))
}

pub async fn verify(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let (_, user) = signed_in_user(state, req).await?;
    let body: VerifyBody = json_body(req)?;
    phone::verify(state, &user, &meta.source_ip, &body.otp).await?;
    Ok(verified())
}

/// Takes no fields; an empty body is fine.
#[derive(Default, Deserialize)]
struct ResendBody {}

pub async fn resend(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let (_, user) = signed_in_user(state, req).await?;
    let _: ResendBody = json_body_or_default(req)?;
    match phone::resend(state, &user, &meta.source_ip).await? {
        Standing::CodeSent => Ok(code_sent(state)),
        Standing::Verified => Ok(verified()),
    }
}
