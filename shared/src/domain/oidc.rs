//! Federated sign-in: a trusted identity provider's ID token (as Sign in
//! with Apple or Google hands it to a mobile app) exchanged for our tokens.
//!
//! The token must be signed by a key the provider publishes, with an
//! algorithm the provider is configured for (never `none`, never HMAC), for
//! one of our client ids, unexpired by our clock, with the nonce the client
//! gives, and exchanged only once. It then signs in the user its identity is
//! linked to; failing that, the user with the same email when the provider
//! verified it and is trusted to; failing that, a new user (when
//! registration is on). An unverified email never finds or makes an account.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::adapters::password;
use crate::adapters::store::federation::ExternalIdentity;
use crate::adapters::store::users::{CreateUserError, User};
use crate::clock::UnixTime;
use crate::config::OidcProvider;
use crate::domain::accounts::{create_customer, NewCustomer};
use crate::domain::audit::{self, Outcome};
use crate::domain::auth_sessions::{self, Proof, TokenResponse};
use crate::domain::error::{Error, Result};
use crate::domain::throttle::{self, Limit};
use crate::state::AppState;
use crate::types::{hex, Email, FullName, Platform, SourceIp, UserId};

/// Clock skew allowed on `exp`, `iat` and `nbf`.
const LEEWAY_SECONDS: i64 = 60;
/// Longest `sub` accepted (OIDC Core says 255 ASCII characters).
const MAX_SUBJECT_CHARS: usize = 255;

/// An email claim that providers send as a boolean or, like Apple, as a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    fn is_true(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Text(t) => t == "true",
        }
    }
}

/// The claims of an ID token we read (the library checks `iss` and `aud`).
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    exp: UnixTime,
    iat: UnixTime,
    #[serde(default)]
    nbf: Option<UnixTime>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Flag>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    amr: Option<Vec<String>>,
}

/// Only `iss`, read before the signature is checked to choose the provider.
#[derive(Deserialize)]
struct Unverified {
    iss: String,
}

fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<Unverified>(&bytes)
        .ok()
        .map(|u| u.iss)
}

/// What a refused token is audited as, and the refusal.
fn refuse(provider: Option<&str>, reason: &str) -> Error {
    let detail = format!("method=oidc provider={}", provider.unwrap_or("-"));
    audit::record("login", None, Outcome::Failure, reason, Some(&detail));
    Error::IdTokenRefused
}

/// Checks the token against its provider; its claims when it holds.
async fn verified_claims<'p>(
    state: &'p AppState,
    token: &str,
    nonce: Option<&str>,
) -> Result<(&'p OidcProvider, IdClaims)> {
    let providers = &state.config.oidc_providers;
    let header = jsonwebtoken::decode_header(token).map_err(|_| refuse(None, "malformed"))?;
    let issuer = unverified_issuer(token).ok_or_else(|| refuse(None, "malformed"))?;
    let provider = providers
        .iter()
        .find(|p| p.issuer == issuer)
        .ok_or_else(|| refuse(None, "untrusted_issuer"))?;
    let name = Some(provider.name.as_str());
    if !provider.algorithms.iter().any(|a| a.jwt() == header.alg) {
        return Err(refuse(name, "algorithm_not_allowed"));
    }
    let kid = header
        .kid
        .as_deref()
        .ok_or_else(|| refuse(name, "no_key_id"))?;
    let now = state.now();
    let keys = state
        .jwks
        .keys_for(&provider.jwks_uri, kid, now)
        .await
        .map_err(|e| Error::Unavailable(Box::new(e)))?;
    let jwk = keys.find(kid).ok_or_else(|| refuse(name, "unknown_key"))?;
    // A key that names its algorithm is used with that one only.
    let key_alg_ok = jwk
        .common
        .key_algorithm
        .is_none_or(|a| a.to_string() == format!("{:?}", header.alg));
    if !key_alg_ok {
        return Err(refuse(name, "algorithm_not_allowed"));
    }
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|_| refuse(name, "unusable_key"))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[&provider.issuer]);
    validation.set_audience(&provider.audiences);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // Time is judged below by the injected clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .map_err(|_| refuse(name, "signature_or_claims"))?
        .claims;
    let timely = now < claims.exp + LEEWAY_SECONDS
        && claims.iat <= now + LEEWAY_SECONDS
        && claims.nbf.is_none_or(|nbf| nbf <= now + LEEWAY_SECONDS);
    if !timely {
        return Err(refuse(name, "expired_or_not_yet_valid"));
    }
    if claims
        .azp
        .as_ref()
        .is_some_and(|azp| !provider.audiences.contains(azp))
    {
        return Err(refuse(name, "wrong_authorized_party"));
    }
    if let Some(expected) = nonce {
        let matches = claims
            .nonce
            .as_deref()
            .is_some_and(|got| bool::from(got.as_bytes().ct_eq(expected.as_bytes())));
        if !matches {
            return Err(refuse(name, "nonce_mismatch"));
        }
    }
    let subject_ok = (1..=MAX_SUBJECT_CHARS).contains(&claims.sub.len())
        && claims.sub.bytes().all(|b| b.is_ascii_graphic());
    if !subject_ok {
        return Err(refuse(name, "bad_subject"));
    }
    Ok((provider, claims))
}

/// Exchanges a provider's ID token for our token pair.
pub async fn sign_in(
    state: &AppState,
    token: &str,
    nonce: Option<&str>,
    platform: Option<Platform>,
    source: &SourceIp,
) -> Result<TokenResponse> {
    if let Err(err) = throttle::take(state, Limit::OidcSignInsPerIp(source), state.now()).await {
        audit::record(
            "login",
            None,
            Outcome::Failure,
            "rate_limited",
            Some("method=oidc"),
        );
        return Err(err);
    }
    let (provider, claims) = verified_claims(state, token, nonce).await?;
    let name = provider.name.as_str();
    // One sign-in per ID token: a token copied from a device cannot start a second session.
    let token_hash = hex(&Sha256::digest(token.as_bytes()));
    if !state.db.spend_id_token(&token_hash, claims.exp).await? {
        return Err(refuse(Some(name), "replayed"));
    }
    let identity = ExternalIdentity {
        provider: name,
        subject: &claims.sub,
    };
    let user = user_for(state, provider, identity, &claims).await?;
    if user.suspended_at.is_some() {
        let detail = format!("method=oidc provider={name}");
        audit::record(
            "login",
            Some(user.user_id.as_str()),
            Outcome::Locked,
            "suspended",
            Some(&detail),
        );
        return Err(Error::IdTokenRefused);
    }
    let provider_mfa = provider.trust_mfa
        && claims
            .amr
            .as_ref()
            .is_some_and(|amr| amr.iter().any(|m| m == "mfa"));
    audit::record(
        "login",
        Some(user.user_id.as_str()),
        Outcome::Success,
        "authenticated",
        Some(&format!("method=oidc provider={name}")),
    );
    auth_sessions::start(state, &user, Proof::federated(name, provider_mfa, platform)).await
}

/// The user the identity signs in as: linked, found by a verified email
/// (and linked), or created with the link.
async fn user_for(
    state: &AppState,
    provider: &OidcProvider,
    identity: ExternalIdentity<'_>,
    claims: &IdClaims,
) -> Result<User> {
    let name = Some(provider.name.as_str());
    if let Some(linked) = state.db.linked_user(identity).await? {
        return existing(state, &linked, name).await;
    }
    let verified =
        provider.trust_email && claims.email_verified.as_ref().is_some_and(Flag::is_true);
    let email = match (&claims.email, verified) {
        (Some(email), true) => Email::parse(email).map_err(|_| refuse(name, "email_unusable"))?,
        _ => {
            let detail = format!("method=oidc provider={}", provider.name);
            audit::record(
                "login",
                None,
                Outcome::Failure,
                "email_unverified",
                Some(&detail),
            );
            return Err(Error::EmailUnverified);
        }
    };
    let now = state.now();
    if let Some(user) = state.db.user_by_email(&email).await? {
        let linked = state.db.link_identity(identity, &user.user_id, now).await?;
        audit::record(
            "identity_linked",
            Some(linked.as_str()),
            Outcome::Success,
            "verified_email",
            Some(&format!("provider={}", provider.name)),
        );
        return existing(state, &linked, name).await;
    }
    if !state.config.registration_enabled {
        return Err(Error::RegistrationDisabled);
    }
    create(state, provider, identity, claims, email).await
}

async fn existing(state: &AppState, id: &UserId, provider: Option<&str>) -> Result<User> {
    state
        .db
        .user(id)
        .await?
        .ok_or_else(|| refuse(provider, "user_gone"))
}

/// A new account for the identity. It has no password anyone knows (a
/// random one, hashed), so it signs in through the provider, a passkey or
/// an SMS code once it has a phone.
async fn create(
    state: &AppState,
    provider: &OidcProvider,
    identity: ExternalIdentity<'_>,
    claims: &IdClaims,
    email: Email,
) -> Result<User> {
    use rand::RngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let password_hash = password::hash(hex(&secret)).await?;
    let full_name = claims
        .name
        .as_deref()
        .and_then(|n| FullName::parse(n).ok())
        .or_else(|| FullName::parse(email.as_str().split('@').next().unwrap_or("")).ok())
        .unwrap_or_else(|| FullName::parse("Customer").expect("a valid name"));
    let customer = NewCustomer {
        email,
        full_name,
        password_hash,
        pending_phone: None,
    };
    match create_customer(state, &customer, Some(identity)).await? {
        Ok(user) => {
            audit::record(
                "register",
                Some(user.user_id.as_str()),
                Outcome::Success,
                "created",
                Some(&format!("method=oidc provider={}", provider.name)),
            );
            Ok(user)
        }
        // A racing first sign-in of the same identity won: use its user.
        Err(CreateUserError::IdentityLinked) => {
            let linked = state.db.linked_user(identity).await?;
            let linked = linked.ok_or_else(|| Error::internal("identity link vanished"))?;
            existing(state, &linked, Some(&provider.name)).await
        }
        Err(CreateUserError::EmailTaken) => {
            audit::record(
                "register",
                None,
                Outcome::Failure,
                "email_taken",
                Some("method=oidc"),
            );
            Err(Error::EmailTaken)
        }
        Err(CreateUserError::Store(e)) => Err(e.into()),
        Err(refused) => Err(Error::internal(format!(
            "a federated account without a phone slot was refused: {refused}"
        ))),
    }
}
