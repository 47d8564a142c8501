//! Lambda: Passkey registration, listing, removal and sign-in (WebAuthn).

use voicegate::AppState;

// A container serves one request at a time: one thread, no cross-thread wake-ups.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    voicegate::telemetry::init();
    let state = AppState::from_env().await?;
    voicegate::lambda::serve(state, voicegate::edge::functions::PASSKEYS).await
}
