//! Which limit guards which action, the key it counts under and its window:
//! the one place rate-limit keys are built (docs/data-model.md lists them).

use futures_util::future::join_all;

use crate::adapters::store::windows::{Admission, Hit, Window};
use crate::clock::UnixTime;
use crate::config::Limits;
use crate::domain::error::{Error, Result};
use crate::state::AppState;
use crate::types::CodePurpose as Purpose;
use crate::types::{Email, PhoneIndex, SourceIp, UserId, VoiceSessionId};

/// One countable limit of the contract.
#[derive(Clone, Copy, Debug)]
pub enum Limit<'a> {
    RegisterPerIp(&'a SourceIp),
    LoginFailuresPerEmail(&'a Email),
    LoginFailuresPerIp(&'a SourceIp),
    CodeResend(Purpose, &'a UserId),
    CodesPerHour(Purpose, &'a UserId),
    SignInCodesPerIp(&'a SourceIp),
    VerificationCodesPerPhone(&'a PhoneIndex),
    CodeFailuresPerUser(Purpose, &'a UserId),
    CodeFailuresPerUserSource(Purpose, &'a UserId, &'a SourceIp),
    ConnectionDetailsPerUser(&'a UserId),
    ConnectionDetailsPerIp(&'a SourceIp),
    /// In-call sign-in and step-up codes asked within one voice session.
    CodesPerVoiceSession(&'a VoiceSessionId),
    /// Passkey ceremonies (sign-in starts, registration starts) per source.
    PasskeyCeremoniesPerIp(&'a SourceIp),
    /// Federated sign-ins per source (each may fetch a provider's keys).
    OidcSignInsPerIp(&'a SourceIp),
}

impl Limit<'_> {
    pub fn key(&self) -> String {
        match self {
            Limit::RegisterPerIp(ip) => format!("register_ip#{ip}"),
            Limit::LoginFailuresPerEmail(email) => format!("login_failures#{email}"),
            Limit::LoginFailuresPerIp(ip) => format!("login_failures_ip#{ip}"),
            Limit::CodeResend(p, user) => format!("otp_cooldown#{}#{user}", p.name()),
            Limit::CodesPerHour(p, user) => format!("otp_hourly#{}#{user}", p.name()),
            Limit::SignInCodesPerIp(ip) => format!("otp_ip#{ip}"),
            Limit::VerificationCodesPerPhone(phone) => format!("otp_phone#{phone}"),
            Limit::CodeFailuresPerUser(p, user) => format!("otp_failures#{}#{user}", p.name()),
            Limit::CodeFailuresPerUserSource(p, user, ip) => {
                format!("otp_failures#{}#{user}#{ip}", p.name())
            }
            Limit::ConnectionDetailsPerUser(user) => format!("connection_details#{user}"),
            Limit::ConnectionDetailsPerIp(ip) => format!("connection_details_ip#{ip}"),
            Limit::CodesPerVoiceSession(session) => format!("otp_voice#{session}"),
            Limit::PasskeyCeremoniesPerIp(ip) => format!("passkey_ip#{ip}"),
            Limit::OidcSignInsPerIp(ip) => format!("oidc_ip#{ip}"),
        }
    }

    pub fn window(&self, l: &Limits) -> Window {
        match self {
            Limit::RegisterPerIp(_) => l.register_per_ip,
            Limit::LoginFailuresPerEmail(_) => l.login_failures_per_email,
            Limit::LoginFailuresPerIp(_) => l.login_failures_per_ip,
            Limit::CodeResend(..) => l.otp_resend_after,
            Limit::CodesPerHour(Purpose::PhoneVerification, _) => l.phone_verifications_per_user,
            Limit::CodesPerHour(..) => l.otp_requests_per_user,
            Limit::SignInCodesPerIp(_) => l.otp_requests_per_ip,
            Limit::VerificationCodesPerPhone(_) => l.phone_verifications_per_phone,
            Limit::CodeFailuresPerUser(..) => l.otp_failures_per_user,
            Limit::CodeFailuresPerUserSource(..) => l.otp_failures_per_user_source,
            Limit::ConnectionDetailsPerUser(_) => l.connection_details_per_user,
            Limit::ConnectionDetailsPerIp(_) => l.connection_details_per_ip,
            Limit::CodesPerVoiceSession(_) => l.otp_requests_per_user,
            Limit::PasskeyCeremoniesPerIp(_) => l.passkey_ceremonies_per_ip,
            Limit::OidcSignInsPerIp(_) => l.oidc_sign_ins_per_ip,
        }
    }
}

/// A hit taken under a limit, which can be given back.
#[derive(Clone, Debug)]
pub struct Taken {
    key: String,
    pub hit: Hit,
}

/// Takes one hit under each limit, in the order given (put the tightest
/// first), stopping at the first that is full: the hits already taken are
/// given back and the answer is 429 with that limit's wait.
///
/// In order, not all at once: taken concurrently and given back on any
/// refusal, N racing requests can each win one limit and lose another, so
/// that none is served (the cooldown's winner losing an hourly slot to
/// requests that then lose the cooldown).
pub async fn take_all(state: &AppState, limits: &[Limit<'_>], now: UnixTime) -> Result<Vec<Taken>> {
    let mut taken = Vec::with_capacity(limits.len());
    for limit in limits {
        let key = limit.key();
        match state
            .db
            .hit(&key, limit.window(&state.config.limits), now)
            .await
        {
            Ok(Admission::Admitted(hit)) => taken.push(Taken { key, hit }),
            Ok(Admission::Refused { retry_after }) => {
                give_back(state, taken).await;
                return Err(Error::RateLimited { retry_after });
            }
            Err(e) => {
                give_back(state, taken).await;
                return Err(e.into());
            }
        }
    }
    Ok(taken)
}

/// Takes one hit under `limit`.
pub async fn take(state: &AppState, limit: Limit<'_>, now: UnixTime) -> Result<Taken> {
    let mut taken = take_all(state, &[limit], now).await?;
    taken
        .pop()
        .ok_or_else(|| Error::internal("take_all returned no hit"))
}

/// Gives hits back (the work they reserved did not count). Best effort: a
/// failure only leaves a limit slightly tighter, so it is logged, not raised.
pub async fn give_back(state: &AppState, taken: Vec<Taken>) {
    let results = join_all(taken.iter().map(|t| state.db.release(&t.key, t.hit))).await;
    for (t, result) in taken.iter().zip(results) {
        if let Err(err) = result {
            tracing::warn!(
                event = "limit_release_failed",
                key_kind = t.key.split('#').next().unwrap_or(""),
                cause = %err
            );
        }
    }
}

/// Counts one more event under each limit whatever the count (failure
/// counters); true when any of them has now reached its limit.
pub async fn count_all(state: &AppState, limits: &[Limit<'_>], now: UnixTime) -> Result<bool> {
    let counts = join_all(limits.iter().map(|l| {
        let (key, window) = (l.key(), l.window(&state.config.limits));
        async move {
            let hits = state.db.count(&key, window.seconds, now).await?;
            Ok::<bool, Error>(hits >= window.limit)
        }
    }))
    .await;
    let mut reached = false;
    for c in counts {
        reached |= c?;
    }
    Ok(reached)
}

/// Refuses when any of `limits` is full; otherwise says which of them have
/// hits counted, so a success clears only those (most successes clear none,
/// and save the writes).
pub async fn refuse_if_reached(
    state: &AppState,
    limits: &[Limit<'_>],
    now: UnixTime,
) -> Result<Vec<bool>> {
    let (windows, asked): (Vec<_>, Vec<(String, i64)>) = limits
        .iter()
        .map(|l| {
            let window = l.window(&state.config.limits);
            (window, (l.key(), window.seconds))
        })
        .unzip();
    let usages = state.db.usages(&asked, now).await?;
    let mut retry_after = None;
    let mut counted = Vec::with_capacity(limits.len());
    for (usage, window) in usages.into_iter().zip(&windows) {
        let usage = usage.map(|u| (u.hits, u.hits >= window.limit, u.resets_in));
        if let Some((_, true, resets_in)) = usage {
            retry_after = Some(retry_after.unwrap_or(0).max(resets_in));
        }
        counted.push(usage.is_some_and(|(hits, _, _)| hits > 0));
    }
    match retry_after {
        Some(retry_after) => Err(Error::RateLimited { retry_after }),
        None => Ok(counted),
    }
}

/// Clears the counters `counted` marks (a success resets consecutive
/// failures).
pub async fn clear_counted(state: &AppState, limits: &[Limit<'_>], counted: &[bool]) -> Result<()> {
    let results = join_all(
        limits
            .iter()
            .zip(counted)
            .filter(|(_, counted)| **counted)
            .map(|(l, _)| {
                let key = l.key();
                async move { state.db.clear_window(&key).await }
            }),
    )
    .await;
    results
        .into_iter()
        .collect::<std::result::Result<(), _>>()?;
    Ok(())
}

/// Keeps a full window full for another window length from `now` (a lockout).
pub async fn hold_full(state: &AppState, limit: Limit<'_>, now: UnixTime) -> Result<()> {
    state
        .db
        .hold_full(&limit.key(), limit.window(&state.config.limits), now)
        .await?;
    Ok(())
}
