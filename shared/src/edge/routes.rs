//! Every route of the API: method, path, and the key API Gateway names it by.

use http::Method;

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
}

impl Route {
    pub const ALL: [Route; 16] = [
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
    ];

    pub fn method(self) -> Method {
        match self {
            Route::Health | Route::Jwks | Route::OpenApi | Route::Me => Method::GET,
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
        }
    }

    /// `METHOD /path`, as API Gateway names routes.
    pub fn key(self) -> String {
        format!("{} {}", self.method(), self.path())
    }
}
