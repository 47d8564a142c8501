//! JSON log lines for CloudWatch through `tracing`, and auth outcomes as
//! CloudWatch metrics in the embedded metric format (EMF).
//!
//! Every request runs in a span carrying its `request_id`, so each line a
//! request writes can be found by it. Nothing secret is ever passed to a log
//! macro: secret-bearing types redact themselves in `Debug`, phone numbers are
//! logged masked, and error causes are SDK error summaries, not payloads.

use std::io::Write;
use std::sync::OnceLock;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What is logged when `RUST_LOG` says nothing (or nothing parseable).
const DEFAULT_LOG: &str = "info,aws_config=warn,aws_smithy_runtime=warn,hyper=warn";

/// `RUST_LOG` as a list of `target=level` directives and a default level
/// (`info,voicegate=debug`). A `Targets` filter, not `EnvFilter`: the same
/// directives without span and field matching, which link a regex engine
/// into every function for nothing.
fn log_filter() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| DEFAULT_LOG.parse().expect("the default filter parses"))
}

/// Installs the JSON subscriber writing to stdout (CloudWatch in Lambda).
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// Writes one line where the logs go.
type LineWriter = Box<dyn Fn(&[u8]) + Send + Sync>;

struct Metrics {
    namespace: String,
    write: LineWriter,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// Installs the JSON subscriber writing to `writer`; tests pass a capture
/// buffer to check what the product logs. Metrics go to the same place. A
/// second call is a no-op.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + Clone + 'static,
{
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_writer(writer.clone())
        .finish()
        .with(log_filter())
        .try_init();
    let namespace = std::env::var("METRICS_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "voicegate".to_owned());
    let _ = METRICS.set(Metrics {
        namespace,
        write: Box::new(move |line: &[u8]| {
            let _ = writer.make_writer().write_all(line);
        }),
    });
}

/// Counts one auth event as the CloudWatch metric `AuthEvents` with
/// dimensions `Event` and `Outcome`, as one EMF log line (CloudWatch Logs
/// turns it into the metric; nothing is called at request time).
pub fn count_auth_event(event: &str, outcome: &str) {
    let Some(m) = METRICS.get() else { return };
    let timestamp_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": m.namespace,
                "Dimensions": [["Event", "Outcome"]],
                "Metrics": [{"Name": "AuthEvents", "Unit": "Count"}],
            }],
        },
        "Event": event,
        "Outcome": outcome,
        "AuthEvents": 1,
    });
    let mut bytes = line.to_string().into_bytes();
    bytes.push(b'\n');
    (m.write)(&bytes);
}
