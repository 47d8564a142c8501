//! Lambda: the voice agent's routes in a call (POST /voice-sessions, in-call
//! sign-in and step-up under /voice-sessions/{session_id}).

use voicegate::AppState;

// A container serves one request at a time: one thread, no cross-thread wake-ups.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    voicegate::telemetry::init();
    let state = AppState::from_env().await?;
    voicegate::lambda::serve(state, voicegate::edge::functions::AGENT_CALLS).await
}
