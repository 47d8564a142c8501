//! One module per area; `dispatch` maps a matched route to its handler.

mod accounts;
mod admin;
mod health;
mod otp;
mod phone;
mod session;
mod voice;

use lambda_http::{Body, Request, Response};

use crate::app::Route;
use crate::error::ApiError;
use crate::http::RequestMeta;
use crate::state::AppState;

pub type HandlerResult = Result<Response<Body>, ApiError>;

pub async fn dispatch(
    state: &AppState,
    route: Route,
    meta: &RequestMeta,
    req: Request,
) -> HandlerResult {
    match route {
        Route::Health => health::health(state).await,
        Route::Jwks => health::jwks(state).await,
        Route::OpenApi => Ok(health::openapi()),
        Route::Register => accounts::register(state, meta, &req).await,
        Route::Login => accounts::login(state, meta, &req).await,
        Route::Refresh => session::refresh(state, &req).await,
        Route::Logout => session::logout(state, &req).await,
        Route::Me => session::me(state, &req).await,
        Route::OtpRequest => otp::request(state, meta, &req).await,
        Route::OtpVerify => otp::verify(state, meta, &req).await,
        Route::PhoneChange => phone::change(state, meta, &req).await,
        Route::PhoneVerify => phone::verify(state, meta, &req).await,
        Route::PhoneVerifyResend => phone::resend(state, meta, &req).await,
        Route::ConnectionDetails => voice::connection_details(state, meta, &req).await,
        Route::LiveKitWebhook => voice::webhook(state, &req).await,
        Route::AdminLiveKitTokens => admin::livekit_tokens(state, &req).await,
    }
}
