//! Auth sessions and the tokens they issue, and bearer authentication.

use base64::Engine;
use hmac::{Hmac, Mac};
use lambda_http::Request;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, Outcome};
use crate::error::ApiError;
use crate::http::bearer_token;
use crate::secrets::Secrets;
use crate::state::AppState;
use crate::store::sessions::AuthSession;
use crate::store::users::User;
use crate::tokens::{self, AccessClaims, AuthMethod};
use crate::types::Platform;

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
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

/// How a login was proven; becomes the session's `amr` and second-factor flag.
#[derive(Clone, Debug)]
pub struct Proof {
    pub amr: Vec<AuthMethod>,
    pub two_factor_verified: bool,
    pub platform: Option<Platform>,
}

/// A refresh token is `<sid>.<256 bits, base64url>`; only its SHA-256 is
/// stored. The sid only finds the session; the rest is the secret. A
/// session's first token is random; each next one is derived from the one it
/// replaces with a keyed PRF, so a client retrying a refresh whose answer it
/// lost can be given the same successor again without the server ever
/// storing a token.
pub fn new_refresh_token(sid: &str) -> (String, String) {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("{sid}.{}", b64url(&secret));
    let hash = refresh_hash(&token);
    (token, hash)
}

/// The token that replaces `presented` (HMAC-SHA256 under a secret key):
/// unpredictable without the key, the same every time for the same token.
pub fn successor_token(key: &[u8; 32], sid: &str, presented: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(presented.as_bytes());
    format!("{sid}.{}", b64url(&mac.finalize().into_bytes()))
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn refresh_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits a presented refresh token into its session id; `None` if it is not
/// shaped like one of ours.
pub fn refresh_token_sid(token: &str) -> Option<&str> {
    let (sid, secret) = token.split_once('.')?;
    let sid_ok = sid.len() == 32 && sid.bytes().all(|b| b.is_ascii_hexdigit());
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (sid_ok && secret_ok).then_some(sid)
}

/// Starts an auth session for `user` and issues its first token pair. The
/// access token is signed before the session is written, so a failure leaves
/// either nothing or a session whose tokens the caller holds.
pub async fn start_session(
    state: &AppState,
    user: &User,
    proof: Proof,
) -> Result<TokenResponse, ApiError> {
    let secrets = state.secrets().await?;
    let now = state.now();
    let sid = uuid::Uuid::new_v4().simple().to_string();
    let (refresh_token, refresh_hash) = new_refresh_token(&sid);
    let session = AuthSession {
        sid: sid.clone(),
        user_id: user.user_id.clone(),
        refresh_hash,
        prev_hash: None,
        rotated_at: None,
        created_at: now,
        expires_at: now + state.config.refresh_token_ttl.as_secs() as i64,
        revoked_at: None,
        amr: proof.amr,
        platform: proof.platform,
        two_factor_verified: proof.two_factor_verified,
    };
    let response = token_response(state, &secrets, user, &session, refresh_token)?;
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

/// Signs an access token for a live session and packs the token response.
pub fn token_response(
    state: &AppState,
    secrets: &Secrets,
    user: &User,
    session: &AuthSession,
    refresh_token: String,
) -> Result<TokenResponse, ApiError> {
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
        sid: session.sid.clone(),
        email: user.email.to_string(),
        name: user.full_name.as_str().to_owned(),
        roles: user.roles.clone(),
        permissions: user.permissions.clone(),
        platform: session.platform,
        amr: session.amr.clone(),
        two_factor_verified: session.two_factor_verified,
    };
    let access_token = tokens::sign(secrets, &claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token,
        user: UserSummary::from(user),
    })
}

/// A verified bearer token whose auth session is still live.
#[derive(Debug)]
pub struct Authenticated {
    pub claims: AccessClaims,
    pub session: AuthSession,
}

/// Verifies the bearer token and checks its session has not been revoked,
/// so logout takes effect at once on every bearer route.
pub async fn authenticate(state: &AppState, req: &Request) -> Result<Authenticated, ApiError> {
    let token = bearer_token(req).ok_or(ApiError::InvalidToken)?;
    let secrets = state.secrets().await?;
    let now = state.now();
    let claims = tokens::verify(
        &secrets,
        &state.config.token_issuer,
        &state.config.token_audience,
        now,
        token,
    )?;
    let session = state
        .db
        .session(&claims.sid)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    if !session.is_live(now) || session.user_id.as_str() != claims.sub {
        return Err(ApiError::InvalidToken);
    }
    Ok(Authenticated { claims, session })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_256_bit_and_parse_back() {
        let sid = uuid::Uuid::new_v4().simple().to_string();
        let (a, ha) = new_refresh_token(&sid);
        let (b, hb) = new_refresh_token(&sid);
        // Successors look like any token, differ per token and per key, and repeat.
        let next = successor_token(&[1; 32], &sid, &a);
        assert_eq!(refresh_token_sid(&next), Some(sid.as_str()));
        assert_eq!(next, successor_token(&[1; 32], &sid, &a));
        assert_ne!(next, successor_token(&[2; 32], &sid, &a));
        assert_ne!(next, successor_token(&[1; 32], &sid, &b));
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert_eq!(refresh_token_sid(&a), Some(sid.as_str()));
        assert_eq!(ha, refresh_hash(&a));
        assert!(!ha.contains(&a[33..]));
        for bad in [
            "",
            "abc",
            &format!("{sid}."),
            &format!("{sid}.{}", "x".repeat(44)),
            "zz.zz",
        ] {
            assert_eq!(refresh_token_sid(bad), None, "{bad}");
        }
    }
}
