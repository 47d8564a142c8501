//! `POST /auth/register` and `POST /auth/login`.

use http::StatusCode;
use lambda_http::Request;
use rand::Rng;
use serde::Deserialize;

use super::HandlerResult;
use crate::audit::{self, Outcome};
use crate::auth::{start_session, Proof};
use crate::error::ApiError;
use crate::http::{json_body, no_store_json, RequestMeta};
use crate::otp::{self, CodeCheck, CodeRequest, Purpose};
use crate::password;
use crate::phone;
use crate::state::AppState;
use crate::store::users::{CreateUserError, User};
use crate::throttle::{self, Limit};
use crate::tokens::AuthMethod;
use crate::types::{Email, FullName, LoginPassword, NewPassword, OtpCode, Phone, Platform, UserId};

#[derive(Deserialize)]
struct RegisterBody {
    email: Email,
    password: NewPassword,
    full_name: FullName,
    phone_number: Option<Phone>,
    platform: Option<Platform>,
}

/// New accounts get `u` + 12 random digits: not guessable from a count, so
/// user ids (which the OTP routes take) do not enumerate accounts.
fn new_user_id() -> UserId {
    let n: u64 = rand::rngs::OsRng.gen_range(100_000_000_000..1_000_000_000_000);
    UserId::parse(&format!("u{n}")).expect("u + 12 digits is a valid user id")
}

/// Draws of a fresh user id before giving up (a collision among 9·10^11 ids
/// is already unlikely once).
const USER_ID_DRAWS: usize = 5;

pub async fn register(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    if !state.config.registration_enabled {
        return Err(ApiError::RegistrationDisabled);
    }
    let body: RegisterBody = json_body(req)?;
    if let Err(err) =
        throttle::take(state, Limit::RegisterPerIp(&meta.source_ip), state.now()).await
    {
        audit::record("register", None, Outcome::Failure, "rate_limited", None);
        return Err(err);
    }
    let secrets = state.secrets().await?;
    let password_hash = password::hash(body.password.expose().to_owned()).await?;
    for _ in 0..USER_ID_DRAWS {
        let user_id = new_user_id();
        let user = User {
            pending_phone: body
                .phone_number
                .as_ref()
                .map(|p| secrets.phones.seal(&user_id, p)),
            user_id,
            email: body.email.clone(),
            full_name: body.full_name.clone(),
            phone: None,
            password_hash: password_hash.clone(),
            roles: vec!["customer".into()],
            permissions: vec!["read".into()],
            mfa_enabled: false,
            created_at: state.now(),
            suspended_at: None,
        };
        match state.db.create_user(&user, None).await {
            Ok(()) => {
                audit::record(
                    "register",
                    Some(user.user_id.as_str()),
                    Outcome::Success,
                    "created",
                    None,
                );
                let proof = Proof {
                    amr: vec![AuthMethod::Pwd],
                    two_factor_verified: false,
                    platform: body.platform,
                };
                let tokens = start_session(state, &user, proof).await?;
                if user.pending_phone.is_some() {
                    // The account exists either way; a code that could not be
                    // sent now can be asked for again with /auth/phone/verify/resend.
                    if let Err(err) = phone::send_verification(state, &user, &meta.source_ip).await
                    {
                        tracing::warn!(
                            event = "phone_verification_not_sent",
                            code = err.code(),
                            cause = err.cause().unwrap_or_default()
                        );
                    }
                }
                return Ok(no_store_json(StatusCode::CREATED, &tokens));
            }
            Err(CreateUserError::IdTaken) => continue,
            Err(CreateUserError::EmailTaken) => {
                audit::record("register", None, Outcome::Failure, "email_taken", None);
                return Err(ApiError::EmailTaken);
            }
            Err(CreateUserError::PhoneFull) => {
                return Err(ApiError::internal("registration claimed a phone slot"))
            }
            Err(CreateUserError::Store(e)) => return Err(e),
        }
    }
    Err(ApiError::internal(format!(
        "could not draw an unused user id in {USER_ID_DRAWS} tries"
    )))
}

#[derive(Deserialize)]
struct LoginBody {
    email: Email,
    password: LoginPassword,
    otp_code: Option<OtpCode>,
    platform: Option<Platform>,
}

/// Login attempts reserved before the password is checked, so that of any
/// burst at most the per-email limit of passwords is ever checked.
struct Reservations {
    email: throttle::Taken,
    source: throttle::Taken,
}

pub async fn login(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let body: LoginBody = json_body(req)?;
    let now = state.now();
    // Keyed by email, known or not, so a lock says nothing about whether the
    // account exists.
    let by_email = Limit::LoginFailuresPerEmail(&body.email);
    let by_source = Limit::LoginFailuresPerIp(&meta.source_ip);
    let reserved = match throttle::take_all(state, &[by_email, by_source], now).await {
        Ok(taken) => {
            let [email, source]: [throttle::Taken; 2] = taken
                .try_into()
                .map_err(|_| ApiError::internal("take_all returned another number of hits"))?;
            Reservations { email, source }
        }
        Err(err) => {
            if matches!(err, ApiError::RateLimited { .. }) {
                audit::record("login", None, Outcome::Locked, "too_many_failures", None);
            }
            return Err(err);
        }
    };

    let checked = async {
        let user = state.db.user_by_email(&body.email).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password_ok = password::verify(body.password.expose().to_owned(), hash).await?;
        Ok::<_, ApiError>((user, password_ok))
    }
    .await;
    let user = match checked {
        Ok((Some(user), true)) => {
            // A right password is not a failure: its reservations are given
            // back. Earlier failures stay counted, so however attempts
            // interleave, at most the limit of wrong passwords is checked
            // per email in a window.
            throttle::give_back(state, vec![reserved.email, reserved.source]).await;
            user
        }
        Ok((user, _)) => {
            // Both reservations stand: they are this failure's count.
            let limit = state.config.limits.login_failures_per_email.limit;
            let user_id = user.as_ref().map(|u| u.user_id.as_str());
            if reserved.email.hit.hits >= limit {
                throttle::hold_full(state, by_email, now).await?;
                audit::record("login", user_id, Outcome::Locked, "too_many_failures", None);
            } else {
                let reason = if user.is_some() {
                    "wrong_password"
                } else {
                    "unknown_email"
                };
                audit::record("login", user_id, Outcome::Failure, reason, None);
            }
            return Err(ApiError::InvalidCredentials);
        }
        Err(err) => {
            // Nothing was checked: an outage is not a wrong password.
            throttle::give_back(state, vec![reserved.email, reserved.source]).await;
            return Err(err);
        }
    };

    if user.suspended_at.is_some() {
        // Told apart from a wrong password in the audit line only.
        audit::record(
            "login",
            Some(user.user_id.as_str()),
            Outcome::Failure,
            "suspended",
            None,
        );
        return Err(ApiError::InvalidCredentials);
    }
    let proof = if user.mfa_enabled {
        second_factor(state, meta, &user, body.otp_code.as_ref()).await?;
        Proof {
            amr: vec![
                AuthMethod::Pwd,
                AuthMethod::Sms,
                AuthMethod::Otp,
                AuthMethod::Mfa,
            ],
            two_factor_verified: true,
            platform: body.platform,
        }
    } else {
        Proof {
            amr: vec![AuthMethod::Pwd],
            two_factor_verified: false,
            platform: body.platform,
        }
    };
    audit::record(
        "login",
        Some(user.user_id.as_str()),
        Outcome::Success,
        "authenticated",
        None,
    );
    let tokens = start_session(state, &user, proof).await?;
    Ok(no_store_json(StatusCode::OK, &tokens))
}

/// The SMS second factor of a user whose password was right: without a code,
/// send one (to the verified number only) and answer `mfa_required`; with
/// one, check it.
async fn second_factor(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    code: Option<&OtpCode>,
) -> Result<(), ApiError> {
    let Some(code) = code else {
        let secrets = state.secrets().await?;
        // No verified number cannot receive a code: a decoy is stored and
        // nothing is sent, so the account fails closed.
        let phone = phone::verified(&secrets, user)?;
        otp::issue_code(
            state,
            CodeRequest {
                purpose: Purpose::Mfa,
                user: &user.user_id,
                source: &meta.source_ip,
                destination: phone.as_ref(),
                destination_index: None,
                context: "",
            },
        )
        .await?;
        audit::record(
            "login",
            Some(user.user_id.as_str()),
            Outcome::Failure,
            "mfa_required",
            None,
        );
        return Err(ApiError::MfaRequired);
    };
    otp::check_code(
        state,
        CodeCheck {
            purpose: Purpose::Mfa,
            user: &user.user_id,
            source: &meta.source_ip,
            code,
            context: "",
        },
    )
    .await
}
