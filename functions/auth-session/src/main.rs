//! Lambda: POST /auth/refresh, POST /auth/logout, GET /auth/me.

use voicegate::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    voicegate::telemetry::init();
    let state = AppState::from_env().await?;
    voicegate::lambda::serve(state, voicegate::edge::functions::AUTH_SESSION).await
}
