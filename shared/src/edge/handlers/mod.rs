//! One module per area. A handler reads the request (bearer token, typed
//! body), calls the domain, and shapes the answer; the rules live in
//! `domain`. `dispatch` maps a matched route to its handler.

mod accounts;
mod admin;
mod agent_calls;
mod auth_sessions;
mod health;
mod oauth;
mod oidc;
mod passkeys;
mod phone;
mod sms_sign_in;
mod voice;

use lambda_http::{Body, Request, Response};

use crate::adapters::store::users::User;
use crate::domain::auth_sessions::{authenticate, authenticate_user, Authenticated};
use crate::edge::error::ApiError;
use crate::edge::request::{bearer_token, RequestMeta};
use crate::edge::routes::{PathArgs, Route};
use crate::state::AppState;

pub type HandlerResult = Result<Response<Body>, ApiError>;

pub async fn dispatch(
    state: &AppState,
    route: Route,
    args: &PathArgs,
    meta: &RequestMeta,
    req: Request,
) -> HandlerResult {
    match route {
        Route::Health => health::health(state).await,
        Route::Jwks => health::jwks(state).await,
        Route::OpenApi => Ok(health::openapi()),
        Route::Register => accounts::register(state, meta, &req).await,
        Route::Login => accounts::login(state, meta, &req).await,
        Route::Refresh => auth_sessions::refresh(state, &req).await,
        Route::Logout => auth_sessions::logout(state, &req).await,
        Route::Me => auth_sessions::me(state, &req).await,
        Route::OtpRequest => sms_sign_in::request(state, meta, &req).await,
        Route::OtpVerify => sms_sign_in::verify(state, meta, &req).await,
        Route::PhoneChange => phone::change(state, meta, &req).await,
        Route::PhoneVerify => phone::verify(state, meta, &req).await,
        Route::PhoneVerifyResend => phone::resend(state, meta, &req).await,
        Route::ConnectionDetails => voice::connection_details(state, meta, &req).await,
        Route::LiveKitWebhook => voice::webhook(state, &req).await,
        Route::AdminLiveKitTokens => admin::livekit_tokens(state, &req).await,
        Route::VoiceSessionOpen => agent_calls::open(state, &req).await,
        Route::InCallCode => agent_calls::request_code(state, args, meta, &req).await,
        Route::InCallCodeVerify => agent_calls::verify_code(state, args, meta, &req).await,
        Route::StepUp => agent_calls::request_step_up(state, args, meta, &req).await,
        Route::StepUpVerify => agent_calls::verify_step_up(state, args, meta, &req).await,
        Route::OAuthToken => oauth::token(state, &req).await,
        Route::OAuthIntrospect => oauth::introspect(state, &req).await,
        Route::OAuthMetadata => oauth::metadata(state, &req),
        Route::PasskeyRegisterStart => passkeys::register_start(state, meta, &req).await,
        Route::PasskeyRegisterFinish => passkeys::register_finish(state, &req).await,
        Route::PasskeyList => passkeys::list(state, &req).await,
        Route::PasskeyDelete => passkeys::remove(state, args, &req).await,
        Route::PasskeySignInStart => passkeys::sign_in_start(state, meta).await,
        Route::PasskeySignInFinish => passkeys::sign_in_finish(state, &req).await,
        Route::OidcSignIn => oidc::sign_in(state, meta, &req).await,
    }
}

/// The caller behind the request's bearer token, with a live session.
async fn signed_in(state: &AppState, req: &Request) -> Result<Authenticated, ApiError> {
    let token = bearer_token(req).ok_or_else(ApiError::invalid_token)?;
    Ok(authenticate(state, token).await?)
}

/// [`signed_in`], and the caller's user item read alongside the session.
async fn signed_in_user(
    state: &AppState,
    req: &Request,
) -> Result<(Authenticated, User), ApiError> {
    let token = bearer_token(req).ok_or_else(ApiError::invalid_token)?;
    Ok(authenticate_user(state, token).await?)
}
