//! Running an [`App`] inside AWS Lambda.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Request};

use crate::edge::functions::Function;
use crate::edge::App;
use crate::state::AppState;

/// Serves `function`'s routes with `state` until the Lambda runtime stops the container.
pub async fn serve(state: AppState, function: Function) -> Result<(), lambda_http::Error> {
    let app = App::function(Arc::new(state), &function);
    // Warm the secrets this function needs during init, which costs the first
    // caller no latency; a failure here is retried on the first request.
    let state = app.state();
    let (keys, livekit) = tokio::join!(
        async {
            if function.needs_app_secret() {
                state.secrets().await.err()
            } else {
                None
            }
        },
        async {
            if function.needs_livekit_secret() {
                state.livekit().await.err()
            } else {
                None
            }
        },
    );
    for (secret, failure) in [("app", keys), ("livekit", livekit)] {
        if let Some(err) = failure {
            tracing::warn!(
                event = "secrets_warmup_failed",
                secret,
                cause = %crate::domain::error::chain(&err)
            );
        }
    }
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(req).await) }
    }))
    .await
}
