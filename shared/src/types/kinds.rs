//! Closed sets of values, each with the one spelling it is stored and sent as.

use serde::{Deserialize, Serialize};

/// How the caller proved who they are (RFC 8176 values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    Pwd,
    Otp,
    Sms,
    Mfa,
    /// Proof of possession of a hardware-secured key (a passkey).
    Hwk,
    /// The authenticator verified the user (biometric or device PIN).
    User,
    /// Signed in through a trusted external identity provider (OIDC); not
    /// an RFC 8176 value, which has none for federation.
    Fed,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Pwd => "pwd",
            AuthMethod::Otp => "otp",
            AuthMethod::Sms => "sms",
            AuthMethod::Mfa => "mfa",
            AuthMethod::Hwk => "hwk",
            AuthMethod::User => "user",
            AuthMethod::Fed => "fed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pwd" => AuthMethod::Pwd,
            "otp" => AuthMethod::Otp,
            "sms" => AuthMethod::Sms,
            "mfa" => AuthMethod::Mfa,
            "hwk" => AuthMethod::Hwk,
            "user" => AuthMethod::User,
            "fed" => AuthMethod::Fed,
            _ => return None,
        })
    }
}

/// What a code proves; each has its own slot, limits and failure counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePurpose {
    /// `/auth/otp/*`: sign in with a code alone.
    SignIn,
    /// Login's second factor, asked for after a right password.
    Mfa,
    /// Proving a phone number belongs to the signed-in user.
    PhoneVerification,
    /// The voice agent signing the caller in during a call, by spoken code.
    InCall,
    /// The caller confirming one described transaction during a call.
    StepUp,
}

impl CodePurpose {
    /// Names the purpose in keys and audit lines.
    pub fn name(self) -> &'static str {
        match self {
            CodePurpose::SignIn => "signin",
            CodePurpose::Mfa => "mfa",
            CodePurpose::PhoneVerification => "phone",
            CodePurpose::InCall => "incall",
            CodePurpose::StepUp => "stepup",
        }
    }
}

/// Why an auth session ended before its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationReason {
    Logout,
    /// A rotated refresh token came back after the grace window.
    RefreshTokenReuse,
    UserGone,
    UserSuspended,
}

impl RevocationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Logout => "logout",
            RevocationReason::RefreshTokenReuse => "refresh_token_reuse",
            RevocationReason::UserGone => "user_gone",
            RevocationReason::UserSuspended => "user_suspended",
        }
    }
}

/// A voice session's life: issued with its token, active once the caller
/// joined, ended when they left or the room closed. It only moves forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VoiceStatus {
    Issued,
    Active,
    Ended,
}

impl VoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VoiceStatus::Issued => "issued",
            VoiceStatus::Active => "active",
            VoiceStatus::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "issued" => VoiceStatus::Issued,
            "active" => VoiceStatus::Active,
            "ended" => VoiceStatus::Ended,
            _ => return None,
        })
    }
}

/// How a voice session's caller was identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerProof {
    /// Signed in to the app, which asked for the connection details.
    App,
    /// Spoke their user id and the code texted to their verified number.
    InCallCode,
}

impl CallerProof {
    pub fn as_str(self) -> &'static str {
        match self {
            CallerProof::App => "app",
            CallerProof::InCallCode => "in_call_code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [CallerProof::App, CallerProof::InCallCode]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// The client platform named at login; it travels in the tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Web,
    Mobile,
    Voice,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Web => "web",
            Platform::Mobile => "mobile",
            Platform::Voice => "voice",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web" => Some(Platform::Web),
            "mobile" => Some(Platform::Mobile),
            "voice" => Some(Platform::Voice),
            _ => None,
        }
    }
}

/// At most `limit` hits per `seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub limit: i64,
    pub seconds: i64,
}
