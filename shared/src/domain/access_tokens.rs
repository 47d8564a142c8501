//! voicegate's own access tokens: ES256 JWTs with `kid` and `typ: at+jwt`.
//!
//! Verification pins the algorithm, requires our `typ` and a known `kid`, and
//! checks `iss`, `aud`, `exp`, `nbf` against the injected clock with at most
//! [`LEEWAY_SECONDS`] of leeway. `none`, HS256 (including HS256 keyed with our public key)
//! and foreign keys are refused because only ES256 with one of our keys can pass.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::adapters::secrets::Secrets;
use crate::clock::UnixTime;
use crate::domain::error::{Error, Result};
use crate::state::AppState;
use crate::types::{AuthMethod, Platform};

pub const TOKEN_TYPE: &str = "at+jwt";
pub const LEEWAY_SECONDS: i64 = 30;

/// Header parameters that would let a token name its own key (`jku`, `x5u`,
/// `jwk`, `x5c`) or demand processing we do not do (`crit`, `b64`). We never
/// take keys from a token, so a token carrying any of them is refused.
const FORBIDDEN_HEADERS: [&str; 6] = ["jku", "x5u", "jwk", "x5c", "crit", "b64"];

/// The header of a JWS in compact serialisation, read before any signature
/// work: exactly three non-empty base64url segments (no padding, no
/// whitespace, no JSON serialisation), a JSON object header, and none of
/// [`FORBIDDEN_HEADERS`].
#[derive(Debug, PartialEq, Eq)]
pub struct CompactHeader {
    /// Exactly as sent (case-sensitive: `none`, `None` and `HS256` are not `ES256`).
    pub alg: String,
    /// Lower-cased, without an `application/` prefix (media types compare
    /// case-insensitively).
    pub typ: Option<String>,
    pub kid: Option<String>,
}

impl CompactHeader {
    pub fn parse(token: &str) -> Option<Self> {
        use base64::Engine;
        let segments: Vec<&str> = token.split('.').collect();
        let base64url = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if segments.len() != 3 || !segments.iter().all(|s| base64url(s)) {
            return None;
        }
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segments[0])
            .ok()?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&raw).ok()?;
        if FORBIDDEN_HEADERS.iter().any(|h| header.contains_key(*h)) {
            return None;
        }
        let text = |k: &str| match header.get(k) {
            None => Some(None),
            Some(v) => v.as_str().map(|s| Some(s.to_owned())),
        };
        let typ = text("typ")?.map(|t| {
            let t = t.to_ascii_lowercase();
            t.strip_prefix("application/").unwrap_or(&t).to_owned()
        });
        Some(Self {
            alg: text("alg")??,
            typ,
            kid: text("kid")?,
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: UnixTime,
    pub nbf: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    /// The auth session this token belongs to.
    pub sid: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    pub amr: Vec<AuthMethod>,
    pub two_factor_verified: bool,
    /// A passkey with user verification (on a phone, the biometric) signed in.
    #[serde(default)]
    pub biometric_verified: bool,
    /// The external identity provider a federated sign-in came through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
}

impl AccessClaims {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

pub fn sign(secrets: &Secrets, claims: &AccessClaims) -> Result<String> {
    sign_as(secrets, TOKEN_TYPE, claims)
}

/// The public keys that verify our tokens, as a JWKS. Retired keys stay
/// listed while tokens they signed can still be valid.
pub async fn published_keys(state: &AppState) -> Result<serde_json::Value> {
    Ok(state.secrets().await?.jwks())
}

/// Verifies a bearer token; every failure is the same `InvalidToken`.
pub fn verify(
    secrets: &Secrets,
    issuer: &str,
    audience: &str,
    now: UnixTime,
    token: &str,
) -> Result<AccessClaims> {
    let claims: AccessClaims = decode_ours(secrets, TOKEN_TYPE, issuer, Some(audience), token)?;
    if now >= claims.exp + LEEWAY_SECONDS || now + LEEWAY_SECONDS < claims.nbf {
        return Err(Error::InvalidToken);
    }
    Ok(claims)
}

/// Decodes one of our ES256 tokens of exactly type `typ`: the algorithm is
/// pinned, the key must be ours by `kid`, `iss` (and `aud` when given) must
/// match. Time is left to the caller, which judges it by the injected clock.
pub(crate) fn decode_ours<C: serde::de::DeserializeOwned>(
    secrets: &Secrets,
    typ: &str,
    issuer: &str,
    audience: Option<&str>,
    token: &str,
) -> Result<C> {
    crate::adapters::secrets::install_crypto_provider();
    let header = CompactHeader::parse(token).ok_or(Error::InvalidToken)?;
    if header.alg != "ES256" || header.typ.as_deref() != Some(typ) {
        return Err(Error::InvalidToken);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| secrets.key_by_id(kid))
        .ok_or(Error::InvalidToken)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[issuer]);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    jsonwebtoken::decode::<C>(token, &key.decoding, &validation)
        .map(|data| data.claims)
        .map_err(|_| Error::InvalidToken)
}

/// Signs `claims` with our current key as type `typ`.
pub(crate) fn sign_as<C: Serialize>(secrets: &Secrets, typ: &str, claims: &C) -> Result<String> {
    crate::adapters::secrets::install_crypto_provider();
    let key = secrets.signing_key();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, &key.encoding).map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(kid: &str, seed: &str) -> Secrets {
        Secrets::parse(&format!(r#"{{"signing_kid":"{kid}","seed":"{seed}"}}"#)).unwrap()
    }

    fn claims(now: UnixTime) -> AccessClaims {
        AccessClaims {
            iss: "voicegate".into(),
            aud: "voicegate-api".into(),
            sub: "u001".into(),
            iat: now,
            nbf: now,
            exp: now + 900,
            jti: "j".into(),
            sid: "s".into(),
            email: "john@example.com".into(),
            name: "John Doe".into(),
            roles: vec!["customer".into()],
            permissions: vec!["read".into()],
            platform: Some(Platform::Web),
            amr: vec![AuthMethod::Pwd],
            two_factor_verified: false,
            biometric_verified: false,
            idp: None,
        }
    }

    const SEED: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_and_time_window() {
        let s = secrets("k1", SEED);
        let now = 1_700_000_000;
        let t = sign(&s, &claims(now)).unwrap();
        assert_eq!(
            verify(&s, "voicegate", "voicegate-api", now, &t).unwrap(),
            claims(now)
        );
        // Within leeway after expiry still passes; past it fails.
        let exp = now + 900;
        assert!(verify(
            &s,
            "voicegate",
            "voicegate-api",
            exp + LEEWAY_SECONDS - 1,
            &t
        )
        .is_ok());
        assert!(verify(&s, "voicegate", "voicegate-api", exp + LEEWAY_SECONDS, &t).is_err());
        // Not yet valid beyond leeway.
        assert!(verify(
            &s,
            "voicegate",
            "voicegate-api",
            now - LEEWAY_SECONDS - 1,
            &t
        )
        .is_err());
        assert!(verify(&s, "other", "voicegate-api", now, &t).is_err());
        assert!(verify(&s, "voicegate", "other", now, &t).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_text_or_any_three_segments_is_refused_without_panicking(
            text in "\\PC{0,300}",
            parts in proptest::collection::vec("[A-Za-z0-9_-]{0,80}", 3),
        ) {
            let s = secrets("k1", SEED);
            let now = 1_700_000_000;
            let _ = CompactHeader::parse(&text);
            proptest::prop_assert!(crate::domain::auth_sessions::RefreshToken::parse(&text).is_none());
            proptest::prop_assert!(verify(&s, "voicegate", "voicegate-api", now, &text).is_err());
            let joined = parts.join(".");
            proptest::prop_assert!(verify(&s, "voicegate", "voicegate-api", now, &joined).is_err());
            let creds = crate::adapters::secrets::LiveKitCredentials { api_key: "devkey".into(), api_secret: "secret".into() };
            let empty_body: &[u8] = &[];
            proptest::prop_assert!(crate::domain::livekit::verify_webhook(&creds, &joined, empty_body).is_err());
        }
    }

    #[test]
    fn compact_headers_are_read_strictly() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = |h: &str| format!("{}.e30.c2ln", b64(h));
        let h = CompactHeader::parse(&token(
            r#"{"alg":"ES256","typ":"application/AT+JWT","kid":"k1"}"#,
        ))
        .unwrap();
        assert_eq!(
            (h.alg.as_str(), h.typ.as_deref(), h.kid.as_deref()),
            ("ES256", Some("at+jwt"), Some("k1"))
        );
        for bad in [
            token(r#"{"alg":"ES256","jku":"https://x"}"#),
            token(r#"{"alg":"ES256","crit":["exp"]}"#),
            token(r#"{"alg":1}"#),
            token(r#"{"typ":"JWT"}"#),
            token("[]"),
            format!("{}.e30.c2ln=", b64(r#"{"alg":"ES256"}"#)),
            format!("{}.e30", b64(r#"{"alg":"ES256"}"#)),
            format!("{}..c2ln", b64(r#"{"alg":"ES256"}"#)),
        ] {
            assert_eq!(CompactHeader::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn foreign_key_with_same_kid_is_refused() {
        let ours = secrets("k1", SEED);
        let theirs = secrets("k1", &"f".repeat(32));
        let now = 1_700_000_000;
        let forged = sign(&theirs, &claims(now)).unwrap();
        assert!(verify(&ours, "voicegate", "voicegate-api", now, &forged).is_err());
    }
}
