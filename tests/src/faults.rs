//! A fault-injecting proxy between the product's AWS SDK clients and the
//! emulator. Every test app talks to AWS through its own proxy, which
//! forwards each request to moto unchanged, counts each call by operation
//! (`DynamoDB.GetItem`, `SNS.Publish`, ...), and, when a test asks for it,
//! answers in moto's place with the errors real AWS sends (throttling,
//! transaction conflicts, server errors) or holds the answer back (timeouts).
//! The product's code path is the real one: real SDK, real HTTP, real retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// What the proxy does instead of forwarding.
#[derive(Clone, Debug)]
pub enum Fault {
    /// DynamoDB `ThrottlingException`, SNS `Throttling`, Secrets Manager
    /// `ThrottlingException`: 400 with the service's own error shape.
    Throttle,
    /// A 500 `InternalServerError` / `InternalFailure`.
    ServerError,
    /// DynamoDB `ConditionalCheckFailedException` with no item.
    ConditionalFailure,
    /// DynamoDB `TransactionCanceledException` naming a `TransactionConflict`.
    TransactionConflict,
    /// A `BatchGetItem` answered 200 with every key it asked for left in
    /// `UnprocessedKeys` and nothing read, as DynamoDB does under throttling.
    Unprocessed,
    /// Waits this long, then forwards (longer than the SDK's timeouts: a hang).
    Delay(Duration),
    /// Forwards at once (the service acts on it), then holds the answer this
    /// long: a call that worked but whose answer came too late.
    AnswerLate(Duration),
}

#[derive(Debug)]
struct Rule {
    operation: String,
    /// Only requests whose body contains this (e.g. `"spent"` picks the
    /// UpdateItem that spends a code).
    body_contains: Option<String>,
    fault: Fault,
    /// How many more calls it applies to; `None` until cleared.
    remaining: Option<usize>,
}

#[derive(Default)]
struct Shared {
    rules: Vec<Rule>,
    calls: Vec<String>,
    /// When each forwarded call was with the emulator (`make bench` takes
    /// the emulator's share out of a cold start with these).
    upstream: Vec<(Instant, Instant)>,
}

/// The proxy; dropping it does not stop it (it lives as long as the test runtime).
#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    shared: Arc<Mutex<Shared>>,
}

impl FaultProxy {
    /// Starts a proxy in front of the emulator at `upstream`.
    pub async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fault proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let client = reqwest::Client::new();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let state = shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (state, client, upstream) = (state.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<Incoming>| {
                        let (state, client, upstream) =
                            (state.clone(), client.clone(), upstream.clone());
                        async move {
                            Ok::<_, hyper::Error>(handle(req, &state, &client, &upstream).await)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { endpoint, shared }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `fault` to the next `times` calls of `operation` (e.g.
    /// `DynamoDB.UpdateItem`, `SNS.Publish`, `DynamoDB.*` for any).
    pub fn inject(&self, operation: &str, fault: Fault, times: usize) {
        self.push(operation, None, fault, Some(times));
    }

    /// Applies `fault` to every call of `operation` until [`clear`](Self::clear).
    pub fn inject_always(&self, operation: &str, fault: Fault) {
        self.push(operation, None, fault, None);
    }

    /// Applies `fault` to the next `times` calls of `operation` whose body
    /// contains `needle`.
    pub fn inject_matching(&self, operation: &str, needle: &str, fault: Fault, times: usize) {
        self.push(operation, Some(needle), fault, Some(times));
    }

    fn push(&self, operation: &str, needle: Option<&str>, fault: Fault, remaining: Option<usize>) {
        self.lock().rules.push(Rule {
            operation: operation.to_owned(),
            body_contains: needle.map(str::to_owned),
            fault,
            remaining,
        });
    }

    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Every call seen so far, by operation, in order (faulted ones included).
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Forgets the calls seen so far (and their timings).
    pub fn reset_calls(&self) {
        let mut s = self.lock();
        s.calls.clear();
        s.upstream.clear();
    }

    /// How long, between `from` and `to`, at least one call was with the
    /// emulator (overlapping calls counted once): the AWS share of that span.
    pub fn upstream_time(&self, from: Instant, to: Instant) -> Duration {
        let mut spans: Vec<(Instant, Instant)> = self
            .lock()
            .upstream
            .iter()
            .map(|&(a, b)| (a.max(from), b.min(to)))
            .filter(|(a, b)| a < b)
            .collect();
        spans.sort();
        let (mut total, mut covered_until) = (Duration::ZERO, from);
        for (a, b) in spans {
            let a = a.max(covered_until);
            if b > a {
                total += b - a;
                covered_until = b;
            }
        }
        total
    }

    /// How long each forwarded call was with the emulator, in order.
    pub fn upstream_durations(&self) -> Vec<Duration> {
        self.lock().upstream.iter().map(|(a, b)| *b - *a).collect()
    }

    /// Calls per operation since the last reset.
    pub fn call_counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for c in self.calls() {
            *counts.entry(c).or_insert(0) += 1;
        }
        counts
    }
}

/// `DynamoDB.GetItem` from `X-Amz-Target: DynamoDB_20120810.GetItem`,
/// `SecretsManager.GetSecretValue` from `secretsmanager.GetSecretValue`, and
/// `SNS.Publish` from the query-protocol body `Action=Publish&...`.
fn operation(headers: &http::HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or(("", target));
        let service = if service.starts_with("DynamoDB") {
            "DynamoDB"
        } else if service.eq_ignore_ascii_case("secretsmanager") {
            "SecretsManager"
        } else {
            service
        };
        return format!("{service}.{op}");
    }
    let text = String::from_utf8_lossy(body);
    let action = text
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("Unknown");
    format!("SNS.{action}")
}

fn matches(rule: &str, op: &str) -> bool {
    match rule.strip_suffix(".*") {
        Some(service) => op.split('.').next() == Some(service),
        None => rule == op,
    }
}

fn fault_for(shared: &Mutex<Shared>, op: &str, body: &[u8]) -> Option<Fault> {
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    s.calls.push(op.to_owned());
    let body = String::from_utf8_lossy(body);
    let rule = s.rules.iter_mut().find(|r| {
        matches(&r.operation, op)
            && r.remaining != Some(0)
            && r.body_contains.as_deref().is_none_or(|n| body.contains(n))
    })?;
    if let Some(n) = rule.remaining.as_mut() {
        *n -= 1;
    }
    Some(rule.fault.clone())
}

fn reply(status: u16, content_type: &str, body: String) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", "fault-proxy")
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}

/// The error the real service sends for `fault`, in its own protocol.
fn fault_response(op: &str, fault: &Fault, body: &[u8]) -> hyper::Response<Full<Bytes>> {
    let service = op.split('.').next().unwrap_or("");
    if let Fault::Unprocessed = fault {
        let asked: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let unprocessed =
            serde_json::json!({"Responses": {}, "UnprocessedKeys": asked["RequestItems"]});
        return reply(200, "application/x-amz-json-1.0", unprocessed.to_string());
    }
    if service == "SNS" {
        let (status, kind, code) = match fault {
            Fault::Throttle => (400, "Sender", "Throttling"),
            _ => (500, "Receiver", "InternalFailure"),
        };
        return reply(
            status,
            "text/xml",
            format!("<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>injected fault</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"),
        );
    }
    let json_type = if service == "DynamoDB" {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    };
    let prefix = if service == "DynamoDB" {
        "com.amazonaws.dynamodb.v20120810#"
    } else {
        ""
    };
    let (status, body) = match fault {
        Fault::Throttle => (
            400,
            serde_json::json!({"__type": format!("{prefix}ThrottlingException"), "message": "Rate exceeded"}),
        ),
        Fault::ServerError => (
            500,
            serde_json::json!({"__type": format!("{prefix}InternalServerError"), "message": "injected fault"}),
        ),
        Fault::ConditionalFailure => (
            400,
            serde_json::json!({"__type": format!("{prefix}ConditionalCheckFailedException"), "message": "The conditional request failed"}),
        ),
        Fault::TransactionConflict => (
            400,
            serde_json::json!({
                "__type": format!("{prefix}TransactionCanceledException"),
                "message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
                "CancellationReasons": [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}, {"Code": "None"}, {"Code": "None"}, {"Code": "None"}],
            }),
        ),
        Fault::Delay(_) | Fault::AnswerLate(_) | Fault::Unprocessed => {
            unreachable!("answered above or forwarded")
        }
    };
    reply(status, json_type, body.to_string())
}

async fn handle(
    req: hyper::Request<Incoming>,
    shared: &Mutex<Shared>,
    client: &reqwest::Client,
    upstream: &str,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return reply(400, "text/plain", "unreadable body".into()),
    };
    let op = operation(&parts.headers, &body);
    let answer_late = match fault_for(shared, &op, &body) {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(Fault::AnswerLate(d)) => Some(d),
        Some(fault) => return fault_response(&op, &fault, &body),
        None => None,
    };
    // Forwarded on its own task, so a client that hangs up cannot cancel it.
    let forwarded = tokio::spawn(forward(parts, body, client.clone(), upstream.to_owned()));
    let sent = Instant::now();
    let response = forwarded
        .await
        .unwrap_or_else(|_| reply(502, "text/plain", "forward panicked".into()));
    shared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .upstream
        .push((sent, Instant::now()));
    if let Some(d) = answer_late {
        tokio::time::sleep(d).await;
    }
    response
}

async fn forward(
    parts: http::request::Parts,
    body: Bytes,
    client: reqwest::Client,
    upstream: String,
) -> hyper::Response<Full<Bytes>> {
    let url = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut forward = client.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            forward = forward.header(name, value);
        }
    }
    match forward.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = resp.bytes().await.unwrap_or_default();
            let mut out = hyper::Response::builder().status(status);
            for (name, value) in &headers {
                if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
                    out = out.header(name, value);
                }
            }
            out.body(Full::new(bytes)).expect("valid response")
        }
        Err(_) => reply(502, "text/plain", "emulator unreachable".into()),
    }
}
