//! A stand-in for the Lambda Runtime API, so the real function binaries
//! (their `main.rs`: telemetry, state from the environment, lambda_http) can
//! be run as Lambda runs them: the binary polls `invocation/next`, gets one
//! API Gateway event, and posts its response back.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// The command that runs function `name`: its debug build (`make test` builds
/// them first), or, with `VOICEGATE_LAMBDA_ARTIFACTS=arm64` (`make
/// deploy-check`), the arm64 `bootstrap` that `make build` makes for
/// deployment, under qemu's user-mode emulation.
pub fn function_command(name: &str) -> tokio::process::Command {
    if std::env::var("VOICEGATE_LAMBDA_ARTIFACTS").as_deref() == Ok("arm64") {
        // Where `make build` puts them: template.yaml's CodeUri.
        let bootstrap = crate::repo_root()
            .join("target/lambda")
            .join(name)
            .join("bootstrap");
        assert!(
            bootstrap.exists(),
            "{} is missing: run `make build`",
            bootstrap.display()
        );
        let mut cmd = tokio::process::Command::new("qemu-aarch64");
        cmd.arg(bootstrap)
            .env("QEMU_LD_PREFIX", "/usr/aarch64-linux-gnu");
        return cmd;
    }
    let path = crate::target_dir().join("debug").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `make test` (it builds the function binaries)",
        path.display()
    );
    tokio::process::Command::new(path)
}

/// Sets each of `vars` in a function's environment, replacing any value it had.
pub fn set_env(env: &mut Vec<(String, String)>, vars: &[(&str, &str)]) {
    for (k, v) in vars {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
}

/// Runs function binary `name` for one invocation with `event` (an API Gateway
/// HTTP API event as JSON) and the given environment; returns the response
/// document the binary posted to the Runtime API, or how the process ended
/// if it exited instead.
pub async fn invoke(name: &str, env: &[(String, String)], event: &str) -> Result<Value, Exited> {
    let qemu_prefix =
        std::env::var("QEMU_LD_PREFIX").unwrap_or_else(|_| "/usr/aarch64-linux-gnu".into());
    let mut env = env.to_vec();
    env.push(("QEMU_LD_PREFIX".into(), qemu_prefix));
    Ok(invoke_command(function_command(name), name, &env, event)
        .await?
        .response)
}

/// One invocation, timed from `exec`: what `make bench` compares.
#[derive(Debug)]
pub struct Invocation {
    pub response: Value,
    /// When the process was started.
    pub exec: std::time::Instant,
    /// Until the process first asked the Runtime API for an event (its init done).
    pub ready: Duration,
    /// Until it posted this response.
    pub answered: Duration,
    /// Peak resident memory (VmHWM) once it answered.
    pub peak_rss_kib: u64,
    /// CPU time of all its threads, from exec until it answered.
    pub cpu: Duration,
}

/// Runs `command` (any Lambda runtime: our binaries, or another language's
/// handler loop) for one invocation with `event`, under the stand-in.
pub async fn invoke_command(
    command: tokio::process::Command,
    name: &str,
    env: &[(String, String)],
    event: &str,
) -> Result<Invocation, Exited> {
    let mut runs = invoke_sequence(command, name, env, &[event.to_owned()]).await?;
    Ok(runs.remove(0))
}

/// Runs `command` for `events`, one after another in the same process (the
/// first cold, the rest warm, as Lambda reuses a container).
pub async fn invoke_sequence(
    mut command: tokio::process::Command,
    name: &str,
    env: &[(String, String)],
    events: &[String],
) -> Result<Vec<Invocation>, Exited> {
    let started = std::time::Instant::now();
    let ready_at: Arc<Mutex<Option<Duration>>> = Arc::new(Mutex::new(None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let queue: Arc<Mutex<std::collections::VecDeque<Bytes>>> = Arc::new(Mutex::new(
        events.iter().map(|e| Bytes::from(e.clone())).collect(),
    ));
    // The next event is handed out only once the previous one is answered.
    let turn = Arc::new(tokio::sync::Semaphore::new(1));

    let ready = ready_at.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (queue, turn, done_tx, ready) =
                (queue.clone(), turn.clone(), done_tx.clone(), ready.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    let (queue, turn, done_tx, ready) =
                        (queue.clone(), turn.clone(), done_tx.clone(), ready.clone());
                    async move {
                        let path = req.uri().path().to_owned();
                        if path == NEXT {
                            ready.lock().unwrap().get_or_insert(started.elapsed());
                            turn.acquire().await.expect("open").forget();
                            let Some(event) = queue.lock().unwrap().pop_front() else {
                                // No more events: wait until the process is killed.
                                std::future::pending::<()>().await;
                                unreachable!()
                            };
                            let deadline = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_millis()
                                + 30_000;
                            let resp = hyper::Response::builder()
                                .header("content-type", "application/json")
                                .header("lambda-runtime-aws-request-id", "test-invocation-1")
                                .header("lambda-runtime-deadline-ms", deadline.to_string())
                                .header(
                                    "lambda-runtime-invoked-function-arn",
                                    "arn:aws:lambda:us-east-1:000000000000:function:test",
                                )
                                .body(Full::new(event))
                                .unwrap();
                            return Ok::<_, hyper::Error>(resp);
                        }
                        let body = req.into_body().collect().await?.to_bytes();
                        if path.ends_with("/response") || path.ends_with("/error") {
                            let _ = done_tx.send(body);
                            turn.add_permits(1);
                        }
                        Ok(hyper::Response::builder()
                            .status(202)
                            .body(Full::new(Bytes::new()))
                            .unwrap())
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let mut child = command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn function binary");
    let mut stderr = child.stderr.take().expect("stderr");
    let mut runs = Vec::with_capacity(events.len());
    let mut exited = None;
    for _ in events {
        let outcome = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::select! {
                posted = done_rx.recv() => Ok(posted.expect("runtime stand-in stopped")),
                status = child.wait() => Err(status.expect("wait")),
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{name} neither answered nor exited within 60 s"));
        match outcome {
            Ok(body) => {
                let answered = started.elapsed();
                let (peak_rss_kib, cpu) = child.id().map(process_usage).unwrap_or_default();
                runs.push(Invocation {
                    exec: started,
                    response: serde_json::from_slice(&body).expect("response document is JSON"),
                    ready: ready_at.lock().unwrap().unwrap_or(answered),
                    answered,
                    peak_rss_kib,
                    cpu,
                });
            }
            Err(status) => {
                exited = Some(status);
                break;
            }
        }
    }
    let _ = child.kill().await;
    server.abort();
    match exited {
        None => Ok(runs),
        Some(status) => {
            use tokio::io::AsyncReadExt;
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            Err(Exited {
                success: status.success(),
                stderr: text,
            })
        }
    }
}

/// A function process that ended without answering (e.g. failed at init, as
/// Lambda reports `Runtime.ExitError`).
#[derive(Debug)]
pub struct Exited {
    pub success: bool,
    pub stderr: String,
}

/// Peak resident memory and CPU time (every thread) of a live process, from /proc.
fn process_usage(pid: u32) -> (u64, Duration) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    // schedstat's first field is nanoseconds on a CPU, per thread.
    let cpu_ns: u64 = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    (peak, Duration::from_nanos(cpu_ns))
}
