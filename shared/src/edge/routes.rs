//! Every route of the API: method, path, and the key API Gateway names it by.

use http::Method;

/// What a route's path template captured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathArgs {
    pub session_id: Option<String>,
    pub passkey_id: Option<String>,
}

/// Every route of the API. Each Lambda serves a subset; the local API serves all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    Health,
    Jwks,
    OpenApi,
    Register,
    Login,
    Refresh,
    Logout,
    Me,
    OtpRequest,
    OtpVerify,
    PhoneChange,
    PhoneVerify,
    PhoneVerifyResend,
    ConnectionDetails,
    LiveKitWebhook,
    AdminLiveKitTokens,
    VoiceSessionOpen,
    InCallCode,
    InCallCodeVerify,
    StepUp,
    StepUpVerify,
    OAuthToken,
    OAuthIntrospect,
    OAuthMetadata,
    PasskeyRegisterStart,
    PasskeyRegisterFinish,
    PasskeyList,
    PasskeyDelete,
    PasskeySignInStart,
    PasskeySignInFinish,
    OidcSignIn,
}

impl Route {
    pub const ALL: [Route; 31] = [
        Route::Health,
        Route::Jwks,
        Route::OpenApi,
        Route::Register,
        Route::Login,
        Route::Refresh,
        Route::Logout,
        Route::Me,
        Route::OtpRequest,
        Route::OtpVerify,
        Route::PhoneChange,
        Route::PhoneVerify,
        Route::PhoneVerifyResend,
        Route::ConnectionDetails,
        Route::LiveKitWebhook,
        Route::AdminLiveKitTokens,
        Route::VoiceSessionOpen,
        Route::InCallCode,
        Route::InCallCodeVerify,
        Route::StepUp,
        Route::StepUpVerify,
        Route::OAuthToken,
        Route::OAuthIntrospect,
        Route::OAuthMetadata,
        Route::PasskeyRegisterStart,
        Route::PasskeyRegisterFinish,
        Route::PasskeyList,
        Route::PasskeyDelete,
        Route::PasskeySignInStart,
        Route::PasskeySignInFinish,
        Route::OidcSignIn,
    ];

    pub fn method(self) -> Method {
        match self {
            Route::Health
            | Route::Jwks
            | Route::OpenApi
            | Route::Me
            | Route::OAuthMetadata
            | Route::PasskeyList => Method::GET,
            Route::PasskeyDelete => Method::DELETE,
            _ => Method::POST,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Route::Health => "/health",
            Route::Jwks => "/.well-known/jwks.json",
            Route::OpenApi => "/openapi.json",
            Route::Register => "/auth/register",
            Route::Login => "/auth/login",
            Route::Refresh => "/auth/refresh",
            Route::Logout => "/auth/logout",
            Route::Me => "/auth/me",
            Route::OtpRequest => "/auth/otp/request",
            Route::OtpVerify => "/auth/otp/verify",
            Route::PhoneChange => "/auth/phone",
            Route::PhoneVerify => "/auth/phone/verify",
            Route::PhoneVerifyResend => "/auth/phone/verify/resend",
            Route::ConnectionDetails => "/connection-details",
            Route::LiveKitWebhook => "/livekit/webhook",
            Route::AdminLiveKitTokens => "/admin/livekit-tokens",
            Route::VoiceSessionOpen => "/voice-sessions",
            Route::InCallCode => "/voice-sessions/{session_id}/otp",
            Route::InCallCodeVerify => "/voice-sessions/{session_id}/otp/verify",
            Route::StepUp => "/voice-sessions/{session_id}/step-up",
            Route::StepUpVerify => "/voice-sessions/{session_id}/step-up/verify",
            Route::OAuthToken => "/oauth/token",
            Route::OAuthIntrospect => "/oauth/introspect",
            Route::OAuthMetadata => "/.well-known/oauth-authorization-server",
            Route::PasskeyRegisterStart => "/auth/passkeys/register/start",
            Route::PasskeyRegisterFinish => "/auth/passkeys/register/finish",
            Route::PasskeyList => "/auth/passkeys",
            Route::PasskeyDelete => "/auth/passkeys/{passkey_id}",
            Route::PasskeySignInStart => "/auth/passkeys/login/start",
            Route::PasskeySignInFinish => "/auth/passkeys/login/finish",
            Route::OidcSignIn => "/auth/oidc",
        }
    }

    /// Matches a request path against this route's template; the value of
    /// its `{session_id}` segment, if it has one.
    pub fn capture(self, path: &str) -> Option<PathArgs> {
        let mut args = PathArgs::default();
        let mut got = path.split('/');
        for want in self.path().split('/') {
            let segment = got.next()?;
            if want == "{session_id}" && !segment.is_empty() {
                args.session_id = Some(segment.to_owned());
            } else if want == "{passkey_id}" && !segment.is_empty() {
                args.passkey_id = Some(segment.to_owned());
            } else if want != segment {
                return None;
            }
        }
        got.next().is_none().then_some(args)
    }

    /// Answers errors the OAuth way (RFC 6749 §5.2), not as problem+json.
    pub fn speaks_oauth(self) -> bool {
        matches!(self, Route::OAuthToken | Route::OAuthIntrospect)
    }

    /// `METHOD /path`, as API Gateway names routes.
    pub fn key(self) -> String {
        format!("{} {}", self.method(), self.path())
    }
}
