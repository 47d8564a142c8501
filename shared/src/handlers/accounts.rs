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
use crate::otp;
use crate::password;
use crate::state::AppState;
use crate::store::users::{CreateUserError, User};
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

pub async fn register(state: &AppState, req: &Request) -> HandlerResult {
    if !state.config.registration_enabled {
        return Err(ApiError::RegistrationDisabled);
    }
    let body: RegisterBody = json_body(req)?;
    let password_hash = password::hash(body.password.expose().to_owned()).await?;
    for _ in 0..5 {
        let user = User {
            user_id: new_user_id(),
            email: body.email.clone(),
            full_name: body.full_name.clone(),
            phone: body.phone_number.clone(),
            password_hash: password_hash.clone(),
            roles: vec!["customer".into()],
            permissions: vec!["read".into()],
            mfa_enabled: false,
            created_at: state.now(),
        };
        match state.db.create_user(&user).await {
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
                return Ok(no_store_json(StatusCode::CREATED, &tokens));
            }
            Err(CreateUserError::IdTaken) => continue,
            Err(CreateUserError::EmailTaken) => {
                audit::record("register", None, Outcome::Failure, "email_taken", None);
                return Err(ApiError::EmailTaken);
            }
            Err(CreateUserError::Store(e)) => return Err(e),
        }
    }
    Err(ApiError::internal(
        "could not draw an unused user id in 5 tries",
    ))
}

#[derive(Deserialize)]
struct LoginBody {
    email: Email,
    password: LoginPassword,
    otp_code: Option<OtpCode>,
    platform: Option<Platform>,
}

/// Failed logins per email before password login is locked.
const MAX_FAILED_LOGINS: i64 = 5;
const FAILED_LOGIN_WINDOW_SECONDS: i64 = 900;
const LOCK_SECONDS: i64 = 900;

pub async fn login(state: &AppState, meta: &RequestMeta, req: &Request) -> HandlerResult {
    let body: LoginBody = json_body(req)?;
    let now = state.now();
    // Keyed by email, known or not, so a lock says nothing about whether the
    // account exists.
    let lock_key = format!("login#{}", body.email);
    let failures_key = format!("login_failures#{}", body.email);
    if let Some(retry_after) = state.db.locked_for(&lock_key, now).await? {
        audit::record("login", None, Outcome::Locked, "account_locked", None);
        return Err(ApiError::RateLimited { retry_after });
    }

    let user = state.db.user_by_email(&body.email).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = password::verify(body.password.expose().to_owned(), hash).await?;
    let user = match (user, password_ok) {
        (Some(user), true) => user,
        (user, _) => {
            let failures = state
                .db
                .count(&failures_key, FAILED_LOGIN_WINDOW_SECONDS, now)
                .await?;
            let user_id = user.as_ref().map(|u| u.user_id.as_str());
            if failures >= MAX_FAILED_LOGINS {
                state.db.lock(&lock_key, now + LOCK_SECONDS).await?;
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
    };

    let proof = if user.mfa_enabled {
        let Some(code) = body.otp_code else {
            // No phone on file cannot happen for an MFA user; fail closed if it does.
            let phone = user
                .phone
                .as_ref()
                .ok_or_else(|| ApiError::internal("MFA user has no phone"))?;
            otp::issue_code(state, meta, &user.user_id, Some(phone)).await?;
            audit::record(
                "login",
                Some(user.user_id.as_str()),
                Outcome::Failure,
                "mfa_required",
                None,
            );
            return Err(ApiError::MfaRequired);
        };
        otp::check_code(state, &user.user_id, &code).await?;
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
    state.db.clear_window(&failures_key).await?;
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
