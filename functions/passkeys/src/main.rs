//! Lambda: Passkey registration, listing, removal and sign-in (WebAuthn).

use voicegate::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    voicegate::telemetry::init();
    let state = AppState::from_env().await?;
    voicegate::lambda::serve(state, voicegate::edge::functions::PASSKEYS).await
}
