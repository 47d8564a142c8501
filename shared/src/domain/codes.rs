//! One-time codes by SMS: issuing (with its rate limits) and checking (with
//! per-code attempts and the failure counters). Used by the OTP routes,
//! login's second factor and phone verification.
//!
//! Each [`Purpose`] has its own code slot, request limits and failure
//! counters, so a stranger who knows a user id and burns that user's sign-in
//! codes cannot block the password-gated second factor or the signed-in
//! phone verification.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::adapters::store::challenges::{Challenge, Reservation, Slot};
use crate::domain::audit::{self, Outcome};
use crate::domain::error::{Error, Result};
use crate::domain::throttle::{self, Limit};
use crate::state::AppState;
use crate::types::hex;
pub use crate::types::CodePurpose as Purpose;
use crate::types::{CodeMac, OtpCode, Phone, PhoneIndex, SourceIp, UserId, VoiceSessionId};

/// How long a code can be used.
pub const CODE_TTL_SECONDS: i64 = 300;

/// The code slot of `purpose` for `user`.
fn slot(purpose: Purpose, user: &UserId) -> Slot<'_> {
    Slot {
        owner: user.as_str(),
        purpose: purpose.name(),
    }
}

fn sms_text(code: &OtpCode, confirms: Option<&str>) -> String {
    match confirms {
        None => format!(
            "{} is your verification code. It expires in {} minutes.",
            code.expose(),
            CODE_TTL_SECONDS / 60
        ),
        // Dynamic linking: the caller reads what the code approves before
        // saying it, and a code for one transaction approves no other.
        Some(what) => format!(
            "{} confirms {what}. Say it only to approve exactly this. It expires in {} minutes.",
            code.expose(),
            CODE_TTL_SECONDS / 60
        ),
    }
}

/// What a code's MAC is bound to: the request's context and the text stored
/// with the challenge, length-prefixed so no two pairs read the same.
fn binding(context: &str, remembered: Option<&str>) -> String {
    match remembered {
        None => context.to_owned(),
        Some(r) => format!("{}:{context}{r}", context.len()),
    }
}

/// HMAC-SHA256(pepper, challenge_id, context, code). The context binds a code
/// to what it was sent for (the phone number being verified), length-prefixed
/// so no two (context, code) pairs share an input.
pub fn code_mac(pepper: &[u8; 32], challenge_id: &str, context: &str, code: &OtpCode) -> CodeMac {
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper).expect("HMAC takes any key length");
    mac.update(challenge_id.as_bytes());
    mac.update(&(context.len() as u64).to_be_bytes());
    mac.update(context.as_bytes());
    mac.update(code.expose().as_bytes());
    CodeMac::from_hex(hex(&mac.finalize().into_bytes()))
}

fn new_code() -> OtpCode {
    // OsRng is the operating system's CSPRNG; gen_range is unbiased.
    OtpCode::from_number(rand::rngs::OsRng.gen_range(0..1_000_000))
}

/// A code to send.
pub struct CodeRequest<'a> {
    pub purpose: Purpose,
    pub user: &'a UserId,
    pub source: &'a SourceIp,
    /// Where to send it. `None` (unknown user, no verified number) stores a
    /// decoy that can never verify and sends nothing, so every later answer
    /// is the same as for a real user.
    pub destination: Option<&'a Phone>,
    /// The destination's index, for the per-number limit of verification codes.
    pub destination_index: Option<&'a PhoneIndex>,
    /// The call the code is asked for in, which bounds how many users one
    /// call can text.
    pub voice_session: Option<&'a VoiceSessionId>,
    /// What the code is bound to (see [`code_mac`]).
    pub context: &'a str,
    /// Text stored with the code and bound into its MAC, handed back when it
    /// is spent (the transaction a step-up confirms).
    pub remembered: Option<&'a str>,
    /// What the SMS says the code approves, if more than a sign-in.
    pub confirms: Option<&'a str>,
}

impl CodeRequest<'_> {
    /// Tightest first (see [`throttle::take_all`]).
    fn limits(&self) -> Vec<Limit<'_>> {
        let mut limits = vec![
            Limit::CodeResend(self.purpose, self.user),
            Limit::CodesPerHour(self.purpose, self.user),
        ];
        if self.purpose == Purpose::SignIn {
            limits.push(Limit::SignInCodesPerIp(self.source));
        }
        if let Some(session) = self.voice_session {
            limits.push(Limit::CodesPerVoiceSession(session));
        }
        if let (Purpose::PhoneVerification, Some(index)) = (self.purpose, self.destination_index) {
            limits.push(Limit::VerificationCodesPerPhone(index));
        }
        limits
    }
}

/// Applies the request limits, replaces the slot's code with a new one and
/// texts it. A failed SMS leaves no usable code and gives the limits back, so
/// the client's retry is not refused for a message it never got.
pub async fn issue_code(state: &AppState, req: CodeRequest<'_>) -> Result<()> {
    let now = state.now();
    let event = "otp_sent";
    let user = Some(req.user.as_str());
    let taken = match throttle::take_all(state, &req.limits(), now).await {
        Ok(taken) => taken,
        Err(err) => {
            if matches!(err, Error::RateLimited { .. }) {
                audit::record(
                    event,
                    user,
                    Outcome::Failure,
                    "rate_limited",
                    Some(req.purpose.name()),
                );
            }
            return Err(err);
        }
    };
    let slot = slot(req.purpose, req.user);
    let result = async {
        let secrets = state.secrets().await?;
        let code = new_code();
        let challenge_id = uuid::Uuid::new_v4().simple().to_string();
        let challenge = Challenge {
            code_mac: code_mac(
                &secrets.otp_pepper,
                &challenge_id,
                &binding(req.context, req.remembered),
                &code,
            ),
            remembered: req.remembered.map(str::to_owned),
            challenge_id,
            created_at: now,
            expires_at: now + CODE_TTL_SECONDS,
            attempts: 0,
            decoy: req.destination.is_none(),
        };
        state.db.put_pending_challenge(&slot, &challenge).await?;
        if let Some(phone) = req.destination {
            if let Err(err) = state.sms.send(phone, &sms_text(&code, req.confirms)).await {
                // Fail closed: the pending code never becomes usable.
                if let Err(discard) = state
                    .db
                    .discard_challenge(&slot, &challenge.challenge_id)
                    .await
                {
                    // Still pending, so never usable: only on-call needs to know.
                    tracing::warn!(event = "otp_discard_failed", cause = %discard);
                }
                audit::record(
                    event,
                    user,
                    Outcome::Unavailable,
                    "sms_failed",
                    Some(&phone.masked()),
                );
                return Err(err.into());
            }
        }
        state
            .db
            .activate_challenge(&slot, &challenge.challenge_id)
            .await?;
        Ok::<(), Error>(())
    }
    .await;
    if let Err(err) = result {
        throttle::give_back(state, taken).await;
        return Err(err);
    }
    match req.destination {
        Some(phone) => audit::record(
            event,
            user,
            Outcome::Success,
            "sms",
            Some(&format!("{} {}", req.purpose.name(), phone.masked())),
        ),
        None => audit::record(
            event,
            user,
            Outcome::Failure,
            "no_verified_phone",
            Some(req.purpose.name()),
        ),
    }
    Ok(())
}

/// A code presented for checking.
pub struct CodeCheck<'a> {
    pub purpose: Purpose,
    pub user: &'a UserId,
    pub source: &'a SourceIp,
    pub code: &'a OtpCode,
    pub context: &'a str,
    /// When given, the challenge's remembered text must be exactly this.
    pub expect_remembered: Option<&'a str>,
}

/// A spent code: what was remembered with it.
#[derive(Debug)]
pub struct Spent {
    pub remembered: Option<String>,
}

impl CodeCheck<'_> {
    fn failure_limits(&self) -> [Limit<'_>; 2] {
        [
            Limit::CodeFailuresPerUserSource(self.purpose, self.user, self.source),
            Limit::CodeFailuresPerUser(self.purpose, self.user),
        ]
    }
}

/// Checks a code, spending it on success. Unknown users and users with no
/// pending code get the same answers as a wrong code. Every failed check,
/// whatever its reason, counts towards the failure counters (per user and
/// source, and per user with a higher ceiling).
pub async fn check_code(state: &AppState, check: CodeCheck<'_>) -> Result<Spent> {
    let now = state.now();
    let user = Some(check.user.as_str());
    let slot = slot(check.purpose, check.user);
    let max_attempts = state.config.limits.otp_attempts_per_code;
    let failure_limits = check.failure_limits();
    // The counters are read before the attempt is reserved, not alongside
    // it. A request that then wins one of the code's attempts has seen only
    // failures counted before its reservation, never those of the requests
    // the code's attempts refused after it: otherwise a burst of the right
    // code (an agent retrying) could fill the account's counter with its own
    // refused attempts and lock out its one winner, where the contract says
    // exactly one succeeds. It costs a round trip; a blocked caller no
    // longer spends an attempt.
    let counted = match throttle::refuse_if_reached(state, &failure_limits, now).await {
        Ok(counted) => counted,
        Err(err) => {
            if matches!(err, Error::RateLimited { .. }) {
                audit::record(
                    "otp_verify",
                    user,
                    Outcome::Locked,
                    "too_many_failures",
                    Some(check.purpose.name()),
                );
            }
            return Err(err);
        }
    };
    let challenge = match state.db.reserve_attempt(&slot, max_attempts, now).await? {
        Reservation::Reserved(c) => c,
        Reservation::NoChallenge => {
            record_failure(state, &check, "no_pending_code").await?;
            return Err(Error::OtpInvalid {
                attempts_remaining: (max_attempts - 1) as u32,
            });
        }
        Reservation::Expired => {
            record_failure(state, &check, "expired").await?;
            return Err(Error::OtpExpired);
        }
        Reservation::Exhausted => {
            record_failure(state, &check, "attempts_exceeded").await?;
            return Err(Error::OtpAttemptsExceeded);
        }
    };
    let secrets = state.secrets().await?;
    let remembered = challenge.remembered.as_deref();
    let presented = code_mac(
        &secrets.otp_pepper,
        &challenge.challenge_id,
        &binding(check.context, remembered),
        check.code,
    );
    let bound_as_expected = check
        .expect_remembered
        .is_none_or(|e| Some(e) == remembered);
    let matches: bool = bool::from(
        presented
            .as_str()
            .as_bytes()
            .ct_eq(challenge.code_mac.as_str().as_bytes()),
    ) && bound_as_expected;
    if matches
        && !challenge.decoy
        && state
            .db
            .spend_challenge(&slot, &challenge.challenge_id)
            .await?
    {
        throttle::clear_counted(state, &failure_limits, &counted).await?;
        audit::record(
            "otp_verify",
            user,
            Outcome::Success,
            "verified",
            Some(check.purpose.name()),
        );
        return Ok(Spent {
            remembered: challenge.remembered,
        });
    }
    let reason = if matches {
        "already_used"
    } else {
        "wrong_code"
    };
    record_failure(state, &check, reason).await?;
    let remaining = (max_attempts - challenge.attempts).max(0) as u32;
    if remaining == 0 {
        return Err(Error::OtpAttemptsExceeded);
    }
    Err(Error::OtpInvalid {
        attempts_remaining: remaining,
    })
}

async fn record_failure(state: &AppState, check: &CodeCheck<'_>, reason: &str) -> Result<()> {
    let reached = throttle::count_all(state, &check.failure_limits(), state.now()).await?;
    let outcome = if reached {
        Outcome::Locked
    } else {
        Outcome::Failure
    };
    audit::record(
        "otp_verify",
        Some(check.user.as_str()),
        outcome,
        reason,
        Some(check.purpose.name()),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_binds_pepper_challenge_context_and_code() {
        let code = OtpCode::parse("123456").unwrap();
        let base = code_mac(&[1; 32], "c1", "", &code);
        assert_ne!(base, code_mac(&[2; 32], "c1", "", &code));
        assert_ne!(base, code_mac(&[1; 32], "c2", "", &code));
        assert_ne!(base, code_mac(&[1; 32], "c1", "+1555", &code));
        assert_ne!(
            base,
            code_mac(&[1; 32], "c1", "", &OtpCode::parse("123457").unwrap())
        );
        assert!(!base.as_str().contains("123456"));
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
        let text = sms_text(&OtpCode::parse("012345").unwrap(), None);
        assert_eq!(
            text,
            format!(
                "012345 is your verification code. It expires in {} minutes.",
                CODE_TTL_SECONDS / 60
            )
        );
    }
}
