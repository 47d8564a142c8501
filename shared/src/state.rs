//! Application state, built once per container and shared by every request:
//! configuration, the AWS clients (from one `SdkConfig`), the secret cache,
//! and the clock.

use std::sync::Arc;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::adapters::aws_calls::CallRecorder;
use crate::adapters::jwks::JwksCache;
use crate::adapters::secrets::{
    AgentClients, LiveKitCredentials, SecretStore, Secrets, SecretsError,
};
use crate::adapters::sms::SmsSender;
use crate::adapters::store::Db;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, ProcessEnv};

/// Attempts per idempotent AWS call (the SDK's standard retry, with backoff).
const AWS_MAX_ATTEMPTS: u32 = 3;

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub sms: SmsSender,
    pub secrets: SecretStore,
    pub clock: Arc<dyn Clock>,
    /// Trusted identity providers' public keys, fetched when first needed.
    pub jwks: JwksCache,
}

/// The AWS clients' configuration, per service where tests need to differ
/// (an unreachable SNS to prove SMS failure handling).
pub struct AwsConfigs {
    pub dynamodb: SdkConfig,
    pub sns: SdkConfig,
    pub secrets_manager: SdkConfig,
}

impl AwsConfigs {
    pub fn shared(sdk: SdkConfig) -> Self {
        Self {
            dynamodb: sdk.clone(),
            sns: sdk.clone(),
            secrets_manager: sdk,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl AppState {
    /// Reads the environment: voicegate's configuration, and the AWS
    /// configuration exactly as Lambda provides it (`AWS_REGION`, the
    /// function role's credentials in `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`), plus
    /// `AWS_ENDPOINT_URL` for the local emulator.
    ///
    /// Not `aws_config::load`: its provider chains (profile files, SSO, STS
    /// web identity, ECS, IMDS) never apply in Lambda, yet they cost init
    /// time (reading the profile files) and link a few MiB into every binary.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env(&ProcessEnv)?;
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .map_err(|_| ConfigError::Missing("AWS_REGION"))?;
        let mut sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(SharedCredentialsProvider::new(
                EnvironmentVariableCredentialsProvider::new(),
            ))
            .http_client(crate::adapters::aws_https::client());
        if let Some(url) = std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            sdk = sdk.endpoint_url(url);
        }
        let sdk = sdk.build();
        Ok(Self::new(
            config,
            AwsConfigs::shared(sdk),
            Arc::new(SystemClock),
        ))
    }

    pub fn new(config: Config, aws: AwsConfigs, clock: Arc<dyn Clock>) -> Self {
        crate::adapters::secrets::install_crypto_provider();
        // Every call gives up in bounded time, so a slow dependency answers
        // 503 quickly instead of holding the request to the Lambda timeout.
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(config.aws_attempt_timeout)
            .operation_timeout(config.aws_operation_timeout)
            .connect_timeout(config.aws_attempt_timeout)
            .build();
        let retries = RetryConfig::standard().with_max_attempts(AWS_MAX_ATTEMPTS);
        let recorder = CallRecorder::new(
            &config.app_secret_id,
            &config.livekit_secret_id,
            config.agent_clients_secret_id.as_deref(),
        );
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&aws.dynamodb)
            .timeout_config(timeouts.clone())
            .retry_config(retries.clone())
            .interceptor(recorder.clone())
            .build();
        let secrets_manager = aws_sdk_secretsmanager::config::Builder::from(&aws.secrets_manager)
            .timeout_config(timeouts.clone())
            .retry_config(retries)
            .interceptor(recorder.clone())
            .build();
        let db = Db::new(
            aws_sdk_dynamodb::Client::from_conf(dynamodb),
            config.table_name.clone(),
        );
        let sms = SmsSender::new(aws.sns, timeouts, recorder, config.sms_sender_id.clone());
        let secrets = SecretStore::new(
            aws_sdk_secretsmanager::Client::from_conf(secrets_manager),
            config.app_secret_id.clone(),
            config.livekit_secret_id.clone(),
            config.agent_clients_secret_id.clone(),
            config.secrets_cache_ttl,
            clock.clone(),
        );
        Self {
            config,
            db,
            sms,
            secrets,
            clock,
            jwks: JwksCache::default(),
        }
    }

    pub fn now(&self) -> crate::clock::UnixTime {
        self.clock.now()
    }

    /// The app secret (signing keys, OTP pepper, derived keys).
    pub async fn secrets(&self) -> Result<Arc<Secrets>, SecretsError> {
        self.secrets.app().await
    }

    /// The LiveKit API key and secret.
    pub async fn livekit(&self) -> Result<Arc<LiveKitCredentials>, SecretsError> {
        self.secrets.livekit().await
    }

    /// The registered agent clients and tool servers.
    pub async fn agent_clients(&self) -> Result<Arc<AgentClients>, SecretsError> {
        self.secrets.agent_clients().await
    }
}
