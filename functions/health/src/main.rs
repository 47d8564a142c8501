//! Lambda: GET /health, GET /.well-known/jwks.json and GET /openapi.json.

use voicegate::{AppState, Route};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    voicegate::telemetry::init();
    let state = AppState::from_env().await?;
    voicegate::lambda::serve(state, &[Route::Health, Route::Jwks, Route::OpenApi]).await
}
