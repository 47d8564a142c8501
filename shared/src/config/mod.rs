//! Typed configuration, read once per container from the environment.
//! Every variable is documented in the README's configuration table and set
//! by template.yaml in deployed stages.

mod sign_in;

use std::collections::HashMap;
use std::time::Duration;

pub use sign_in::{IdTokenAlgorithm, OidcProvider, PasskeyConfig};

use crate::adapters::store::windows::Window;

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

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// Every rate limit and lockout of the contract. Counts are configurable (a
/// test stage raises them); the windows are fixed by the variables' names.
#[derive(Clone, Debug)]
pub struct Limits {
    /// `REGISTER_PER_IP_PER_HOUR`: registration attempts per source IP.
    pub register_per_ip: Window,
    /// `LOGIN_FAILURES_PER_EMAIL_PER_15_MIN`: checked wrong passwords per
    /// email before password login locks for the rest of the window.
    pub login_failures_per_email: Window,
    /// `LOGIN_FAILURES_PER_IP_PER_15_MIN`: wrong passwords per source IP.
    pub login_failures_per_ip: Window,
    /// `OTP_RESEND_AFTER_SECONDS`: one code per user and purpose per this many seconds.
    pub otp_resend_after: Window,
    /// `OTP_REQUESTS_PER_USER_PER_HOUR`: codes per user and purpose.
    pub otp_requests_per_user: Window,
    /// `OTP_REQUESTS_PER_IP_PER_HOUR`: sign-in code requests per source IP.
    pub otp_requests_per_ip: Window,
    /// `OTP_ATTEMPTS_PER_CODE`: tries a code allows; the last wrong one kills it.
    pub otp_attempts_per_code: i64,
    /// `OTP_FAILURES_PER_USER_PER_SOURCE_PER_DAY`: failed codes for one user
    /// from one source before that source may not verify that user's codes.
    pub otp_failures_per_user_source: Window,
    /// `OTP_FAILURES_PER_USER_PER_DAY`: the ceiling across all sources.
    pub otp_failures_per_user: Window,
    /// `PHONE_VERIFICATIONS_PER_USER_PER_HOUR`: phone-verification codes per user.
    pub phone_verifications_per_user: Window,
    /// `PHONE_VERIFICATIONS_PER_PHONE_PER_HOUR`: verification codes one number
    /// receives, whatever the account (bounds SMS flooding of a stranger).
    pub phone_verifications_per_phone: Window,
    /// `CONNECTION_DETAILS_PER_USER_PER_10_MIN`.
    pub connection_details_per_user: Window,
    /// `CONNECTION_DETAILS_PER_IP_PER_HOUR`.
    pub connection_details_per_ip: Window,
    /// `ACCOUNTS_PER_PHONE`: accounts one verified number may serve.
    pub accounts_per_phone: i64,
    /// `REFRESH_REUSE_GRACE_SECONDS`: a rotated refresh token presented again
    /// within this many seconds gets its successor again; 0 turns it off.
    pub refresh_reuse_grace_seconds: i64,
    /// `PASSKEY_CEREMONIES_PER_IP_PER_HOUR`: passkey sign-in and registration
    /// starts per source IP (each stores a challenge).
    pub passkey_ceremonies_per_ip: Window,
    /// `OIDC_SIGN_INS_PER_IP_PER_HOUR`: federated sign-ins per source IP.
    pub oidc_sign_ins_per_ip: Window,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// DynamoDB table holding every item (see docs/data-model.md).
    pub table_name: String,
    /// Secrets Manager id of the app secret (signing keys, OTP pepper).
    pub app_secret_id: String,
    /// Secrets Manager id of the LiveKit API key and secret.
    pub livekit_secret_id: String,
    /// The agent clients (`{"clients": [...]}`); unset means no client can
    /// authenticate, so every agent route answers `invalid_client`.
    pub agent_clients_secret_id: Option<String>,
    /// The API's public URL, for the endpoints RFC 8414 metadata names;
    /// unset, the request's host is used.
    pub public_base_url: Option<String>,
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
    /// Whether a client may pass `room_config.agents[].metadata` to the agent.
    pub allow_client_agent_metadata: bool,
    /// Allowed CORS origins; `*` allows any.
    pub cors_allowed_origins: Vec<String>,
    pub sms_sender_id: Option<String>,
    /// Each AWS call attempt, and each call with its retries, gives up after these.
    pub aws_attempt_timeout: Duration,
    pub aws_operation_timeout: Duration,
    pub limits: Limits,
    /// The passkey relying party.
    pub passkeys: PasskeyConfig,
    /// `PASSKEY_CHALLENGE_TTL_SECONDS`: how long a passkey ceremony may take.
    pub passkey_challenge_ttl: Duration,
    /// `PASSKEYS_PER_USER`: passkeys one account may register.
    pub passkeys_per_user: i64,
    /// Trusted external identity providers; empty turns `/auth/oidc` off.
    pub oidc_providers: Vec<OidcProvider>,
}

/// RFC 8414's rule for an issuer identifier, which also suits a base URL.
fn is_base_url(raw: &str) -> bool {
    let (loopback, rest) = match raw.split_once("://") {
        Some(("https", rest)) => (false, rest),
        Some(("http", rest)) => (true, rest),
        _ => return false,
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let loopback_ok = !loopback || host == "localhost" || host == "127.0.0.1";
    host_ok
        && loopback_ok
        && !rest.contains(['?', '#', '@'])
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Reads typed values from an [`Env`], naming the variable in every error.
struct Reader<'a>(&'a dyn Env);

impl Reader<'_> {
    fn required(&self, key: &'static str) -> Result<String, ConfigError> {
        self.0.get(key).ok_or(ConfigError::Missing(key))
    }

    fn text(&self, key: &str, default: &str) -> String {
        self.0.get(key).unwrap_or_else(|| default.to_owned())
    }

    fn number(
        &self,
        key: &'static str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, ConfigError> {
        let Some(raw) = self.0.get(key) else {
            return Ok(default);
        };
        match raw.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(ConfigError::Invalid(
                key,
                format!("expected a whole number in {min}..={max}"),
            )),
        }
    }

    fn seconds(
        &self,
        key: &'static str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            self.number(key, default, min, max)? as u64
        ))
    }

    fn millis(
        &self,
        key: &'static str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(
            self.number(key, default, min, max)? as u64
        ))
    }

    /// A count of hits allowed in a window of `seconds`.
    fn window(&self, key: &'static str, default: i64, seconds: i64) -> Result<Window, ConfigError> {
        Ok(Window {
            limit: self.number(key, default, 1, 1_000_000)?,
            seconds,
        })
    }

    fn flag(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.0.get(key).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(ConfigError::Invalid(key, "expected true or false".into())),
        }
    }

    /// A base URL the API is reached at: `https://host[/path]`, no query or
    /// fragment, trailing slash dropped (`http` only for loopback hosts, as
    /// on the local stage).
    fn base_url(&self, key: &'static str) -> Result<Option<String>, ConfigError> {
        let Some(raw) = self.0.get(key).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        if is_base_url(&raw) {
            Ok(Some(raw.trim_end_matches('/').to_owned()))
        } else {
            Err(ConfigError::Invalid(
                key,
                "expected https://host[/path] without query or fragment".into(),
            ))
        }
    }

    fn list(&self, key: &str, default: &str) -> Vec<String> {
        self.text(key, default)
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

impl Limits {
    fn read(r: &Reader<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            register_per_ip: r.window("REGISTER_PER_IP_PER_HOUR", 10, HOUR)?,
            login_failures_per_email: r.window(
                "LOGIN_FAILURES_PER_EMAIL_PER_15_MIN",
                5,
                15 * MINUTE,
            )?,
            login_failures_per_ip: r.window("LOGIN_FAILURES_PER_IP_PER_15_MIN", 50, 15 * MINUTE)?,
            otp_resend_after: Window {
                limit: 1,
                seconds: r.number("OTP_RESEND_AFTER_SECONDS", 30, 1, HOUR)?,
            },
            otp_requests_per_user: r.window("OTP_REQUESTS_PER_USER_PER_HOUR", 5, HOUR)?,
            otp_requests_per_ip: r.window("OTP_REQUESTS_PER_IP_PER_HOUR", 20, HOUR)?,
            otp_attempts_per_code: r.number("OTP_ATTEMPTS_PER_CODE", 3, 1, 10)?,
            otp_failures_per_user_source: r.window(
                "OTP_FAILURES_PER_USER_PER_SOURCE_PER_DAY",
                10,
                DAY,
            )?,
            otp_failures_per_user: r.window("OTP_FAILURES_PER_USER_PER_DAY", 50, DAY)?,
            phone_verifications_per_user: r.window(
                "PHONE_VERIFICATIONS_PER_USER_PER_HOUR",
                5,
                HOUR,
            )?,
            phone_verifications_per_phone: r.window(
                "PHONE_VERIFICATIONS_PER_PHONE_PER_HOUR",
                10,
                HOUR,
            )?,
            connection_details_per_user: r.window(
                "CONNECTION_DETAILS_PER_USER_PER_10_MIN",
                20,
                10 * MINUTE,
            )?,
            connection_details_per_ip: r.window("CONNECTION_DETAILS_PER_IP_PER_HOUR", 300, HOUR)?,
            accounts_per_phone: r.number("ACCOUNTS_PER_PHONE", 3, 1, 1_000)?,
            refresh_reuse_grace_seconds: r.number("REFRESH_REUSE_GRACE_SECONDS", 10, 0, 300)?,
            passkey_ceremonies_per_ip: r.window("PASSKEY_CEREMONIES_PER_IP_PER_HOUR", 60, HOUR)?,
            oidc_sign_ins_per_ip: r.window("OIDC_SIGN_INS_PER_IP_PER_HOUR", 60, HOUR)?,
        })
    }
}

impl Config {
    pub const MAX_SECRETS_CACHE: Duration = Duration::from_secs(300);
    /// The most text a client may pass to the agent through `room_config.agents[].metadata`.
    pub const MAX_AGENT_METADATA_BYTES: usize = 1024;

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let r = Reader(env);
        let agent_allowlist = r.list("AGENT_ALLOWLIST", "banking-assistant");
        if agent_allowlist.is_empty() {
            return Err(ConfigError::Invalid(
                "AGENT_ALLOWLIST",
                "needs at least one agent".into(),
            ));
        }
        let retention_days = r.number("VOICE_SESSION_RETENTION_DAYS", 90, 1, 3650)?;
        let aws_attempt_timeout = r.millis("AWS_ATTEMPT_TIMEOUT_MS", 1_500, 50, 30_000)?;
        let aws_operation_timeout = r.millis("AWS_OPERATION_TIMEOUT_MS", 4_000, 50, 60_000)?;
        if aws_operation_timeout < aws_attempt_timeout {
            return Err(ConfigError::Invalid(
                "AWS_OPERATION_TIMEOUT_MS",
                "must be at least AWS_ATTEMPT_TIMEOUT_MS".into(),
            ));
        }
        // An issuer that looks like a URL must be one RFC 8414 accepts: the
        // discovery document then names it and serves endpoints under it.
        let token_issuer = r.text("TOKEN_ISSUER", "voicegate");
        if token_issuer.contains("://") {
            r.base_url("TOKEN_ISSUER")?;
        }
        Ok(Self {
            table_name: r.required("TABLE_NAME")?,
            app_secret_id: r.required("APP_SECRET_ID")?,
            livekit_secret_id: r.required("LIVEKIT_SECRET_ID")?,
            agent_clients_secret_id: env.get("AGENT_CLIENTS_SECRET_ID").filter(|s| !s.is_empty()),
            public_base_url: r.base_url("PUBLIC_BASE_URL")?,
            secrets_cache_ttl: r.seconds(
                "SECRETS_CACHE_SECONDS",
                300,
                0,
                Self::MAX_SECRETS_CACHE.as_secs() as i64,
            )?,
            livekit_url: r.required("LIVEKIT_URL")?,
            token_issuer,
            token_audience: r.text("TOKEN_AUDIENCE", "voicegate-api"),
            access_token_ttl: r.seconds("ACCESS_TOKEN_TTL_SECONDS", 900, 60, DAY)?,
            refresh_token_ttl: r.seconds("REFRESH_TOKEN_TTL_SECONDS", 30 * DAY, HOUR, 365 * DAY)?,
            livekit_token_ttl: r.seconds("LIVEKIT_TOKEN_TTL_SECONDS", 900, 60, DAY)?,
            voice_session_retention: Duration::from_secs((retention_days * DAY) as u64),
            registration_enabled: r.flag("REGISTRATION_ENABLED", true)?,
            agent_allowlist,
            allow_client_agent_metadata: r.flag("ALLOW_CLIENT_AGENT_METADATA", false)?,
            cors_allowed_origins: r.list("CORS_ALLOWED_ORIGINS", "*"),
            sms_sender_id: env.get("SMS_SENDER_ID"),
            aws_attempt_timeout,
            aws_operation_timeout,
            limits: Limits::read(&r)?,
            passkeys: PasskeyConfig::read(env)?,
            passkey_challenge_ttl: r.seconds("PASSKEY_CHALLENGE_TTL_SECONDS", 300, 30, 900)?,
            passkeys_per_user: r.number("PASSKEYS_PER_USER", 10, 1, 100)?,
            oidc_providers: sign_in::oidc_providers(env)?,
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
    fn issuer_and_base_urls_must_be_https_urls_when_they_are_urls() {
        for good in [
            "https://auth.bank.example",
            "https://auth.bank.example/",
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
            "http://127.0.0.1:3000",
        ] {
            let c = Config::from_env(&env(&[("TOKEN_ISSUER", good), ("PUBLIC_BASE_URL", good)]))
                .unwrap();
            assert_eq!(
                c.public_base_url.as_deref(),
                Some(good.trim_end_matches('/'))
            );
            assert_eq!(c.token_issuer, good);
        }
        for bad in [
            "http://auth.bank.example",
            "https://auth.bank.example/?x=1",
            "https://auth.bank.example/#f",
            "https://user@auth.bank.example",
            "https://",
            "ftp://auth.bank.example",
            "https://auth bank.example",
        ] {
            for key in ["TOKEN_ISSUER", "PUBLIC_BASE_URL"] {
                assert!(
                    matches!(
                        Config::from_env(&env(&[(key, bad)])),
                        Err(ConfigError::Invalid(k, _)) if k == key
                    ),
                    "{key}={bad}"
                );
            }
        }
        // A plain name is still an issuer (the default), just not a URL.
        assert!(Config::from_env(&env(&[("TOKEN_ISSUER", "voicegate-prod")])).is_ok());
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = Config::from_env(&env(&[])).unwrap();
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.livekit_token_ttl, Duration::from_secs(900));
        assert_eq!(c.voice_session_retention, Duration::from_secs(90 * 86_400));
        assert!(c.registration_enabled);
        assert!(!c.allow_client_agent_metadata);
        assert_eq!(c.default_agent(), "banking-assistant");
        assert_eq!(c.secrets_cache_ttl, Duration::from_secs(300));
        let l = &c.limits;
        assert_eq!(
            (l.register_per_ip.limit, l.register_per_ip.seconds),
            (10, 3_600)
        );
        assert_eq!(
            (
                l.login_failures_per_email.limit,
                l.login_failures_per_email.seconds
            ),
            (5, 900)
        );
        assert_eq!(
            (
                l.login_failures_per_ip.limit,
                l.login_failures_per_ip.seconds
            ),
            (50, 900)
        );
        assert_eq!(
            (
                l.connection_details_per_user.limit,
                l.connection_details_per_user.seconds
            ),
            (20, 600)
        );
        assert_eq!(
            (
                l.connection_details_per_ip.limit,
                l.connection_details_per_ip.seconds
            ),
            (300, 3_600)
        );
        assert_eq!(
            (l.otp_requests_per_ip.limit, l.otp_requests_per_ip.seconds),
            (20, 3_600)
        );
        assert_eq!(
            (l.otp_requests_per_user.limit, l.otp_resend_after.seconds),
            (5, 30)
        );
        assert_eq!(l.otp_attempts_per_code, 3);
        assert_eq!(
            (l.accounts_per_phone, l.refresh_reuse_grace_seconds),
            (3, 10)
        );
    }

    #[test]
    fn every_contract_limit_is_configurable_by_its_name() {
        let c = Config::from_env(&env(&[
            ("REGISTER_PER_IP_PER_HOUR", "100"),
            ("LOGIN_FAILURES_PER_IP_PER_15_MIN", "500"),
            ("CONNECTION_DETAILS_PER_USER_PER_10_MIN", "200"),
            ("CONNECTION_DETAILS_PER_IP_PER_HOUR", "3000"),
            ("OTP_REQUESTS_PER_IP_PER_HOUR", "200"),
            ("ACCOUNTS_PER_PHONE", "1"),
            ("REFRESH_REUSE_GRACE_SECONDS", "0"),
        ]))
        .unwrap();
        let l = &c.limits;
        assert_eq!(l.register_per_ip.limit, 100);
        assert_eq!(l.login_failures_per_ip.limit, 500);
        assert_eq!(l.connection_details_per_user.limit, 200);
        assert_eq!(l.connection_details_per_ip.limit, 3000);
        assert_eq!(l.otp_requests_per_ip.limit, 200);
        assert_eq!(l.accounts_per_phone, 1);
        assert_eq!(l.refresh_reuse_grace_seconds, 0);
    }

    #[test]
    fn refuses_bad_values_and_missing_required() {
        assert!(matches!(
            Config::from_env(&env(&[("SECRETS_CACHE_SECONDS", "301")])),
            Err(ConfigError::Invalid("SECRETS_CACHE_SECONDS", _))
        ));
        assert!(Config::from_env(&env(&[("REGISTRATION_ENABLED", "yes")])).is_err());
        assert!(matches!(
            Config::from_env(&env(&[("ACCOUNTS_PER_PHONE", "0")])),
            Err(ConfigError::Invalid("ACCOUNTS_PER_PHONE", _))
        ));
        assert!(Config::from_env(&env(&[("REFRESH_REUSE_GRACE_SECONDS", "-1")])).is_err());
        let mut e = env(&[]);
        e.remove("TABLE_NAME");
        assert!(matches!(
            Config::from_env(&e),
            Err(ConfigError::Missing("TABLE_NAME"))
        ));
    }
}
