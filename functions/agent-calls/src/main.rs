//! Lambda: the voice agent's routes in a call (POST /voice-sessions, in-call
//! sign-in and step-up under /voice-sessions/{session_id}).

use voicegate::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    voicegate::telemetry::init();
    let state = AppState::from_env().await?;
    voicegate::lambda::serve(state, voicegate::edge::functions::AGENT_CALLS).await
}
