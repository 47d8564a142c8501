//! Auth sessions: one per sign-in. A session issues token pairs, rotates its
//! refresh token (catching reuse), ends at logout, and is what every bearer
//! route checks a token against.

use std::fmt;

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::adapters::secrets::Secrets;
use crate::adapters::store::auth_sessions::{AuthSession, Rotation};
use crate::adapters::store::users::User;
use crate::clock::UnixTime;
use crate::domain::access_tokens::{self, AccessClaims};
use crate::domain::audit::{self, Outcome};
use crate::domain::error::{Error, Result};
use crate::state::AppState;
use crate::types::{
    hex, AuthMethod, AuthSessionId, Platform, RefreshHash, RevocationReason, UserId,
};

/// A refresh token, `<sid>.<256 bits, base64url>`. Only its SHA-256 is
/// stored. The sid only finds the session; the rest is the secret. A
/// session's first token is random; each next one is derived from the one it
/// replaces with a keyed PRF, so a client retrying a refresh whose answer it
/// lost can be given the same successor again without the server ever
/// storing a token.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    sid: AuthSessionId,
    token: String,
}

/// Bytes of secret in a refresh token (and of its successor's PRF output).
const SECRET_BYTES: usize = 32;

impl RefreshToken {
    /// A session's first token.
    fn first(sid: &AuthSessionId) -> Self {
        let mut secret = [0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self::with_secret(sid, &secret)
    }

    fn with_secret(sid: &AuthSessionId, secret: &[u8]) -> Self {
        Self {
            sid: sid.clone(),
            token: format!("{sid}.{}", b64url(secret)),
        }
    }

    /// A presented token, if it is shaped like one of ours.
    pub fn parse(presented: &str) -> Option<Self> {
        let (sid, secret) = presented.split_once('.')?;
        let sid = AuthSessionId::parse(sid).ok()?;
        let secret_ok = secret.len() == b64url(&[0; SECRET_BYTES]).len()
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        secret_ok.then(|| Self {
            sid,
            token: presented.to_owned(),
        })
    }

    pub fn sid(&self) -> &AuthSessionId {
        &self.sid
    }

    /// The token that replaces this one (HMAC-SHA256 under a secret key):
    /// unpredictable without the key, the same every time for the same token.
    fn successor(&self, key: &[u8; 32]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(self.token.as_bytes());
        Self::with_secret(&self.sid, &mac.finalize().into_bytes())
    }

    /// What is stored of it.
    fn hash(&self) -> RefreshHash {
        RefreshHash::from_hex(hex(&Sha256::digest(self.token.as_bytes())))
    }

    pub fn expose(&self) -> &str {
        &self.token
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefreshToken({}.<redacted>)", self.sid)
    }
}

impl Serialize for RefreshToken {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.token)
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: RefreshToken,
    pub user: UserSummary,
}

#[derive(Debug, Serialize)]
pub struct UserSummary {
    pub user_id: String,
    pub email: String,
    pub full_name: String,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
}

impl From<&User> for UserSummary {
    fn from(u: &User) -> Self {
        Self {
            user_id: u.user_id.to_string(),
            email: u.email.to_string(),
            full_name: u.full_name.as_str().to_owned(),
            roles: u.roles.clone(),
            permissions: u.permissions.clone(),
        }
    }
}

/// How a sign-in was proven; becomes the session's `amr` and second-factor flag.
#[derive(Clone, Debug)]
pub struct Proof {
    pub amr: Vec<AuthMethod>,
    pub two_factor_verified: bool,
    pub platform: Option<Platform>,
    /// The external identity provider, for a federated sign-in.
    pub idp: Option<String>,
}

impl Proof {
    /// A password, or a password and its SMS second factor.
    pub fn password(with_sms_factor: bool, platform: Option<Platform>) -> Self {
        let amr = if with_sms_factor {
            vec![
                AuthMethod::Pwd,
                AuthMethod::Sms,
                AuthMethod::Otp,
                AuthMethod::Mfa,
            ]
        } else {
            vec![AuthMethod::Pwd]
        };
        Self {
            amr,
            two_factor_verified: with_sms_factor,
            platform,
            idp: None,
        }
    }

    /// A code sent by SMS, alone.
    pub fn sms_code(platform: Option<Platform>) -> Self {
        Self {
            amr: vec![AuthMethod::Otp, AuthMethod::Sms],
            two_factor_verified: false,
            platform,
            idp: None,
        }
    }

    /// A passkey with user verification: something held (the device's key)
    /// and something the user is or knows (biometric or device PIN), so it
    /// counts as a second factor (RFC 8176 `hwk` + `user`).
    pub fn passkey(platform: Option<Platform>) -> Self {
        Self {
            amr: vec![AuthMethod::Hwk, AuthMethod::User],
            two_factor_verified: true,
            platform,
            idp: None,
        }
    }

    /// An external identity provider's ID token; a second factor only when
    /// the provider is trusted to say so and said it (`amr` with `mfa`).
    pub fn federated(idp: &str, provider_mfa: bool, platform: Option<Platform>) -> Self {
        let mut amr = vec![AuthMethod::Fed];
        if provider_mfa {
            amr.push(AuthMethod::Mfa);
        }
        Self {
            amr,
            two_factor_verified: provider_mfa,
            platform,
            idp: Some(idp.to_owned()),
        }
    }

    /// The sign-in was a passkey with user verification.
    pub fn biometric(amr: &[AuthMethod]) -> bool {
        amr.contains(&AuthMethod::Hwk) && amr.contains(&AuthMethod::User)
    }
}

/// Starts an auth session for `user` and issues its first token pair. The
/// access token is signed before the session is written, so a failure leaves
/// either nothing or a session whose tokens the caller holds.
pub async fn start(state: &AppState, user: &User, proof: Proof) -> Result<TokenResponse> {
    let secrets = state.secrets().await?;
    let now = state.now();
    let sid = AuthSessionId::new_random();
    let refresh_token = RefreshToken::first(&sid);
    let session = AuthSession {
        sid,
        user_id: user.user_id.clone(),
        refresh_hash: refresh_token.hash(),
        prev_hash: None,
        rotated_at: None,
        created_at: now,
        expires_at: now + state.config.refresh_token_ttl.as_secs() as i64,
        revoked_at: None,
        amr: proof.amr,
        platform: proof.platform,
        two_factor_verified: proof.two_factor_verified,
        idp: proof.idp,
    };
    let response = token_pair(state, &secrets, user, &session, refresh_token)?;
    state.db.create_session(&session).await?;
    audit::record(
        "token_issued",
        Some(user.user_id.as_str()),
        Outcome::Success,
        "issued",
        Some(&format!("sid={}", session.sid)),
    );
    Ok(response)
}

/// Signs an access token for a live session and packs it with `refresh_token`.
fn token_pair(
    state: &AppState,
    secrets: &Secrets,
    user: &User,
    session: &AuthSession,
    refresh_token: RefreshToken,
) -> Result<TokenResponse> {
    let now = state.now();
    let ttl = state.config.access_token_ttl.as_secs();
    let claims = AccessClaims {
        iss: state.config.token_issuer.clone(),
        aud: state.config.token_audience.clone(),
        sub: user.user_id.to_string(),
        iat: now,
        nbf: now,
        exp: now + ttl as i64,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: session.sid.to_string(),
        email: user.email.to_string(),
        name: user.full_name.as_str().to_owned(),
        roles: user.roles.clone(),
        permissions: user.permissions.clone(),
        platform: session.platform,
        amr: session.amr.clone(),
        two_factor_verified: session.two_factor_verified,
        biometric_verified: Proof::biometric(&session.amr),
        idp: session.idp.clone(),
    };
    let access_token = access_tokens::sign(secrets, &claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token,
        user: UserSummary::from(user),
    })
}

/// Trades a refresh token for a new pair. Of N parallel refreshes with the
/// same token exactly one rotates; a client repeating a refresh whose answer
/// it lost gets the same successor within the grace window; a rotated token
/// presented after that revokes the session (it was stolen, or the client
/// is broken, and either way the session can no longer be trusted).
pub async fn refresh(state: &AppState, presented: &RefreshToken) -> Result<TokenResponse> {
    let sid = presented.sid();
    let now = state.now();
    let secrets = state.secrets().await?;
    let successor = presented.successor(&secrets.refresh_successor_key);
    let hashes = RotationHashes {
        presented: presented.hash(),
        successor: successor.hash(),
    };
    let unknown = || {
        audit::record(
            "refresh",
            None,
            Outcome::Failure,
            "unknown_or_dead_session",
            None,
        );
        Error::InvalidToken
    };
    let session = match state
        .db
        .rotate_refresh(sid, &hashes.presented, &hashes.successor, now)
        .await?
    {
        Rotation::Rotated(session) => session,
        Rotation::NotCurrent { session, .. }
            if hashes.retried_within_grace(&session, state, now) =>
        {
            // The client lost the answer to the rotation it caused: the
            // same successor again, nothing rotated, nothing revoked.
            audit_refresh(&session, Outcome::Success, "retry_within_grace");
            session
        }
        Rotation::NotCurrent {
            session,
            was_rotated: true,
        } => {
            state
                .db
                .revoke_session(sid, now, RevocationReason::RefreshTokenReuse)
                .await?;
            audit_refresh(
                &session,
                Outcome::Locked,
                "refresh_token_reuse_session_revoked",
            );
            return Err(Error::InvalidToken);
        }
        Rotation::NotCurrent { .. } | Rotation::Unknown => return Err(unknown()),
    };
    // The user is read again so role changes reach the next access token;
    // a deleted or suspended user ends the session.
    let user = match state.db.user(&session.user_id).await? {
        Some(user) if user.suspended_at.is_none() => user,
        gone_or_suspended => {
            let reason = if gone_or_suspended.is_some() {
                RevocationReason::UserSuspended
            } else {
                RevocationReason::UserGone
            };
            state.db.revoke_session(sid, now, reason).await?;
            audit_refresh(&session, Outcome::Failure, reason.as_str());
            return Err(Error::InvalidToken);
        }
    };
    audit_refresh(&session, Outcome::Success, "rotated");
    token_pair(state, &secrets, &user, &session, successor)
}

fn audit_refresh(session: &AuthSession, outcome: Outcome, reason: &str) {
    audit::record(
        "refresh",
        Some(session.user_id.as_str()),
        outcome,
        reason,
        Some(&format!("sid={}", session.sid)),
    );
}

/// The stored forms of the presented token and of its successor.
struct RotationHashes {
    presented: RefreshHash,
    successor: RefreshHash,
}

impl RotationHashes {
    /// The presented token is the one just rotated away, within the grace
    /// window, its successor is still the session's current token, and the
    /// session is live: a client retrying after a lost response.
    fn retried_within_grace(&self, session: &AuthSession, state: &AppState, now: UnixTime) -> bool {
        let grace = state.config.limits.refresh_reuse_grace_seconds;
        grace > 0
            && session.is_live(now)
            && session.prev_hash.as_ref() == Some(&self.presented)
            && session.refresh_hash == self.successor
            && session.rotated_at.is_some_and(|at| now - at <= grace)
    }
}

/// A verified bearer token whose auth session is still live.
#[derive(Debug)]
pub struct Authenticated {
    pub claims: AccessClaims,
    pub session: AuthSession,
}

/// Verifies a bearer token and checks its session has not been revoked, so
/// logout takes effect at once on every bearer route.
pub async fn authenticate(state: &AppState, bearer: &str) -> Result<Authenticated> {
    let (claims, sid) = verified_claims(state, bearer).await?;
    let session = state.db.session(&sid).await?;
    live(state, claims, session)
}

/// [`authenticate`] and the signed-in user as stored now (a user deleted
/// since is signed out), the two reads sent together: the user id is in the
/// verified token, so the session read need not come first.
pub async fn authenticate_user(state: &AppState, bearer: &str) -> Result<(Authenticated, User)> {
    let (claims, sid) = verified_claims(state, bearer).await?;
    let user_id = UserId::parse(&claims.sub).map_err(|_| Error::InvalidToken)?;
    let (session, user) = state.db.session_and_user(&sid, &user_id).await?;
    let auth = live(state, claims, session)?;
    let user = user.ok_or(Error::InvalidToken)?;
    Ok((auth, user))
}

async fn verified_claims(state: &AppState, bearer: &str) -> Result<(AccessClaims, AuthSessionId)> {
    let secrets = state.secrets().await?;
    let claims = access_tokens::verify(
        &secrets,
        &state.config.token_issuer,
        &state.config.token_audience,
        state.now(),
        bearer,
    )?;
    let sid = AuthSessionId::parse(&claims.sid).map_err(|_| Error::InvalidToken)?;
    Ok((claims, sid))
}

/// The claims with their session, when it is live and theirs.
fn live(
    state: &AppState,
    claims: AccessClaims,
    session: Option<AuthSession>,
) -> Result<Authenticated> {
    let session = session.ok_or(Error::InvalidToken)?;
    if !session.is_live(state.now()) || session.user_id.as_str() != claims.sub {
        return Err(Error::InvalidToken);
    }
    Ok(Authenticated { claims, session })
}

/// Ends the session the bearer token belongs to: the token is verified,
/// then one conditional write revokes the session only if it is still live
/// and the token's user's (so it is also the bearer check).
pub async fn logout(state: &AppState, bearer: &str) -> Result<()> {
    let (claims, sid) = verified_claims(state, bearer).await?;
    let revoked = state
        .db
        .revoke_live_session(&sid, &claims.sub, state.now(), RevocationReason::Logout)
        .await?;
    if !revoked {
        return Err(Error::InvalidToken);
    }
    audit::record(
        "logout",
        Some(&claims.sub),
        Outcome::Success,
        "session_revoked",
        Some(&format!("sid={sid}")),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_256_bit_and_parse_back() {
        let sid = AuthSessionId::new_random();
        let (a, b) = (RefreshToken::first(&sid), RefreshToken::first(&sid));
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
        assert_eq!(RefreshToken::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.expose().len(), 32 + 1 + 43);
        assert!(!a.hash().as_str().contains(&a.expose()[33..]));
        assert!(!format!("{a:?}").contains(&a.expose()[33..]));
        // Successors look like any token, differ per token and per key, and repeat.
        let next = a.successor(&[1; 32]);
        assert_eq!(RefreshToken::parse(next.expose()), Some(next.clone()));
        assert_eq!(next, a.successor(&[1; 32]));
        assert_ne!(next, a.successor(&[2; 32]));
        assert_ne!(next, b.successor(&[1; 32]));
        for bad in [
            "",
            "abc",
            &format!("{sid}."),
            &format!("{sid}.{}", "x".repeat(44)),
            &format!("{}.{}", "Z".repeat(32), "x".repeat(43)),
            "zz.zz",
        ] {
            assert_eq!(RefreshToken::parse(bad), None, "{bad}");
        }
    }
}
