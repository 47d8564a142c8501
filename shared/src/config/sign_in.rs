//! Configuration of the passkey and federated (OIDC) sign-ins.

use std::sync::Arc;

use serde::Deserialize;
use webauthn_rs::prelude::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::{ConfigError, Env};

/// The WebAuthn relying party: who passkeys are for and which pages and apps
/// may use them.
#[derive(Clone)]
pub struct PasskeyConfig {
    /// `PASSKEY_RP_ID`: the domain passkeys are bound to (`bank.example`).
    pub rp_id: String,
    /// `PASSKEY_ORIGINS`: the web origins and mobile apps' origins allowed to
    /// run a ceremony; a response made for any other origin is refused.
    pub origins: Vec<Url>,
    /// The ceremonies' verifier, built once from the two above.
    pub webauthn: Arc<Webauthn>,
}

impl std::fmt::Debug for PasskeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyConfig")
            .field("rp_id", &self.rp_id)
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl PasskeyConfig {
    pub(super) fn read(env: &dyn Env) -> Result<Self, ConfigError> {
        let rp_id = env
            .get("PASSKEY_RP_ID")
            .unwrap_or_else(|| "localhost".to_owned());
        let rp_name = env
            .get("PASSKEY_RP_NAME")
            .unwrap_or_else(|| "voicegate".to_owned());
        let invalid = |why: String| ConfigError::Invalid("PASSKEY_ORIGINS", why);
        let origins: Vec<Url> = env
            .get("PASSKEY_ORIGINS")
            .unwrap_or_else(|| "http://localhost:3000".to_owned())
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| Url::parse(o).map_err(|_| invalid(format!("{o:?} is not a URL"))))
            .collect::<Result<_, _>>()?;
        let (first, rest) = origins
            .split_first()
            .ok_or_else(|| invalid("needs at least one origin".into()))?;
        for origin in &origins {
            let web = matches!(origin.scheme(), "https" | "http");
            let plain_http_off_loopback = origin.scheme() == "http"
                && !matches!(origin.host_str(), Some("localhost" | "127.0.0.1"));
            if web && (plain_http_off_loopback || origin.path() != "/" || origin.query().is_some())
            {
                return Err(invalid(format!(
                    "{origin} must be an https origin (http only on loopback), without a path"
                )));
            }
        }
        let mut builder = WebauthnBuilder::new(&rp_id, first)
            .map_err(|e| ConfigError::Invalid("PASSKEY_RP_ID", e.to_string()))?
            .rp_name(&rp_name);
        for origin in rest {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|e| ConfigError::Invalid("PASSKEY_RP_ID", e.to_string()))?;
        Ok(Self {
            rp_id,
            origins,
            webauthn: Arc::new(webauthn),
        })
    }
}

/// A signature algorithm an identity provider may sign ID tokens with. No
/// `none` and no HMAC: a provider's tokens are checked with its public keys only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum IdTokenAlgorithm {
    RS256,
    ES256,
    PS256,
}

impl IdTokenAlgorithm {
    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            IdTokenAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            IdTokenAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            IdTokenAlgorithm::PS256 => jsonwebtoken::Algorithm::PS256,
        }
    }
}

fn default_algorithms() -> Vec<IdTokenAlgorithm> {
    vec![IdTokenAlgorithm::RS256, IdTokenAlgorithm::ES256]
}

/// One trusted identity provider (an entry of `OIDC_PROVIDERS`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// Short name, recorded as the session's `idp` and in audit lines.
    pub name: String,
    /// Exactly the `iss` its ID tokens carry.
    pub issuer: String,
    /// Where its public keys are published.
    pub jwks_uri: String,
    /// The client ids its tokens must be issued to (`aud`).
    pub audiences: Vec<String>,
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<IdTokenAlgorithm>,
    /// Whether its `email_verified: true` is believed: only then is an email
    /// linked to an existing account or used for a new one.
    #[serde(default)]
    pub trust_email: bool,
    /// Whether its `amr` containing `mfa` counts as our second factor.
    #[serde(default)]
    pub trust_mfa: bool,
}

/// `https://`, or `http://` to a loopback host (the local stage's issuer).
fn is_fetchable(url: &str) -> bool {
    match Url::parse(url) {
        Ok(u) => match u.scheme() {
            "https" => u.host_str().is_some(),
            "http" => matches!(u.host_str(), Some("localhost" | "127.0.0.1")),
            _ => false,
        },
        Err(_) => false,
    }
}

/// Reads `OIDC_PROVIDERS`: a JSON array of [`OidcProvider`]; unset, none.
pub(super) fn oidc_providers(env: &dyn Env) -> Result<Vec<OidcProvider>, ConfigError> {
    const KEY: &str = "OIDC_PROVIDERS";
    let Some(raw) = env.get(KEY) else {
        return Ok(Vec::new());
    };
    let invalid = |why: String| ConfigError::Invalid(KEY, why);
    let providers: Vec<OidcProvider> =
        serde_json::from_str(&raw).map_err(|e| invalid(format!("not a provider list: {e}")))?;
    for (i, p) in providers.iter().enumerate() {
        let name_ok = (1..=32).contains(&p.name.len())
            && p.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(invalid(format!(
                "provider {i}: name must be 1-32 of [a-z0-9-]"
            )));
        }
        if !is_fetchable(&p.issuer) || !is_fetchable(&p.jwks_uri) {
            return Err(invalid(format!(
                "{}: issuer and jwks_uri must be https URLs (http only on loopback)",
                p.name
            )));
        }
        if p.audiences.is_empty() || p.audiences.iter().any(|a| a.is_empty()) {
            return Err(invalid(format!(
                "{}: needs its client ids in audiences",
                p.name
            )));
        }
        if p.algorithms.is_empty() {
            return Err(invalid(format!("{}: needs at least one algorithm", p.name)));
        }
        let clash = providers[..i]
            .iter()
            .any(|q| q.name == p.name || q.issuer == p.issuer);
        if clash {
            return Err(invalid(format!("{}: name or issuer listed twice", p.name)));
        }
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn passkey_origins_must_be_origins_of_the_relying_party() {
        let c = PasskeyConfig::read(&env(&[])).unwrap();
        assert_eq!(c.rp_id, "localhost");
        let ok = PasskeyConfig::read(&env(&[
            ("PASSKEY_RP_ID", "bank.example"),
            (
                "PASSKEY_ORIGINS",
                "https://bank.example, https://app.bank.example, android:apk-key-hash:abc",
            ),
        ]))
        .unwrap();
        assert_eq!(ok.origins.len(), 3);
        for bad in [
            "http://bank.example",
            "https://bank.example/login",
            "not a url",
            "",
        ] {
            let got = PasskeyConfig::read(&env(&[
                ("PASSKEY_RP_ID", "bank.example"),
                ("PASSKEY_ORIGINS", bad),
            ]));
            assert!(matches!(got, Err(ConfigError::Invalid(..))), "{bad}");
        }
        // The first origin must belong to the RP id.
        let foreign = PasskeyConfig::read(&env(&[
            ("PASSKEY_RP_ID", "bank.example"),
            ("PASSKEY_ORIGINS", "https://evil.example"),
        ]));
        assert!(matches!(
            foreign,
            Err(ConfigError::Invalid("PASSKEY_RP_ID", _))
        ));
    }

    /// Host names are parsed without Unicode tables (`idna_adapter` 1.0, see the workspace
    /// Cargo.toml): an internationalised domain is configured as browsers send it, in
    /// its ASCII form, and its Unicode spelling is refused at start, not at sign-in.
    #[test]
    fn an_internationalised_origin_is_configured_in_its_ascii_form() {
        let ascii = PasskeyConfig::read(&env(&[
            ("PASSKEY_RP_ID", "xn--bcher-kva.example"),
            ("PASSKEY_ORIGINS", "https://xn--bcher-kva.example"),
        ]))
        .unwrap();
        assert_eq!(ascii.origins[0].host_str(), Some("xn--bcher-kva.example"));
        let unicode = PasskeyConfig::read(&env(&[
            ("PASSKEY_RP_ID", "xn--bcher-kva.example"),
            ("PASSKEY_ORIGINS", "https://bücher.example"),
        ]));
        assert!(matches!(
            unicode,
            Err(ConfigError::Invalid("PASSKEY_ORIGINS", _))
        ));
    }

    #[test]
    fn oidc_providers_are_checked_at_start() {
        assert!(oidc_providers(&env(&[])).unwrap().is_empty());
        let good = r#"[{"name":"google","issuer":"https://accounts.google.com",
            "jwks_uri":"https://www.googleapis.com/oauth2/v3/certs","audiences":["app"],
            "trust_email":true}]"#;
        let p = &oidc_providers(&env(&[("OIDC_PROVIDERS", good)])).unwrap()[0];
        assert!(p.trust_email && !p.trust_mfa);
        assert_eq!(p.algorithms, default_algorithms());
        for bad in [
            "{}",
            r#"[{"name":"x","issuer":"http://idp.example","jwks_uri":"https://idp.example/k","audiences":["a"]}]"#,
            r#"[{"name":"x","issuer":"https://idp.example","jwks_uri":"https://idp.example/k","audiences":[]}]"#,
            r#"[{"name":"x","issuer":"https://idp.example","jwks_uri":"https://idp.example/k","audiences":["a"],"algorithms":["HS256"]}]"#,
            r#"[{"name":"x","issuer":"https://idp.example","jwks_uri":"https://idp.example/k","audiences":["a"],"algorithms":["none"]}]"#,
            r#"[{"name":"X Y","issuer":"https://idp.example","jwks_uri":"https://idp.example/k","audiences":["a"]}]"#,
            r#"[{"name":"x","issuer":"https://idp.example","jwks_uri":"https://idp.example/k","audiences":["a"],"trust_everything":true}]"#,
            r#"[{"name":"x","issuer":"https://idp.example","jwks_uri":"https://idp.example/k","audiences":["a"]},
                {"name":"y","issuer":"https://idp.example","jwks_uri":"https://idp.example/k","audiences":["a"]}]"#,
        ] {
            assert!(
                oidc_providers(&env(&[("OIDC_PROVIDERS", bad)])).is_err(),
                "{bad}"
            );
        }
        let local = r#"[{"name":"local","issuer":"http://127.0.0.1:9100","jwks_uri":"http://127.0.0.1:9100/jwks","audiences":["a"]}]"#;
        assert!(oidc_providers(&env(&[("OIDC_PROVIDERS", local)])).is_ok());
    }
}
