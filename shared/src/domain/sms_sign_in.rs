//! Signing in with a code alone, sent by SMS to the account's verified
//! number. Every request is answered the same whether or not the user exists
//! or has a verified number, and a code never opens an account that asks for
//! a password too.

use crate::domain::audit::{self, Outcome};
use crate::domain::auth_sessions::{self, Proof, TokenResponse};
use crate::domain::codes::{self, CodeCheck, CodeRequest, Purpose};
use crate::domain::error::{Error, Result};
use crate::domain::phone;
use crate::state::AppState;
use crate::types::{OtpCode, SourceIp, UserId};

/// Texts a sign-in code to the user's verified number, if there is one.
pub async fn request_code(state: &AppState, user_id: &UserId, source: &SourceIp) -> Result<()> {
    let phone = match state.db.user(user_id).await? {
        Some(user) => phone::verified(&*state.secrets().await?, &user)?,
        None => None,
    };
    codes::issue_code(
        state,
        CodeRequest {
            purpose: Purpose::SignIn,
            user: user_id,
            source,
            destination: phone.as_ref(),
            destination_index: None,
            context: "",
            remembered: None,
            confirms: None,
            voice_session: None,
        },
    )
    .await
}

/// Checks the code and starts a session.
pub async fn verify_code(
    state: &AppState,
    user_id: &UserId,
    code: &OtpCode,
    source: &SourceIp,
) -> Result<TokenResponse> {
    codes::check_code(
        state,
        CodeCheck {
            purpose: Purpose::SignIn,
            user: user_id,
            source,
            code,
            context: "",
            expect_remembered: None,
        },
    )
    .await?;
    // A spent code belongs to a real user (decoys never verify); a user
    // deleted or suspended since is refused like a wrong code.
    let refused = || Error::OtpInvalid {
        attempts_remaining: 0,
    };
    let user = state.db.user(user_id).await?.ok_or_else(refused)?;
    if user.suspended_at.is_some() {
        audit::record(
            "otp_verify",
            Some(user.user_id.as_str()),
            Outcome::Failure,
            "suspended",
            None,
        );
        return Err(refused());
    }
    // One factor never yields a session of an account that asks for two: the
    // code is spent, and the caller is told the password is needed too. Only
    // someone holding the code learns the account has a second factor.
    if user.mfa_enabled {
        audit::record(
            "otp_verify",
            Some(user.user_id.as_str()),
            Outcome::Failure,
            "password_required",
            None,
        );
        return Err(Error::PasswordRequired);
    }
    auth_sessions::start(state, &user, Proof::sms_code(None)).await
}
