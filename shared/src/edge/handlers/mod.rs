//! One module per area. A handler reads the request (bearer token, typed
//! body), calls the domain, and shapes the answer; the rules live in
//! `domain`. `handle!` maps a matched route to its handler.

pub(crate) mod accounts;
pub(crate) mod admin;
pub(crate) mod agent_calls;
pub(crate) mod auth_sessions;
pub(crate) mod health;
pub(crate) mod oauth;
pub(crate) mod oidc;
pub(crate) mod passkeys;
pub(crate) mod phone;
pub(crate) mod sms_sign_in;
pub(crate) mod voice;

use std::future::Future;
use std::pin::Pin;

use lambda_http::{Body, Request, Response};

use crate::adapters::store::users::User;
use crate::domain::auth_sessions::{authenticate, authenticate_user, Authenticated};
use crate::edge::error::ApiError;
use crate::edge::request::{bearer_token, RequestMeta};
use crate::edge::routes::{PathArgs, Route};
use crate::state::AppState;

pub type HandlerResult = Result<Response<Body>, ApiError>;

/// A boxed handler future: one allocation per request keeps the handlers'
/// nested futures out of every caller's type (and its compile-time layout
/// queries).
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = HandlerResult> + Send + 'a>>;

/// Runs a matched route's handler. Each Lambda function gets one built by
/// [`dispatcher!`] over its own routes only, so its binary links only their
/// code (and the crates behind it: argon2 in `login`, webauthn-rs in
/// `passkeys`), not the whole API.
pub type Dispatch =
    for<'a> fn(&'a AppState, Route, &'a PathArgs, &'a RequestMeta, Request) -> HandlerFuture<'a>;

/// The call that answers one route: the one table from route to handler.
macro_rules! handle {
    (Health, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::health::health($state).await
    };
    (Jwks, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::health::jwks($state).await
    };
    (OpenApi, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        Ok($crate::edge::handlers::health::openapi())
    };
    (Register, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::accounts::register($state, $meta, &$req).await
    };
    (Login, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::accounts::login($state, $meta, &$req).await
    };
    (Refresh, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::auth_sessions::refresh($state, &$req).await
    };
    (Logout, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::auth_sessions::logout($state, &$req).await
    };
    (Me, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::auth_sessions::me($state, &$req).await
    };
    (OtpRequest, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::sms_sign_in::request($state, $meta, &$req).await
    };
    (OtpVerify, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::sms_sign_in::verify($state, $meta, &$req).await
    };
    (PhoneChange, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::phone::change($state, $meta, &$req).await
    };
    (PhoneVerify, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::phone::verify($state, $meta, &$req).await
    };
    (PhoneVerifyResend, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::phone::resend($state, $meta, &$req).await
    };
    (ConnectionDetails, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::voice::connection_details($state, $meta, &$req).await
    };
    (LiveKitWebhook, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::voice::webhook($state, &$req).await
    };
    (AdminLiveKitTokens, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::admin::livekit_tokens($state, &$req).await
    };
    (VoiceSessionOpen, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::agent_calls::open($state, &$req).await
    };
    (InCallCode, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::agent_calls::request_code($state, $args, $meta, &$req).await
    };
    (InCallCodeVerify, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::agent_calls::verify_code($state, $args, $meta, &$req).await
    };
    (StepUp, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::agent_calls::request_step_up($state, $args, $meta, &$req).await
    };
    (StepUpVerify, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::agent_calls::verify_step_up($state, $args, $meta, &$req).await
    };
    (OAuthToken, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::oauth::token($state, &$req).await
    };
    (OAuthIntrospect, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::oauth::introspect($state, &$req).await
    };
    (OAuthMetadata, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::oauth::metadata($state, &$req)
    };
    (PasskeyRegisterStart, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::passkeys::register_start($state, $meta, &$req).await
    };
    (PasskeyRegisterFinish, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::passkeys::register_finish($state, &$req).await
    };
    (PasskeyList, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::passkeys::list($state, &$req).await
    };
    (PasskeyDelete, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::passkeys::remove($state, $args, &$req).await
    };
    (PasskeySignInStart, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::passkeys::sign_in_start($state, $meta).await
    };
    (PasskeySignInFinish, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::passkeys::sign_in_finish($state, &$req).await
    };
    (OidcSignIn, $state:ident, $args:ident, $meta:ident, $req:ident) => {
        $crate::edge::handlers::oidc::sign_in($state, $meta, &$req).await
    };
}
pub(crate) use handle;

/// A [`Dispatch`] over the routes given; any other route is 404 (the router
/// never passes one, since a function matches only its own routes).
macro_rules! dispatcher {
    ($($route:ident),+ $(,)?) => {{
        #[allow(unused_variables)]
        fn dispatch<'a>(
            state: &'a $crate::state::AppState,
            route: $crate::edge::routes::Route,
            args: &'a $crate::edge::routes::PathArgs,
            meta: &'a $crate::edge::request::RequestMeta,
            req: ::lambda_http::Request,
        ) -> $crate::edge::handlers::HandlerFuture<'a> {
            Box::pin(async move {
                match route {
                    $($crate::edge::routes::Route::$route => {
                        $crate::edge::handlers::handle!($route, state, args, meta, req)
                    })+
                    #[allow(unreachable_patterns)]
                    _ => Err($crate::edge::error::ApiError::NotFound),
                }
            })
        }
        dispatch as $crate::edge::handlers::Dispatch
    }};
}
pub(crate) use dispatcher;

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
