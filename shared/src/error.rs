//! The one error type at the HTTP edge. Every failure a handler can meet ends
//! up as an `ApiError`, which renders as RFC 9457 problem+json with a stable
//! `code`. Internal causes are logged here and never sent to the client.

use http::StatusCode;
use serde_json::{json, Map, Value};

/// Boxed internal cause, logged but never rendered.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("second factor required")]
    MfaRequired,
    #[error("password required")]
    PasswordRequired,
    #[error("one-time code invalid")]
    OtpInvalid { attempts_remaining: u32 },
    #[error("one-time code expired")]
    OtpExpired,
    #[error("one-time code attempts exceeded")]
    OtpAttemptsExceeded,
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    #[error("invalid token")]
    InvalidToken,
    #[error("forbidden")]
    Forbidden,
    #[error("email taken")]
    EmailTaken,
    #[error("phone number serves too many accounts")]
    PhoneLimitReached,
    #[error("registration disabled")]
    RegistrationDisabled,
    #[error("not found")]
    NotFound,
    #[error("service unavailable: {0}")]
    Unavailable(#[source] Cause),
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

/// What a client should wait before retrying after a 503: dependencies that
/// fail are usually throttled or briefly unreachable.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 2;

impl ApiError {
    /// Seconds a client should wait before trying again, where that applies.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after } => Some((*retry_after).max(1)),
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            _ => None,
        }
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        ApiError::InvalidRequest(detail.into())
    }

    pub fn internal(cause: impl Into<Cause>) -> Self {
        ApiError::Internal(cause.into())
    }

    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        ApiError::Unavailable(cause.into())
    }

    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidRequest(_) => StatusCode::BAD_REQUEST,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            InvalidCredentials
            | MfaRequired
            | PasswordRequired
            | OtpInvalid { .. }
            | OtpExpired
            | OtpAttemptsExceeded
            | InvalidToken => StatusCode::UNAUTHORIZED,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Forbidden | RegistrationDisabled => StatusCode::FORBIDDEN,
            EmailTaken | PhoneLimitReached => StatusCode::CONFLICT,
            NotFound => StatusCode::NOT_FOUND,
            Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable snake_case code clients switch on.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidRequest(_) => "invalid_request",
            UnsupportedMediaType => "unsupported_media_type",
            PayloadTooLarge => "payload_too_large",
            InvalidCredentials => "invalid_credentials",
            MfaRequired => "mfa_required",
            PasswordRequired => "password_required",
            OtpInvalid { .. } => "otp_invalid",
            OtpExpired => "otp_expired",
            OtpAttemptsExceeded => "otp_attempts_exceeded",
            RateLimited { .. } => "rate_limited",
            InvalidToken => "invalid_token",
            Forbidden => "forbidden",
            EmailTaken => "email_taken",
            PhoneLimitReached => "phone_limit_reached",
            RegistrationDisabled => "registration_disabled",
            NotFound => "not_found",
            Unavailable(_) => "service_unavailable",
            Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidRequest(_) => "Invalid request",
            UnsupportedMediaType => "Unsupported media type",
            PayloadTooLarge => "Payload too large",
            InvalidCredentials => "Invalid credentials",
            MfaRequired => "Second factor required",
            PasswordRequired => "Password required",
            OtpInvalid { .. } => "Invalid code",
            OtpExpired => "Code expired",
            OtpAttemptsExceeded => "Too many attempts",
            RateLimited { .. } => "Too many requests",
            InvalidToken => "Invalid token",
            Forbidden => "Forbidden",
            EmailTaken => "Email already registered",
            PhoneLimitReached => "Phone number limit reached",
            RegistrationDisabled => "Registration disabled",
            NotFound => "Not found",
            Unavailable(_) => "Service unavailable",
            Internal(_) => "Internal error",
        }
    }

    fn detail(&self) -> String {
        use ApiError::*;
        match self {
            InvalidRequest(d) => d.clone(),
            UnsupportedMediaType => "Send the body as application/json.".into(),
            PayloadTooLarge => format!(
                "The body is larger than {} KiB.",
                crate::http::MAX_BODY_BYTES / 1024
            ),
            InvalidCredentials => "The email or password is wrong.".into(),
            MfaRequired => {
                "A verification code was sent by SMS; repeat the login with otp_code.".into()
            }
            PasswordRequired => {
                "This account signs in with its password and a code: use /auth/login.".into()
            }
            OtpInvalid { .. } => "The code is wrong or there is no pending code.".into(),
            OtpExpired => "The code has expired; request a new one.".into(),
            OtpAttemptsExceeded => "Too many wrong codes; request a new one.".into(),
            RateLimited { retry_after } => format!("Try again in {retry_after} seconds."),
            InvalidToken => "The token is missing, invalid, expired or revoked.".into(),
            Forbidden => "The caller is not allowed to do this.".into(),
            EmailTaken => "An account with this email already exists.".into(),
            PhoneLimitReached => {
                "This phone number already serves as many accounts as allowed.".into()
            }
            RegistrationDisabled => "Registration is turned off.".into(),
            NotFound => "No such route.".into(),
            Unavailable(_) => "A dependency is unavailable; try again shortly.".into(),
            Internal(_) => "Something went wrong on our side.".into(),
        }
    }

    /// The problem+json document for this error.
    pub fn problem(&self, request_id: &str) -> Value {
        let mut doc = Map::new();
        doc.insert(
            "type".into(),
            json!(format!("urn:voicegate:error:{}", self.code())),
        );
        doc.insert("title".into(), json!(self.title()));
        doc.insert("status".into(), json!(self.status().as_u16()));
        doc.insert("detail".into(), json!(self.detail()));
        doc.insert("code".into(), json!(self.code()));
        doc.insert("request_id".into(), json!(request_id));
        match self {
            ApiError::OtpInvalid { attempts_remaining } => {
                doc.insert("attempts_remaining".into(), json!(attempts_remaining));
            }
            ApiError::OtpAttemptsExceeded => {
                doc.insert("attempts_remaining".into(), json!(0));
            }
            ApiError::RateLimited { retry_after } => {
                doc.insert("retry_after".into(), json!(retry_after));
            }
            _ => {}
        }
        Value::Object(doc)
    }

    /// The internal cause, for the log line only.
    pub fn cause(&self) -> Option<String> {
        match self {
            ApiError::Unavailable(c) | ApiError::Internal(c) => Some(c.to_string()),
            _ => None,
        }
    }
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
        let doc = ApiError::OtpInvalid {
            attempts_remaining: 2,
        }
        .problem("r");
        for key in ["type", "title", "status", "detail", "code", "request_id"] {
            assert!(doc.get(key).is_some(), "{key}");
        }
        assert_eq!(doc["code"], "otp_invalid");
        assert_eq!(doc["attempts_remaining"], 2);
        assert_eq!(doc["status"], 401);
    }
}
