//! One-time codes by SMS: issuing (with its rate limits) and checking (with
//! per-code attempts and the account-level failure counter). Used by the OTP
//! routes and by login's second factor.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::audit::{self, Outcome};
use crate::auth::hex;
use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::http::RequestMeta;
use crate::state::AppState;
use crate::store::limits::Window;
use crate::store::otp::{Challenge, Reservation, MAX_ATTEMPTS};
use crate::types::{OtpCode, Phone, UserId};

pub const CODE_TTL_SECONDS: i64 = 300;
pub const RESEND_AFTER_SECONDS: i64 = 30;
const PER_USER_HOURLY: Window = Window {
    limit: 5,
    seconds: 3_600,
};
const PER_IP_HOURLY: Window = Window {
    limit: 20,
    seconds: 3_600,
};
const COOLDOWN: Window = Window {
    limit: 1,
    seconds: RESEND_AFTER_SECONDS,
};
/// Failed codes per user id within `FAILURE_WINDOW_SECONDS` before verification is blocked.
pub const MAX_FAILURES: i64 = 10;
pub const FAILURE_WINDOW_SECONDS: i64 = 86_400;

fn sms_text(code: &OtpCode) -> String {
    format!(
        "{} is your verification code. It expires in 5 minutes.",
        code.expose()
    )
}

fn code_mac(pepper: &[u8; 32], challenge_id: &str, code: &OtpCode) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper).expect("HMAC takes any key length");
    mac.update(challenge_id.as_bytes());
    mac.update(b":");
    mac.update(code.expose().as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn new_code() -> OtpCode {
    // OsRng is the operating system's CSPRNG; gen_range is unbiased.
    OtpCode::from_number(rand::rngs::OsRng.gen_range(0..1_000_000))
}

async fn limit(
    state: &AppState,
    key: String,
    w: Window,
    user: &UserId,
    now: UnixTime,
) -> Result<(), ApiError> {
    match state.db.hit(&key, w, now).await? {
        Ok(_) => Ok(()),
        Err(retry_after) => {
            audit::record(
                "otp_sent",
                Some(user.as_str()),
                Outcome::Failure,
                "rate_limited",
                None,
            );
            Err(ApiError::RateLimited { retry_after })
        }
    }
}

/// Applies the request limits, then replaces the user's code with a new one
/// and texts it to `phone`. With no phone (unknown user id, or no number on
/// file) a decoy challenge is stored instead and nothing is sent, so every
/// later answer is the same as for a real user.
pub async fn issue_code(
    state: &AppState,
    meta: &RequestMeta,
    user: &UserId,
    phone: Option<&Phone>,
) -> Result<(), ApiError> {
    let now = state.now();
    limit(
        state,
        format!("otp_ip#{}", meta.ip_key()),
        PER_IP_HOURLY,
        user,
        now,
    )
    .await?;
    limit(state, format!("otp_cooldown#{user}"), COOLDOWN, user, now).await?;
    limit(
        state,
        format!("otp_hourly#{user}"),
        PER_USER_HOURLY,
        user,
        now,
    )
    .await?;

    let secrets = state.secrets().await?;
    let code = new_code();
    let challenge_id = uuid::Uuid::new_v4().simple().to_string();
    let challenge = Challenge {
        code_mac: code_mac(&secrets.otp_pepper, &challenge_id, &code),
        challenge_id,
        created_at: now,
        expires_at: now + CODE_TTL_SECONDS,
        attempts: 0,
        decoy: phone.is_none(),
    };
    state.db.put_pending_challenge(user, &challenge).await?;

    if let Some(phone) = phone {
        if let Err(err) = state.sms.send(phone, &sms_text(&code)).await {
            // Fail closed: the pending code never becomes usable.
            let _ = state
                .db
                .discard_challenge(user, &challenge.challenge_id)
                .await;
            audit::record(
                "otp_sent",
                Some(user.as_str()),
                Outcome::Failure,
                "sms_failed",
                Some(&phone.masked()),
            );
            return Err(err);
        }
    }
    state
        .db
        .activate_challenge(user, &challenge.challenge_id)
        .await?;
    match phone {
        Some(phone) => audit::record(
            "otp_sent",
            Some(user.as_str()),
            Outcome::Success,
            "sms",
            Some(&phone.masked()),
        ),
        None => audit::record(
            "otp_sent",
            Some(user.as_str()),
            Outcome::Failure,
            "no_phone_on_file",
            None,
        ),
    }
    Ok(())
}

fn failures_key(user: &UserId) -> String {
    format!("otp_failures#{user}")
}

/// Checks a code for `user`, spending it on success. Unknown users and users
/// with no pending code get the same answers as a wrong code. Every failed
/// check, whatever its reason, counts towards the account-level limit.
pub async fn check_code(state: &AppState, user: &UserId, code: &OtpCode) -> Result<(), ApiError> {
    let now = state.now();
    if let Some(usage) = state
        .db
        .usage(&failures_key(user), FAILURE_WINDOW_SECONDS, now)
        .await?
    {
        if usage.hits >= MAX_FAILURES {
            audit::record(
                "otp_verify",
                Some(user.as_str()),
                Outcome::Locked,
                "too_many_failures",
                None,
            );
            return Err(ApiError::RateLimited {
                retry_after: usage.resets_in,
            });
        }
    }
    let challenge = match state.db.reserve_attempt(user, now).await? {
        Reservation::Reserved(c) => c,
        Reservation::NoChallenge => {
            record_failure(state, user, now, "no_pending_code").await?;
            return Err(ApiError::OtpInvalid {
                attempts_remaining: (MAX_ATTEMPTS - 1) as u32,
            });
        }
        Reservation::Expired => {
            record_failure(state, user, now, "expired").await?;
            return Err(ApiError::OtpExpired);
        }
        Reservation::Exhausted => {
            record_failure(state, user, now, "attempts_exceeded").await?;
            return Err(ApiError::OtpAttemptsExceeded);
        }
    };
    let secrets = state.secrets().await?;
    let presented = code_mac(&secrets.otp_pepper, &challenge.challenge_id, code);
    let matches: bool = presented
        .as_bytes()
        .ct_eq(challenge.code_mac.as_bytes())
        .into();
    if matches
        && !challenge.decoy
        && state
            .db
            .spend_challenge(user, &challenge.challenge_id)
            .await?
    {
        state.db.clear_window(&failures_key(user)).await?;
        audit::record(
            "otp_verify",
            Some(user.as_str()),
            Outcome::Success,
            "verified",
            None,
        );
        return Ok(());
    }
    record_failure(
        state,
        user,
        now,
        if matches {
            "already_used"
        } else {
            "wrong_code"
        },
    )
    .await?;
    let remaining = (MAX_ATTEMPTS - challenge.attempts).max(0) as u32;
    if remaining == 0 {
        return Err(ApiError::OtpAttemptsExceeded);
    }
    Err(ApiError::OtpInvalid {
        attempts_remaining: remaining,
    })
}

async fn record_failure(
    state: &AppState,
    user: &UserId,
    now: UnixTime,
    reason: &str,
) -> Result<(), ApiError> {
    let failures = state
        .db
        .count(&failures_key(user), FAILURE_WINDOW_SECONDS, now)
        .await?;
    let outcome = if failures >= MAX_FAILURES {
        Outcome::Locked
    } else {
        Outcome::Failure
    };
    audit::record("otp_verify", Some(user.as_str()), outcome, reason, None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_binds_pepper_challenge_and_code() {
        let code = OtpCode::parse("123456").unwrap();
        let base = code_mac(&[1; 32], "c1", &code);
        assert_ne!(base, code_mac(&[2; 32], "c1", &code));
        assert_ne!(base, code_mac(&[1; 32], "c2", &code));
        assert_ne!(
            base,
            code_mac(&[1; 32], "c1", &OtpCode::parse("123457").unwrap())
        );
        assert!(!base.contains("123456"));
    }

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> =
            (0..50).map(|_| new_code().expose().to_owned()).collect();
        assert!(codes.len() > 45);
        assert!(codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
    }

    #[test]
    fn sms_names_no_user_data() {
        let text = sms_text(&OtpCode::parse("012345").unwrap());
        assert_eq!(
            text,
            "012345 is your verification code. It expires in 5 minutes."
        );
    }
}
