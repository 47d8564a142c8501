//! The one error type at the HTTP edge. Every failure a handler can meet ends
//! up as an `ApiError`, which renders as RFC 9457 problem+json with a stable
//! `code`: the edge's own refusals (media type, size, parsing, routes), and
//! the domain's answers mapped once, below. Internal causes are logged and
//! never sent to the client.

use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::domain::error::{chain, Cause, Error as DomainError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request's shape is wrong (the detail names the field, never its value).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge { limit_bytes: usize },
    #[error("not found")]
    NotFound,
    /// What the domain's rules answered.
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// What a client should wait before retrying after a 503: dependencies that
/// fail are usually throttled or briefly unreachable.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 2;

/// The fixed part of a problem document: HTTP status, stable code, title.
struct Kind(StatusCode, &'static str, &'static str);

/// A malformed request and a request the rules refuse as asked read the same to a client.
const INVALID_REQUEST: Kind = Kind(
    StatusCode::BAD_REQUEST,
    "invalid_request",
    "Invalid request",
);

impl ApiError {
    /// A missing, malformed or unverifiable bearer or refresh token.
    pub fn invalid_token() -> Self {
        DomainError::InvalidToken.into()
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        ApiError::InvalidRequest(detail.into())
    }

    pub fn internal(cause: impl Into<Cause>) -> Self {
        DomainError::internal(cause).into()
    }

    /// Seconds a client should wait before trying again, where that applies.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Domain(DomainError::RateLimited { retry_after }) => {
                Some((*retry_after).max(1))
            }
            ApiError::Domain(DomainError::Unavailable(_)) => Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind().0
    }

    /// The stable snake_case code clients switch on.
    pub fn code(&self) -> &'static str {
        self.kind().1
    }

    fn kind(&self) -> Kind {
        use DomainError as D;
        use StatusCode as S;
        match self {
            ApiError::InvalidRequest(_) => INVALID_REQUEST,
            ApiError::UnsupportedMediaType => Kind(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            ApiError::PayloadTooLarge { .. } => Kind(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
            ),
            ApiError::NotFound => Kind(S::NOT_FOUND, "not_found", "Not found"),
            ApiError::Domain(e) => match e {
                D::Refused(_) => INVALID_REQUEST,
                D::InvalidCredentials => Kind(
                    S::UNAUTHORIZED,
                    "invalid_credentials",
                    "Invalid credentials",
                ),
                D::MfaRequired => Kind(S::UNAUTHORIZED, "mfa_required", "Second factor required"),
                D::PasswordRequired => {
                    Kind(S::UNAUTHORIZED, "password_required", "Password required")
                }
                D::OtpInvalid { .. } => Kind(S::UNAUTHORIZED, "otp_invalid", "Invalid code"),
                D::OtpExpired => Kind(S::UNAUTHORIZED, "otp_expired", "Code expired"),
                D::OtpAttemptsExceeded => Kind(
                    S::UNAUTHORIZED,
                    "otp_attempts_exceeded",
                    "Too many attempts",
                ),
                D::InvalidToken => Kind(S::UNAUTHORIZED, "invalid_token", "Invalid token"),
                D::RateLimited { .. } => {
                    Kind(S::TOO_MANY_REQUESTS, "rate_limited", "Too many requests")
                }
                D::Forbidden => Kind(S::FORBIDDEN, "forbidden", "Forbidden"),
                D::RegistrationDisabled => Kind(
                    S::FORBIDDEN,
                    "registration_disabled",
                    "Registration disabled",
                ),
                D::EmailTaken => Kind(S::CONFLICT, "email_taken", "Email already registered"),
                D::PhoneLimitReached => Kind(
                    S::CONFLICT,
                    "phone_limit_reached",
                    "Phone number limit reached",
                ),
                D::InvalidClient => Kind(S::UNAUTHORIZED, "invalid_client", "Invalid client"),
                D::VoiceSessionNotFound => Kind(
                    S::NOT_FOUND,
                    "voice_session_not_found",
                    "Voice session not found",
                ),
                D::VoiceSessionEnded => {
                    Kind(S::CONFLICT, "voice_session_ended", "Voice session ended")
                }
                D::CallerNotVerified => {
                    Kind(S::CONFLICT, "caller_not_verified", "Caller not verified")
                }
                D::RoomTaken => Kind(S::CONFLICT, "room_taken", "Room already has a session"),
                D::InvalidGrant(_) => Kind(S::BAD_REQUEST, "invalid_grant", "Invalid grant"),
                D::PasskeyRefused | D::IdTokenRefused => Kind(
                    S::UNAUTHORIZED,
                    "invalid_credentials",
                    "Invalid credentials",
                ),
                D::EmailUnverified => Kind(S::FORBIDDEN, "email_unverified", "Email not verified"),
                D::NotFound => Kind(S::NOT_FOUND, "not_found", "Not found"),
                D::ReauthenticationRequired => Kind(
                    S::FORBIDDEN,
                    "reauthentication_required",
                    "Recent sign-in required",
                ),
                D::InvalidScope => Kind(S::BAD_REQUEST, "invalid_scope", "Invalid scope"),
                D::InvalidTarget => Kind(S::BAD_REQUEST, "invalid_target", "Invalid target"),
                D::UnsupportedGrantType => Kind(
                    S::BAD_REQUEST,
                    "unsupported_grant_type",
                    "Unsupported grant type",
                ),
                D::Unavailable(_) => Kind(
                    S::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "Service unavailable",
                ),
                D::Internal(_) => Kind(S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            },
        }
    }

    /// What the client may read about this error.
    pub fn detail(&self) -> String {
        match self {
            ApiError::InvalidRequest(detail) => detail.clone(),
            ApiError::UnsupportedMediaType => "Send the body as application/json.".into(),
            ApiError::PayloadTooLarge { limit_bytes } => {
                format!("The body is larger than {} KiB.", limit_bytes / 1024)
            }
            ApiError::NotFound => "No such route.".into(),
            ApiError::Domain(e) => domain_detail(e),
        }
    }

    /// The problem+json document for this error.
    pub fn problem(&self, request_id: &str) -> Value {
        let mut doc = Map::new();
        doc.insert(
            "type".into(),
            json!(format!("urn:voicegate:error:{}", self.code())),
        );
        doc.insert("title".into(), json!(self.kind().2));
        doc.insert("status".into(), json!(self.status().as_u16()));
        doc.insert("detail".into(), json!(self.detail()));
        doc.insert("code".into(), json!(self.code()));
        doc.insert("request_id".into(), json!(request_id));
        let ApiError::Domain(domain) = self else {
            return Value::Object(doc);
        };
        match domain {
            DomainError::OtpInvalid { attempts_remaining } => {
                doc.insert("attempts_remaining".into(), json!(attempts_remaining));
            }
            DomainError::OtpAttemptsExceeded => {
                doc.insert("attempts_remaining".into(), json!(0));
            }
            DomainError::RateLimited { retry_after } => {
                doc.insert("retry_after".into(), json!(retry_after));
            }
            _ => {}
        }
        Value::Object(doc)
    }

    /// The internal cause and what caused it, for the log line only.
    pub fn cause(&self) -> Option<String> {
        let ApiError::Domain(DomainError::Unavailable(c) | DomainError::Internal(c)) = self else {
            return None;
        };
        Some(chain(c.as_ref()))
    }
}

/// What a client may read about a domain answer: never an internal cause.
fn domain_detail(e: &DomainError) -> String {
    use DomainError as D;
    let text = match e {
        D::Refused(reason) => return reason.clone(),
        D::RateLimited { retry_after } => return format!("Try again in {retry_after} seconds."),
        D::InvalidCredentials => "The email or password is wrong.",
        D::MfaRequired => "A verification code was sent by SMS; repeat the login with otp_code.",
        D::PasswordRequired => {
            "This account signs in with its password and a code: use /auth/login."
        }
        D::OtpInvalid { .. } => "The code is wrong or there is no pending code.",
        D::OtpExpired => "The code has expired; request a new one.",
        D::OtpAttemptsExceeded => "Too many wrong codes; request a new one.",
        D::InvalidToken => "The token is missing, invalid, expired or revoked.",
        D::Forbidden => "The caller is not allowed to do this.",
        D::EmailTaken => "An account with this email already exists.",
        D::PhoneLimitReached => "This phone number already serves as many accounts as allowed.",
        D::RegistrationDisabled => "Registration is turned off.",
        D::InvalidClient => "The client credentials are missing or wrong.",
        D::VoiceSessionNotFound => "No such voice session for this client.",
        D::VoiceSessionEnded => "The voice session has ended.",
        D::CallerNotVerified => {
            "No caller is signed in to this voice session yet, or they cannot receive a code."
        }
        D::RoomTaken => "This room already has a voice session; use its session_id.",
        D::InvalidGrant(reason) => reason,
        D::InvalidScope => "The scope asked for is unknown or beyond what is allowed.",
        D::InvalidTarget => "The resource is not a tool server this client may call.",
        D::UnsupportedGrantType => {
            "Only urn:ietf:params:oauth:grant-type:token-exchange is supported."
        }
        D::PasskeyRefused => "The passkey could not be verified; start a new ceremony.",
        D::IdTokenRefused => {
            "The ID token is invalid, expired, already used, or not from a trusted provider."
        }
        D::EmailUnverified => {
            "The identity provider has not verified this email, so it cannot sign in here."
        }
        D::NotFound => "No such item.",
        D::ReauthenticationRequired => "Sign in again, then repeat this within a few minutes.",
        D::Unavailable(_) => "A dependency is unavailable; try again shortly.",
        D::Internal(_) => "Something went wrong on our side.",
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_cause_is_not_rendered() {
        let e = ApiError::internal("dynamodb said: secret table arn");
        let doc = e.problem("req-1").to_string();
        assert!(!doc.contains("dynamodb"), "{doc}");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            e.cause().as_deref(),
            Some("dynamodb said: secret table arn")
        );
    }

    #[test]
    fn problem_has_contract_fields() {
        let doc = ApiError::from(DomainError::OtpInvalid {
            attempts_remaining: 2,
        })
        .problem("r");
        for key in ["type", "title", "status", "detail", "code", "request_id"] {
            assert!(doc.get(key).is_some(), "{key}");
        }
        assert_eq!(doc["code"], "otp_invalid");
        assert_eq!(doc["attempts_remaining"], 2);
        assert_eq!(doc["status"], 401);
    }
}
