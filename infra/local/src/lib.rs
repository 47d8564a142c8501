//! The local stage: the whole API on one port, backed by the moto emulator,
//! provisioned from template.yaml. Also the test harness's way to stand up an
//! isolated copy of the product.

pub mod oidc_issuer;
pub mod seed;
pub mod server;
pub mod template;

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use voicegate::clock::Clock;
use voicegate::config::{Config, Env};
use voicegate::state::{AppState, AwsConfigs};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// LiveKit credentials of the local stage: what `livekit-server --dev` uses.
pub const LOCAL_LIVEKIT_KEY: &str = "devkey";
pub const LOCAL_LIVEKIT_SECRET: &str = "secret";

/// The agent client of the local stage (local stage only, like the demo
/// users): the `banking-assistant` agent, allowed the demo tool server.
pub const LOCAL_AGENT_CLIENT_ID: &str = "banking-assistant";
pub const LOCAL_AGENT_CLIENT_SECRET: &str = "local-agent-secret";
/// The demo tool server (an MCP banking server) and its own credentials,
/// with which it may only introspect tokens for itself.
pub const LOCAL_TOOL_SERVER: &str = "https://mcp.bank.example/";
pub const LOCAL_TOOL_SERVER_CLIENT_ID: &str = "mcp-bank";
pub const LOCAL_TOOL_SERVER_SECRET: &str = "local-tool-server-secret";

/// The local stage's `{"clients": [...]}`, secrets kept as SHA-256.
pub fn local_agent_clients() -> serde_json::Value {
    use voicegate::adapters::secrets::client_secret_hash;
    let hash = |secret: &str| voicegate::types::hex(&client_secret_hash(secret));
    serde_json::json!({ "clients": [
        {
            "client_id": LOCAL_AGENT_CLIENT_ID,
            "secret_sha256": hash(LOCAL_AGENT_CLIENT_SECRET),
            "agent_names": ["banking-assistant"],
            "audiences": [LOCAL_TOOL_SERVER],
            "scopes": ["read", "transact", "configure"],
        },
        {
            "client_id": LOCAL_TOOL_SERVER_CLIENT_ID,
            "secret_sha256": hash(LOCAL_TOOL_SERVER_SECRET),
            "audiences": [LOCAL_TOOL_SERVER],
        },
    ]})
}

/// AWS configuration for an emulator at `endpoint` with dummy credentials.
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        // The functions' own client: the SDK's default one is not built in.
        .http_client(voicegate::adapters::aws_https::client())
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "emulator",
        ))
        .load()
        .await
}

/// Environment defaults of the local stage; real environment variables win.
pub struct LocalEnv(pub HashMap<String, String>);

impl LocalEnv {
    pub fn with_defaults(stack: &str, table: &str) -> Self {
        let defaults = [
            ("TABLE_NAME", table.to_owned()),
            ("APP_SECRET_ID", format!("{stack}/app")),
            ("LIVEKIT_SECRET_ID", format!("{stack}/livekit")),
            ("AGENT_CLIENTS_SECRET_ID", format!("{stack}/agent-clients")),
            ("LIVEKIT_URL", "ws://127.0.0.1:7880".to_owned()),
            ("CORS_ALLOWED_ORIGINS", "*".to_owned()),
        ];
        Self(
            defaults
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
}

impl Env for LocalEnv {
    fn get(&self, key: &str) -> Option<String> {
        voicegate::config::ProcessEnv
            .get(key)
            .or_else(|| self.0.get(key).cloned())
    }
}

/// Creates the table and both secrets from template.yaml's definitions.
/// The LiveKit secret holds the local dev credentials; the app secret is
/// generated exactly as CloudFormation would.
pub async fn provision(aws: &SdkConfig, config: &Config) -> Result<(), Error> {
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    template::TableDefinition::from_template(template::TEMPLATE)?
        .ensure(&dynamodb, &config.table_name)
        .await?;
    let secrets = aws_sdk_secretsmanager::Client::new(aws);
    let app_secret = template::generated_secret(template::TEMPLATE, "AppSecret", &[])?;
    template::ensure_secret(&secrets, &config.app_secret_id, &app_secret).await?;
    let livekit =
        serde_json::json!({ "api_key": LOCAL_LIVEKIT_KEY, "api_secret": LOCAL_LIVEKIT_SECRET });
    template::ensure_secret(&secrets, &config.livekit_secret_id, &livekit.to_string()).await?;
    if let Some(id) = &config.agent_clients_secret_id {
        template::ensure_secret(&secrets, id, &local_agent_clients().to_string()).await?;
    }
    Ok(())
}

/// Provisions and builds the state the local API (or a test) runs with.
pub async fn stage(
    aws: AwsConfigs,
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<AppState, Error> {
    provision(&aws.dynamodb, &config).await?;
    Ok(AppState::new(config, aws, clock))
}
