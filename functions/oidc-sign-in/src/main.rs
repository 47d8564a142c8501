//! Lambda: POST /auth/oidc: sign in with a trusted identity provider's ID token.

use voicegate::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    voicegate::telemetry::init();
    let state = AppState::from_env().await?;
    voicegate::lambda::serve(state, voicegate::edge::functions::OIDC_SIGN_IN).await
}
