//! JSON log lines for CloudWatch through `tracing`.
//!
//! Every request runs in a span carrying its `request_id`, so each line a
//! request writes can be found by it. Nothing secret is ever passed to a log
//! macro: secret-bearing types redact themselves in `Debug`, phone numbers are
//! logged masked, and error causes are SDK error summaries, not payloads.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber writing to stdout (CloudWatch in Lambda).
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// Installs the JSON subscriber writing to `writer`; tests pass a capture
/// buffer to check what the product logs. A second call is a no-op.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn,hyper=warn")
    });
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_writer(writer)
        .try_init();
}
