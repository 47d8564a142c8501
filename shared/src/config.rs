//! Typed configuration, read once per container from the environment.
//! Every variable is documented in the README's configuration table and set
//! by template.yaml in deployed stages.

use std::collections::HashMap;
use std::time::Duration;

/// Where configuration comes from: the process environment in Lambda, a map in tests.
pub trait Env {
    fn get(&self, key: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl Env for HashMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        HashMap::get(self, key).cloned().filter(|v| !v.is_empty())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {0} is invalid: {1}")]
    Invalid(&'static str, String),
}

#[derive(Clone, Debug)]
pub struct Config {
    /// DynamoDB table holding every item (see docs/data-model.md).
    pub table_name: String,
    /// Secrets Manager id of the app secret (signing keys, OTP pepper).
    pub app_secret_id: String,
    /// Secrets Manager id of the LiveKit API key and secret.
    pub livekit_secret_id: String,
    /// How long a fetched secret may be used before it is fetched again (max 5 min).
    pub secrets_cache_ttl: Duration,
    pub livekit_url: String,
    pub token_issuer: String,
    pub token_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub livekit_token_ttl: Duration,
    pub voice_session_retention: Duration,
    pub registration_enabled: bool,
    /// Agents a client may dispatch; the first is dispatched when none is asked for.
    pub agent_allowlist: Vec<String>,
    /// Allowed CORS origins; `*` allows any.
    pub cors_allowed_origins: Vec<String>,
    pub sms_sender_id: Option<String>,
}

impl Config {
    pub const MAX_SECRETS_CACHE: Duration = Duration::from_secs(300);

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let required = |key: &'static str| env.get(key).ok_or(ConfigError::Missing(key));
        let seconds = |key: &'static str, default: u64, min: u64, max: u64| {
            let Some(raw) = env.get(key) else {
                return Ok(Duration::from_secs(default));
            };
            match raw.parse::<u64>() {
                Ok(v) if (min..=max).contains(&v) => Ok(Duration::from_secs(v)),
                _ => Err(ConfigError::Invalid(
                    key,
                    format!("expected seconds in {min}..={max}"),
                )),
            }
        };
        let list = |key: &'static str, default: &str| -> Vec<String> {
            env.get(key)
                .unwrap_or_else(|| default.to_owned())
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let registration_enabled = match env.get("REGISTRATION_ENABLED").as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(ConfigError::Invalid(
                    "REGISTRATION_ENABLED",
                    format!("{other:?} is not true/false"),
                ))
            }
        };
        let retention_days = match env.get("VOICE_SESSION_RETENTION_DAYS") {
            None => 90,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| {
                    ConfigError::Invalid("VOICE_SESSION_RETENTION_DAYS", "expected 1..=3650".into())
                })?,
        };
        let agent_allowlist = list("AGENT_ALLOWLIST", "banking-assistant");
        if agent_allowlist.is_empty() {
            return Err(ConfigError::Invalid(
                "AGENT_ALLOWLIST",
                "needs at least one agent".into(),
            ));
        }
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            app_secret_id: required("APP_SECRET_ID")?,
            livekit_secret_id: required("LIVEKIT_SECRET_ID")?,
            secrets_cache_ttl: seconds("SECRETS_CACHE_SECONDS", 300, 0, 300)?,
            livekit_url: required("LIVEKIT_URL")?,
            token_issuer: env
                .get("TOKEN_ISSUER")
                .unwrap_or_else(|| "voicegate".into()),
            token_audience: env
                .get("TOKEN_AUDIENCE")
                .unwrap_or_else(|| "voicegate-api".into()),
            access_token_ttl: seconds("ACCESS_TOKEN_TTL_SECONDS", 900, 60, 86_400)?,
            refresh_token_ttl: seconds(
                "REFRESH_TOKEN_TTL_SECONDS",
                30 * 86_400,
                3_600,
                365 * 86_400,
            )?,
            livekit_token_ttl: seconds("LIVEKIT_TOKEN_TTL_SECONDS", 900, 60, 86_400)?,
            voice_session_retention: Duration::from_secs(retention_days * 86_400),
            registration_enabled,
            agent_allowlist,
            cors_allowed_origins: list("CORS_ALLOWED_ORIGINS", "*"),
            sms_sender_id: env.get("SMS_SENDER_ID"),
        })
    }

    /// The agent dispatched when the client asks for none.
    pub fn default_agent(&self) -> &str {
        &self.agent_allowlist[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("TABLE_NAME", "t"),
            ("APP_SECRET_ID", "a"),
            ("LIVEKIT_SECRET_ID", "l"),
            ("LIVEKIT_URL", "ws://x"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            m.insert(k.to_string(), v.to_string());
        }
        m
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = Config::from_env(&env(&[])).unwrap();
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.livekit_token_ttl, Duration::from_secs(900));
        assert_eq!(c.voice_session_retention, Duration::from_secs(90 * 86_400));
        assert!(c.registration_enabled);
        assert_eq!(c.default_agent(), "banking-assistant");
        assert_eq!(c.secrets_cache_ttl, Duration::from_secs(300));
    }

    #[test]
    fn refuses_bad_values_and_missing_required() {
        assert!(matches!(
            Config::from_env(&env(&[("SECRETS_CACHE_SECONDS", "301")])),
            Err(ConfigError::Invalid("SECRETS_CACHE_SECONDS", _))
        ));
        assert!(Config::from_env(&env(&[("REGISTRATION_ENABLED", "yes")])).is_err());
        let mut e = env(&[]);
        e.remove("TABLE_NAME");
        assert!(matches!(
            Config::from_env(&e),
            Err(ConfigError::Missing("TABLE_NAME"))
        ));
    }
}
