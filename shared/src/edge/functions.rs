//! The Lambda functions: which routes each serves, and the AWS access each
//! route needs. Every function's `main.rs` serves its entry here; the tests
//! hold template.yaml's routes and IAM policies against this table, and
//! `App::handle` holds every request's real AWS calls against it.

use crate::adapters::aws_calls::Access;
use crate::edge::Route;

/// One Lambda function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function {
    /// The Cargo binary, and the suffix of the deployed function's name.
    pub name: &'static str,
    pub routes: &'static [Route],
}

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

pub const HEALTH: Function = Function {
    name: "health",
    routes: &[
        Route::Health,
        Route::Jwks,
        Route::OpenApi,
        Route::OAuthMetadata,
    ],
};
pub const REGISTER: Function = Function {
    name: "register",
    routes: &[Route::Register],
};
pub const LOGIN: Function = Function {
    name: "login",
    routes: &[Route::Login],
};
pub const AUTH_SESSION: Function = Function {
    name: "auth-session",
    routes: &[Route::Refresh, Route::Logout, Route::Me],
};
pub const PHONE: Function = Function {
    name: "phone",
    routes: &[
        Route::PhoneChange,
        Route::PhoneVerify,
        Route::PhoneVerifyResend,
    ],
};
pub const OTP_REQUEST: Function = Function {
    name: "otp-request",
    routes: &[Route::OtpRequest],
};
pub const OTP_VERIFY: Function = Function {
    name: "otp-verify",
    routes: &[Route::OtpVerify],
};
pub const CONNECTION_DETAILS: Function = Function {
    name: "connection-details",
    routes: &[Route::ConnectionDetails],
};
pub const LIVEKIT_WEBHOOK: Function = Function {
    name: "livekit-webhook",
    routes: &[Route::LiveKitWebhook],
};
pub const ADMIN_LIVEKIT_TOKENS: Function = Function {
    name: "admin-livekit-tokens",
    routes: &[Route::AdminLiveKitTokens],
};

pub const AGENT_CALLS: Function = Function {
    name: "agent-calls",
    routes: &[
        Route::VoiceSessionOpen,
        Route::InCallCode,
        Route::InCallCodeVerify,
        Route::StepUp,
        Route::StepUpVerify,
    ],
};
pub const OAUTH: Function = Function {
    name: "oauth",
    routes: &[Route::OAuthToken, Route::OAuthIntrospect],
};

/// Passkey registration, listing, removal and sign-in.
pub const PASSKEYS: Function = Function {
    name: "passkeys",
    routes: &[
        Route::PasskeyRegisterStart,
        Route::PasskeyRegisterFinish,
        Route::PasskeyList,
        Route::PasskeyDelete,
        Route::PasskeySignInStart,
        Route::PasskeySignInFinish,
    ],
};
/// Sign-in with a trusted identity provider's ID token.
pub const OIDC_SIGN_IN: Function = Function {
    name: "oidc-sign-in",
    routes: &[Route::OidcSignIn],
};

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
            // Limits and lock, the user by email, the session; the MFA code.
            Route::Login => &[
                AppSecret, GetItem, PutItem, UpdateItem, DeleteItem, PublishSms,
            ],
            Route::Refresh => &[AppSecret, GetItem, UpdateItem],
            Route::Logout => &[AppSecret, UpdateItem],
            Route::Me => &[AppSecret, GetItem],
            Route::OtpRequest => &[AppSecret, GetItem, PutItem, UpdateItem, PublishSms],
            Route::OtpVerify => &[AppSecret, GetItem, PutItem, UpdateItem, DeleteItem],
            Route::PhoneChange | Route::PhoneVerifyResend => {
                &[AppSecret, GetItem, PutItem, UpdateItem, PublishSms]
            }
            Route::PhoneVerify => &[AppSecret, GetItem, PutItem, UpdateItem, DeleteItem],
            Route::ConnectionDetails => &[AppSecret, LiveKitSecret, GetItem, PutItem, UpdateItem],
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
            // The session, the code's attempt, failure counters; the binding.
            Route::InCallCodeVerify | Route::StepUpVerify => &[
                AgentClientsSecret,
                AppSecret,
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
            Route::PasskeyRegisterStart => &[AppSecret, GetItem, PutItem, UpdateItem, Query],
            // The session and user; the ceremony's single use; passkey, pointer and count.
            Route::PasskeyRegisterFinish => &[AppSecret, GetItem, PutItem, UpdateItem],
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
