//! `make dev`: the whole API on http://127.0.0.1:3000 against the emulator.

use std::sync::Arc;

use voicegate::clock::SystemClock;
use voicegate::config::Config;
use voicegate::state::AwsConfigs;
use voicegate::{App, Route};
use voicegate_local::oidc_issuer::{LocalIssuer, LOCAL_OIDC_CLIENT_ID};
use voicegate_local::{emulator_config, seed, server, stage, LocalEnv};

fn port(var: &str, default: u16) -> Result<u16, voicegate_local::Error> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .map_err(|_| format!("{var} must be a port number").into()),
        _ => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<(), voicegate_local::Error> {
    voicegate::telemetry::init();
    let api_port = port("API_PORT", 3000)?;
    let aws_port = port("LOCAL_AWS_PORT", 4566)?;
    let endpoint = format!("http://127.0.0.1:{aws_port}");

    // A local identity provider, trusted unless OIDC_PROVIDERS says otherwise.
    let issuer = LocalIssuer::start(port("LOCAL_OIDC_PORT", 3001)?).await?;
    let mut env = LocalEnv::with_defaults("voicegate-local", "voicegate");
    env.0.insert(
        "OIDC_PROVIDERS".into(),
        serde_json::json!([issuer.provider()]).to_string(),
    );
    let config = Config::from_env(&env)?;
    let aws = emulator_config(&endpoint).await;
    let state = stage(AwsConfigs::shared(aws), config, Arc::new(SystemClock)).await?;
    seed::seed_demo_users(&state).await?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", api_port)).await?;
    eprintln!("voicegate local API on http://127.0.0.1:{api_port} (AWS emulator {endpoint}); Ctrl-C stops it");
    eprintln!(
        "local OIDC issuer on {} (POST /token mints ID tokens for client id {LOCAL_OIDC_CLIENT_ID})",
        issuer.issuer
    );
    let app = App::new(Arc::new(state), &Route::ALL);
    server::serve(app, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
