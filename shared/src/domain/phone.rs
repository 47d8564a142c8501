//! Proving a phone number. A number given at registration (or later through
//! `POST /auth/phone`) is stored as *pending*; it receives sign-in codes only
//! after the signed-in owner types back the verification code sent to it.
//! The code is bound to the number (its index is the code's context), and
//! confirming takes one of the number's `ACCOUNTS_PER_PHONE` slots in the
//! same transaction that makes it the account's number.

use crate::adapters::secrets::Secrets;
use crate::adapters::store::users::{ConfirmPhoneError, PhoneSlot, User};
use crate::adapters::vault::SealedPhone;
use crate::domain::audit::{self, Outcome};
use crate::domain::codes::{self, CodeCheck, CodeRequest, Purpose};
use crate::domain::error::{Error, Result};
use crate::state::AppState;
use crate::types::{OtpCode, Phone, SourceIp};

/// Where a user's phone numbers stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// A code went to the pending number.
    CodeSent,
    /// Nothing waits for proof and a verified number is in place.
    Verified,
}

fn nothing_pending() -> Error {
    Error::refused("No phone number is waiting for verification.")
}

/// Opens the number a user stored, failing closed if it cannot be read.
fn open(secrets: &Secrets, user: &User, sealed: &SealedPhone) -> Result<Phone> {
    Ok(secrets.phones.open(&user.user_id, sealed)?)
}

/// The user's verified number, if any.
pub fn verified(secrets: &Secrets, user: &User) -> Result<Option<Phone>> {
    user.phone
        .as_ref()
        .map(|p| open(secrets, user, p))
        .transpose()
}

/// Texts a verification code to the user's pending number, if a verified
/// one is not already all there is.
pub async fn resend(state: &AppState, user: &User, source: &SourceIp) -> Result<Standing> {
    if user.pending_phone.is_none() && user.phone.is_some() {
        return Ok(Standing::Verified);
    }
    send_verification(state, user, source).await?;
    Ok(Standing::CodeSent)
}

/// Texts a verification code to the user's pending number.
pub async fn send_verification(state: &AppState, user: &User, source: &SourceIp) -> Result<()> {
    let Some(pending) = &user.pending_phone else {
        return Err(nothing_pending());
    };
    let secrets = state.secrets().await?;
    let phone = open(&secrets, user, pending)?;
    let index = secrets.phones.index(&phone);
    codes::issue_code(
        state,
        CodeRequest {
            purpose: Purpose::PhoneVerification,
            user: &user.user_id,
            source,
            destination: Some(&phone),
            destination_index: Some(&index),
            context: index.as_str(),
            remembered: None,
            confirms: None,
            voice_session: None,
        },
    )
    .await
}

/// Checks the code sent to the pending number and makes it the verified one.
/// Repeating it once verified (a client retrying a lost answer) is a success.
pub async fn verify(
    state: &AppState,
    user: &User,
    source: &SourceIp,
    code: &OtpCode,
) -> Result<()> {
    let Some(pending) = &user.pending_phone else {
        return if user.phone.is_some() {
            Ok(())
        } else {
            Err(nothing_pending())
        };
    };
    let secrets = state.secrets().await?;
    let phone = open(&secrets, user, pending)?;
    let index = secrets.phones.index(&phone);
    codes::check_code(
        state,
        CodeCheck {
            purpose: Purpose::PhoneVerification,
            user: &user.user_id,
            source,
            code,
            context: index.as_str(),
            expect_remembered: None,
        },
    )
    .await?;
    let old_index = verified(&secrets, user)?.map(|p| secrets.phones.index(&p));
    let slot = PhoneSlot {
        index: &index,
        max_accounts: state.config.limits.accounts_per_phone,
    };
    let user_id = Some(user.user_id.as_str());
    match state
        .db
        .confirm_phone(&user.user_id, pending, slot, old_index.as_ref())
        .await
    {
        Ok(()) => {
            audit::record(
                "phone_verified",
                user_id,
                Outcome::Success,
                "verified",
                Some(&pending.masked),
            );
            Ok(())
        }
        Err(ConfirmPhoneError::PhoneFull) => {
            audit::record(
                "phone_verified",
                user_id,
                Outcome::Failure,
                "phone_limit_reached",
                Some(&pending.masked),
            );
            Err(Error::PhoneLimitReached)
        }
        Err(ConfirmPhoneError::PendingChanged) => {
            audit::record(
                "phone_verified",
                user_id,
                Outcome::Failure,
                "pending_changed",
                None,
            );
            Err(Error::OtpInvalid {
                attempts_remaining: 0,
            })
        }
        Err(ConfirmPhoneError::Store(e)) => Err(e.into()),
    }
}

/// Records a new number for the user (pending until proven) and texts it a code.
pub async fn change(state: &AppState, user: &User, phone: &Phone, source: &SourceIp) -> Result<()> {
    let secrets = state.secrets().await?;
    let sealed = secrets.phones.seal(&user.user_id, phone);
    if !state.db.set_pending_phone(&user.user_id, &sealed).await? {
        return Err(Error::InvalidToken);
    }
    audit::record(
        "phone_changed",
        Some(user.user_id.as_str()),
        Outcome::Success,
        "pending",
        Some(&sealed.masked),
    );
    let updated = User {
        pending_phone: Some(sealed),
        ..user.clone()
    };
    send_verification(state, &updated, source).await
}
