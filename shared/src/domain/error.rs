//! What the rules answer when they do not succeed, and the dependency
//! failures beneath them. The edge turns each into an HTTP answer, in one
//! place (`edge::error`).

use crate::adapters::password::PasswordError;
use crate::adapters::secrets::SecretsError;
use crate::adapters::sms::SmsError;
use crate::adapters::store::StoreError;
use crate::adapters::vault::VaultError;

/// An internal cause: logged, never shown.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rules refuse this request as asked (the reason is safe to show).
    #[error("refused: {0}")]
    Refused(String),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("second factor required")]
    MfaRequired,
    #[error("password required")]
    PasswordRequired,
    #[error("code invalid")]
    OtpInvalid { attempts_remaining: u32 },
    #[error("code expired")]
    OtpExpired,
    #[error("code attempts exceeded")]
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
    /// Client credentials missing or wrong (RFC 6749 `invalid_client`).
    #[error("invalid client")]
    InvalidClient,
    /// The voice session is unknown, or not one this client may act in.
    #[error("voice session not found")]
    VoiceSessionNotFound,
    /// The voice session ended or expired: nothing more happens in it.
    #[error("voice session ended")]
    VoiceSessionEnded,
    /// The voice session has no proven caller yet (in-call sign-in first).
    #[error("caller not verified")]
    CallerNotVerified,
    /// An agent asked to open a session for a room that already has one.
    #[error("room already has a voice session")]
    RoomTaken,
    /// RFC 6749 §5.2: the grant (here, the voice session or its step-up) does
    /// not allow this; the reason is safe to show.
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    #[error("invalid scope")]
    InvalidScope,
    /// RFC 8707: the resource is not one this client may get tokens for.
    #[error("invalid target")]
    InvalidTarget,
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// A passkey assertion that does not verify, for a ceremony that is
    /// unknown, used or expired, or for a passkey that is gone.
    #[error("passkey refused")]
    PasskeyRefused,
    /// An ID token that is not one we accept (signature, issuer, audience,
    /// time, nonce, or already exchanged).
    #[error("ID token refused")]
    IdTokenRefused,
    /// The provider did not verify the email, so it can neither find nor
    /// create an account.
    #[error("email not verified by the provider")]
    EmailUnverified,
    /// The thing asked for does not exist (or is not the caller's).
    #[error("not found")]
    NotFound,
    /// The sign-in is too old for this change; sign in again first.
    #[error("recent sign-in required")]
    ReauthenticationRequired,
    /// A dependency failed, throttled or timed out; the caller may retry.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] Cause),
    /// A bug or corrupt data.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl Error {
    pub fn refused(reason: impl Into<String>) -> Self {
        Error::Refused(reason.into())
    }

    pub fn internal(cause: impl Into<Cause>) -> Self {
        Error::Internal(cause.into())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable { .. } | StoreError::Contended(_) => {
                Error::Unavailable(Box::new(e))
            }
            StoreError::Corrupt { .. } | StoreError::Build(_) => Error::Internal(Box::new(e)),
        }
    }
}

impl From<SecretsError> for Error {
    fn from(e: SecretsError) -> Self {
        Error::Unavailable(Box::new(e))
    }
}

impl From<SmsError> for Error {
    fn from(e: SmsError) -> Self {
        Error::Unavailable(Box::new(e))
    }
}

impl From<PasswordError> for Error {
    fn from(e: PasswordError) -> Self {
        Error::Internal(Box::new(e))
    }
}

impl From<VaultError> for Error {
    fn from(e: VaultError) -> Self {
        Error::Internal(Box::new(e))
    }
}

/// An error and every cause beneath it, `: `-joined, for one log field.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(inner) = next {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        next = inner.source();
    }
    text
}
