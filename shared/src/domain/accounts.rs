//! Accounts: registration, and login with its lockout and SMS second factor.

use rand::Rng;
use serde::Deserialize;

use crate::adapters::password;
use crate::adapters::store::federation::ExternalIdentity;
use crate::adapters::store::users::{CreateUserError, User};
use crate::domain::audit::{self, Outcome};
use crate::domain::auth_sessions::{self, Proof, TokenResponse};
use crate::domain::codes::{self, CodeCheck, CodeRequest, Purpose};
use crate::domain::error::{Error, Result};
use crate::domain::phone;
use crate::domain::throttle::{self, Limit};
use crate::state::AppState;
use crate::types::{
    Email, FullName, LoginPassword, NewPassword, OtpCode, PasswordHash, Phone, Platform, SourceIp,
    UserId,
};

/// What a new account is made of (the body of `POST /auth/register`).
#[derive(Debug, Deserialize)]
pub struct NewAccount {
    pub email: Email,
    pub password: NewPassword,
    pub full_name: FullName,
    /// Stays pending (receives no sign-in codes) until its owner proves it.
    pub phone_number: Option<Phone>,
    pub platform: Option<Platform>,
}

/// What a login presents (the body of `POST /auth/login`).
#[derive(Debug, Deserialize)]
pub struct Credentials {
    pub email: Email,
    pub password: LoginPassword,
    /// The SMS code of an account with a second factor, on the second try.
    pub otp_code: Option<OtpCode>,
    pub platform: Option<Platform>,
}

/// Refuses when registration is turned off (checked before the body is read,
/// so a closed door answers the same whatever is sent).
pub fn registration_open(state: &AppState) -> Result<()> {
    if state.config.registration_enabled {
        Ok(())
    } else {
        Err(Error::RegistrationDisabled)
    }
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

/// A customer account as first written: role `customer`, permission `read`,
/// no verified phone and no second factor.
pub(crate) struct NewCustomer {
    pub email: Email,
    pub full_name: FullName,
    pub password_hash: PasswordHash,
    /// The number to verify, sealed under the drawn user id.
    pub pending_phone: Option<Phone>,
}

/// Writes `customer` under a freshly drawn user id (linked to `identity` when
/// it signed up through a provider), drawing again while the id is taken.
/// Any other refusal is the caller's to answer; running out of draws is an
/// error.
pub(crate) async fn create_customer(
    state: &AppState,
    customer: &NewCustomer,
    identity: Option<ExternalIdentity<'_>>,
) -> Result<std::result::Result<User, CreateUserError>> {
    let secrets = state.secrets().await?;
    for _ in 0..USER_ID_DRAWS {
        let user_id = new_user_id();
        let user = User {
            pending_phone: customer
                .pending_phone
                .as_ref()
                .map(|p| secrets.phones.seal(&user_id, p)),
            user_id,
            email: customer.email.clone(),
            full_name: customer.full_name.clone(),
            phone: None,
            password_hash: customer.password_hash.clone(),
            roles: vec!["customer".into()],
            permissions: vec!["read".into()],
            mfa_enabled: false,
            created_at: state.now(),
            suspended_at: None,
        };
        match state.db.create_user(&user, None, identity).await {
            Err(CreateUserError::IdTaken) => continue,
            written => return Ok(written.map(|()| user)),
        }
    }
    Err(Error::internal(format!(
        "could not draw an unused user id in {USER_ID_DRAWS} tries"
    )))
}

/// Creates the account and signs it in. A phone number given is texted a
/// verification code; if that fails the account exists anyway and the code
/// can be asked for again.
pub async fn register(
    state: &AppState,
    account: NewAccount,
    source: &SourceIp,
) -> Result<TokenResponse> {
    registration_open(state)?;
    if let Err(err) = throttle::take(state, Limit::RegisterPerIp(source), state.now()).await {
        audit::record("register", None, Outcome::Failure, "rate_limited", None);
        return Err(err);
    }
    let customer = NewCustomer {
        password_hash: password::hash(account.password.expose().to_owned()).await?,
        email: account.email,
        full_name: account.full_name,
        pending_phone: account.phone_number,
    };
    match create_customer(state, &customer, None).await? {
        Ok(user) => signed_up(state, &user, account.platform, source).await,
        Err(CreateUserError::EmailTaken) => {
            audit::record("register", None, Outcome::Failure, "email_taken", None);
            Err(Error::EmailTaken)
        }
        Err(CreateUserError::Store(e)) => Err(e.into()),
        Err(refused) => Err(Error::internal(format!(
            "a new account without a phone slot or a link was refused: {refused}"
        ))),
    }
}

async fn signed_up(
    state: &AppState,
    user: &User,
    platform: Option<Platform>,
    source: &SourceIp,
) -> Result<TokenResponse> {
    audit::record(
        "register",
        Some(user.user_id.as_str()),
        Outcome::Success,
        "created",
        None,
    );
    let tokens = auth_sessions::start(state, user, Proof::password(false, platform)).await?;
    if user.pending_phone.is_some() {
        if let Err(err) = phone::send_verification(state, user, source).await {
            tracing::warn!(
                event = "phone_verification_not_sent",
                cause = %crate::domain::error::chain(&err)
            );
        }
    }
    Ok(tokens)
}

/// Login attempts reserved before the password is checked, so that of any
/// burst at most the per-email limit of passwords is ever checked.
struct Reservations {
    email: throttle::Taken,
    source: throttle::Taken,
}

/// Email and password, then the SMS code when the account has a second
/// factor. Attempts are counted per email (known or not, so a lock says
/// nothing about whether the account exists) and per source.
pub async fn login(
    state: &AppState,
    credentials: Credentials,
    source: &SourceIp,
) -> Result<TokenResponse> {
    let now = state.now();
    let by_email = Limit::LoginFailuresPerEmail(&credentials.email);
    let by_source = Limit::LoginFailuresPerIp(source);
    // The account is read while the attempt is reserved: the two are
    // independent, and the password is still checked only once both limits
    // have counted it. A refused attempt wastes one read, which tells the
    // caller nothing (the answer is the same 429 either way).
    let limits = [by_email, by_source];
    let (reservation, found) = tokio::join!(
        throttle::take_all(state, &limits, now),
        state.db.user_by_email(&credentials.email)
    );
    let reserved = match reservation {
        Ok(taken) => {
            let [email, source]: [throttle::Taken; 2] = taken
                .try_into()
                .map_err(|_| Error::internal("take_all returned another number of hits"))?;
            Reservations { email, source }
        }
        Err(err) => {
            if matches!(err, Error::RateLimited { .. }) {
                audit::record("login", None, Outcome::Locked, "too_many_failures", None);
            }
            return Err(err);
        }
    };

    let checked = async {
        let user = found?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password_ok = password::verify(credentials.password.expose().to_owned(), hash).await?;
        Ok::<_, Error>((user, password_ok))
    }
    .await;
    let user = match checked {
        Ok((Some(user), true)) => user,
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
            return Err(Error::InvalidCredentials);
        }
        Err(err) => {
            // Nothing was checked: an outage is not a wrong password.
            throttle::give_back(state, vec![reserved.email, reserved.source]).await;
            return Err(err);
        }
    };

    // A right password is not a failure: its reservations are given back,
    // while the sign-in goes on (one round trip less). Earlier failures stay
    // counted, so however attempts interleave, at most the limit of wrong
    // passwords is checked per email in a window.
    let (_, signed_in) = tokio::join!(
        throttle::give_back(state, vec![reserved.email, reserved.source]),
        sign_in(state, &user, &credentials, source)
    );
    signed_in
}

/// What follows a right password: the account's state, the second factor,
/// the session.
async fn sign_in(
    state: &AppState,
    user: &User,
    credentials: &Credentials,
    source: &SourceIp,
) -> Result<TokenResponse> {
    if user.suspended_at.is_some() {
        // Told apart from a wrong password in the audit line only.
        audit::record(
            "login",
            Some(user.user_id.as_str()),
            Outcome::Failure,
            "suspended",
            None,
        );
        return Err(Error::InvalidCredentials);
    }
    let proof = if user.mfa_enabled {
        second_factor(state, user, credentials.otp_code.as_ref(), source).await?;
        Proof::password(true, credentials.platform)
    } else {
        Proof::password(false, credentials.platform)
    };
    audit::record(
        "login",
        Some(user.user_id.as_str()),
        Outcome::Success,
        "authenticated",
        None,
    );
    auth_sessions::start(state, user, proof).await
}

/// The SMS second factor of a user whose password was right: without a code,
/// send one (to the verified number only) and answer `mfa_required`; with
/// one, check it.
async fn second_factor(
    state: &AppState,
    user: &User,
    code: Option<&OtpCode>,
    source: &SourceIp,
) -> Result<()> {
    let Some(code) = code else {
        let secrets = state.secrets().await?;
        // No verified number cannot receive a code: a decoy is stored and
        // nothing is sent, so the account fails closed.
        let phone = phone::verified(&secrets, user)?;
        codes::issue_code(
            state,
            CodeRequest {
                purpose: Purpose::Mfa,
                user: &user.user_id,
                source,
                destination: phone.as_ref(),
                destination_index: None,
                context: "",
                remembered: None,
                confirms: None,
                voice_session: None,
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
        return Err(Error::MfaRequired);
    };
    codes::check_code(
        state,
        CodeCheck {
            purpose: Purpose::Mfa,
            user: &user.user_id,
            source,
            code,
            context: "",
            expect_remembered: None,
        },
    )
    .await
    .map(|_| ())
}
