//! Running an [`App`] inside AWS Lambda.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Request};

use crate::app::{App, Route};
use crate::state::AppState;

/// Serves `routes` with `state` until the Lambda runtime stops the container.
pub async fn serve(state: AppState, routes: &[Route]) -> Result<(), lambda_http::Error> {
    let app = App::new(Arc::new(state), routes);
    // Warm the secret cache during init, which is billed at no extra latency
    // to the first caller; a failure here is retried on the first request.
    if let Err(err) = app.state().secrets().await {
        tracing::warn!(
            event = "secrets_warmup_failed",
            cause = err.cause().unwrap_or_default()
        );
    }
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(req).await) }
    }))
    .await
}
