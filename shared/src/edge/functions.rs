//! The Lambda functions: which routes each serves, and the AWS access each
//! route needs. Every function's `main.rs` serves its entry here; the tests
//! hold template.yaml's routes and IAM policies against this table, and
//! `App::handle` holds every request's real AWS calls against it.

use crate::adapters::aws_calls::Access;
use crate::edge::error::ApiError;
use crate::edge::handlers::{Dispatch, HandlerFuture};
use crate::edge::request::RequestMeta;
use crate::edge::routes::PathArgs;
use crate::edge::Route;
use crate::state::AppState;

/// One Lambda function.
#[derive(Clone, Copy)]
pub struct Function {
    /// The Cargo binary, and the suffix of the deployed function's name.
    pub name: &'static str,
    pub routes: &'static [Route],
    /// Its routes' handlers, and no other's: what the binary links.
    pub dispatch: Dispatch,
}

/// A function from its name and routes, with a dispatcher over those routes.
macro_rules! function {
    ($name:literal: $($route:ident),+ $(,)?) => {
        Function {
            name: $name,
            routes: &[$(Route::$route),+],
            dispatch: crate::edge::handlers::dispatcher!($($route),+),
        }
    };
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

/// Functions are equal when they are the same function (names are unique).
impl PartialEq for Function {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.routes == other.routes
    }
}
impl Eq for Function {}

impl Function {
    /// Every access any of its routes needs, sorted, once each.
    pub fn needs(&self) -> Vec<Access> {
        let mut all: Vec<Access> = self
            .routes
            .iter()
            .flat_map(|r| r.needs())
            .copied()
            .collect();
        all.sort();
        all.dedup();
        all
    }

    pub fn needs_app_secret(&self) -> bool {
        self.needs().contains(&Access::AppSecret)
    }

    pub fn needs_livekit_secret(&self) -> bool {
        self.needs().contains(&Access::LiveKitSecret)
    }

    pub fn sends_sms(&self) -> bool {
        self.needs().contains(&Access::PublishSms)
    }

    pub fn by_name(name: &str) -> Option<Function> {
        ALL.iter().copied().find(|f| f.name == name)
    }
}

pub const HEALTH: Function = function!("health": Health, Jwks, OpenApi, OAuthMetadata);
pub const REGISTER: Function = function!("register": Register);
pub const LOGIN: Function = function!("login": Login);
pub const AUTH_SESSION: Function = function!("auth-session": Refresh, Logout, Me);
pub const PHONE: Function = function!("phone": PhoneChange, PhoneVerify, PhoneVerifyResend);
pub const OTP_REQUEST: Function = function!("otp-request": OtpRequest);
pub const OTP_VERIFY: Function = function!("otp-verify": OtpVerify);
pub const CONNECTION_DETAILS: Function = function!("connection-details": ConnectionDetails);
pub const LIVEKIT_WEBHOOK: Function = function!("livekit-webhook": LiveKitWebhook);
pub const ADMIN_LIVEKIT_TOKENS: Function = function!("admin-livekit-tokens": AdminLiveKitTokens);

pub const AGENT_CALLS: Function =
    function!("agent-calls": VoiceSessionOpen, InCallCode, InCallCodeVerify, StepUp, StepUpVerify);
pub const OAUTH: Function = function!("oauth": OAuthToken, OAuthIntrospect);

/// Passkey registration, listing, removal and sign-in.
pub const PASSKEYS: Function = function!("passkeys": PasskeyRegisterStart, PasskeyRegisterFinish, PasskeyList, PasskeyDelete, PasskeySignInStart, PasskeySignInFinish);
/// Sign-in with a trusted identity provider's ID token.
pub const OIDC_SIGN_IN: Function = function!("oidc-sign-in": OidcSignIn);

pub const ALL: [Function; 14] = [
    HEALTH,
    REGISTER,
    LOGIN,
    AUTH_SESSION,
    PHONE,
    OTP_REQUEST,
    OTP_VERIFY,
    CONNECTION_DETAILS,
    LIVEKIT_WEBHOOK,
    ADMIN_LIVEKIT_TOKENS,
    AGENT_CALLS,
    OAUTH,
    PASSKEYS,
    OIDC_SIGN_IN,
];

/// Every route, each through the dispatcher of the function that serves it:
/// the local API and the tests serve the whole API from one process.
pub fn every_route<'a>(
    state: &'a AppState,
    route: Route,
    args: &'a PathArgs,
    meta: &'a RequestMeta,
    req: lambda_http::Request,
) -> HandlerFuture<'a> {
    match ALL.iter().find(|f| f.routes.contains(&route)) {
        Some(function) => (function.dispatch)(state, route, args, meta, req),
        None => Box::pin(async { Err(ApiError::NotFound) }),
    }
}

use Access::*;

impl Route {
    /// The AWS access this route's code may use, and nothing more.
    pub fn needs(self) -> &'static [Access] {
        match self {
            // Static: no dependency, so the health check survives any outage.
            Route::Health | Route::OpenApi | Route::OAuthMetadata => &[],
            Route::Jwks => &[AppSecret],
            // Limits, the user and its guards, the session, the phone's code.
            Route::Register => &[AppSecret, GetItem, PutItem, UpdateItem, PublishSms],
            // Limits and lock, the user by email, the session; the MFA code
            // and its failure windows (one read).
            Route::Login => &[
                AppSecret,
                BatchGetItem,
                GetItem,
                PutItem,
                UpdateItem,
                DeleteItem,
                PublishSms,
            ],
            Route::Refresh => &[AppSecret, GetItem, UpdateItem],
            Route::Logout => &[AppSecret, UpdateItem],
            // The session and the user, in one read.
            Route::Me => &[AppSecret, BatchGetItem],
            Route::OtpRequest => &[AppSecret, GetItem, PutItem, UpdateItem, PublishSms],
            // The code's attempt and failure windows (one read), the user, the session.
            Route::OtpVerify => &[
                AppSecret,
                BatchGetItem,
                GetItem,
                PutItem,
                UpdateItem,
                DeleteItem,
            ],
            Route::PhoneChange | Route::PhoneVerifyResend => &[
                AppSecret,
                BatchGetItem,
                GetItem,
                PutItem,
                UpdateItem,
                PublishSms,
            ],
            Route::PhoneVerify => &[
                AppSecret,
                BatchGetItem,
                GetItem,
                PutItem,
                UpdateItem,
                DeleteItem,
            ],
            // The session and user in one read; the two windows; the voice session.
            Route::ConnectionDetails => {
                &[AppSecret, LiveKitSecret, BatchGetItem, PutItem, UpdateItem]
            }
            Route::LiveKitWebhook => &[LiveKitSecret, GetItem, PutItem, UpdateItem, DeleteItem],
            Route::AdminLiveKitTokens => &[AppSecret, LiveKitSecret, GetItem],
            // The room's pointer and the session, in one transaction.
            Route::VoiceSessionOpen => &[AgentClientsSecret, PutItem],
            // The session, the user, limits, the code; the SMS.
            Route::InCallCode | Route::StepUp => &[
                AgentClientsSecret,
                AppSecret,
                GetItem,
                PutItem,
                UpdateItem,
                PublishSms,
            ],
            // The session, the code's attempt, failure counters (one read); the binding.
            Route::InCallCodeVerify | Route::StepUpVerify => &[
                AgentClientsSecret,
                AppSecret,
                BatchGetItem,
                GetItem,
                PutItem,
                UpdateItem,
                DeleteItem,
            ],
            // The session, its app sign-in, the user; the step-up's single use.
            Route::OAuthToken => &[AgentClientsSecret, AppSecret, GetItem, UpdateItem],
            // The session, its app sign-in; a transact token's single use.
            Route::OAuthIntrospect => &[AgentClientsSecret, AppSecret, GetItem, PutItem],
            // The session and user; the limit, the user's passkeys, the ceremony.
            Route::PasskeyRegisterStart => &[AppSecret, BatchGetItem, PutItem, UpdateItem, Query],
            // The session and user; the ceremony's single use; passkey, pointer and count.
            Route::PasskeyRegisterFinish => {
                &[AppSecret, BatchGetItem, GetItem, PutItem, UpdateItem]
            }
            Route::PasskeyList => &[AppSecret, GetItem, Query],
            // The session; passkey, pointer and count in one transaction.
            Route::PasskeyDelete => &[AppSecret, GetItem, DeleteItem, UpdateItem],
            // The limit, the ceremony.
            Route::PasskeySignInStart => &[PutItem, UpdateItem],
            // The ceremony's single use, pointer, passkey and user, the counter, the session.
            Route::PasskeySignInFinish => &[AppSecret, GetItem, PutItem, UpdateItem],
            // The limit, the token's single use, the link, the user (and its guards), the session.
            Route::OidcSignIn => &[AppSecret, GetItem, PutItem, UpdateItem],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_served_by_exactly_one_function() {
        for route in Route::ALL {
            let serving: Vec<&str> = ALL
                .iter()
                .filter(|f| f.routes.contains(&route))
                .map(|f| f.name)
                .collect();
            assert_eq!(serving.len(), 1, "{route:?} is served by {serving:?}");
        }
    }

    #[test]
    fn only_the_functions_that_text_may_publish() {
        let texting: Vec<&str> = ALL
            .iter()
            .filter(|f| f.sends_sms())
            .map(|f| f.name)
            .collect();
        assert_eq!(
            texting,
            ["register", "login", "phone", "otp-request", "agent-calls"]
        );
        assert!(
            !LOGIN.needs_livekit_secret(),
            "a LiveKit outage must not break login"
        );
        assert!(HEALTH.routes.iter().any(|r| r.needs().is_empty()));
    }
}
