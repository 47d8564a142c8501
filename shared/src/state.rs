//! Application state, built once per container and shared by every request:
//! configuration, the AWS clients (from one `SdkConfig`), the secret cache,
//! and the clock.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, ProcessEnv};
use crate::error::ApiError;
use crate::secrets::{SecretStore, Secrets};
use crate::sms::SmsSender;
use crate::store::Db;

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub sms: SmsSender,
    pub secrets: SecretStore,
    pub clock: Arc<dyn Clock>,
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
    /// Reads the environment and the default AWS configuration (region,
    /// credentials, and `AWS_ENDPOINT_URL` for the local emulator).
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env(&ProcessEnv)?;
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Ok(Self::new(
            config,
            AwsConfigs::shared(sdk),
            Arc::new(SystemClock),
        ))
    }

    pub fn new(config: Config, aws: AwsConfigs, clock: Arc<dyn Clock>) -> Self {
        crate::tokens::install_crypto_provider();
        let db = Db::new(
            aws_sdk_dynamodb::Client::new(&aws.dynamodb),
            config.table_name.clone(),
        );
        let sms = SmsSender::new(
            aws_sdk_sns::Client::new(&aws.sns),
            config.sms_sender_id.clone(),
        );
        let secrets = SecretStore::new(
            aws_sdk_secretsmanager::Client::new(&aws.secrets_manager),
            config.app_secret_id.clone(),
            config.livekit_secret_id.clone(),
            config.secrets_cache_ttl,
            clock.clone(),
        );
        Self {
            config,
            db,
            sms,
            secrets,
            clock,
        }
    }

    pub fn now(&self) -> crate::clock::UnixTime {
        self.clock.now()
    }

    pub async fn secrets(&self) -> Result<Arc<Secrets>, ApiError> {
        self.secrets.get().await
    }
}
