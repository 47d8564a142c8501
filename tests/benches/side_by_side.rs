//! `make bench`, side by side in one run: (1) minting the participant token
//! of `/connection-details` with voicegate's code and with LiveKit's Python
//! and Node server SDKs; (2) a cold `/connection-details` Lambda: voicegate's
//! release binary and the same work as a Python and a Node handler
//! (tests/bench/), each started under the Lambda Runtime API stand-in against
//! the emulator, alternating, from exec: ready, first response, peak memory,
//! CPU. Writes its markdown to target/bench-report/side_by_side.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use voicegate::adapters::secrets::LiveKitCredentials;
use voicegate::domain::livekit::{self, ParticipantToken};
use voicegate_tests::runtime_api::{invoke_command, invoke_sequence, set_env, Invocation};
use voicegate_tests::sample_events::connection_details_event;
use voicegate_tests::{env_number, path, repo_root, target_dir, TestApp, JOHN};

const ROOM: &str = "voice_assistant_room_1795300000_0f8fad5bd9cb469f";
const SECRET: &str = "a-livekit-api-secret-of-realistic-length";

/// The claims all three mint: those of a caller's participant token.
fn mint_input(n: usize) -> Value {
    json!({"api_key": "devkey", "api_secret": SECRET, "identity": "voice_assistant_user_u001",
        "name": "John Doe", "room": ROOM,
        "metadata": r#"{"user_id":"u001","full_name":"John Doe","session_id":"vs_0f8fad5bd9cb469f"}"#,
        "attributes": {"user_id": "u001", "session_id": "vs_0f8fad5bd9cb469f"},
        "agent_name": "banking-assistant", "ttl_seconds": 900, "n": n})
}

fn rust_mint_us(n: usize) -> f64 {
    let creds = LiveKitCredentials {
        api_key: "devkey".into(),
        api_secret: SECRET.into(),
    };
    let mint = || {
        livekit::sign(
            &creds,
            ParticipantToken {
                identity: "voice_assistant_user_u001",
                name: "John Doe",
                kind: None,
                grants: livekit::voice_caller_grants(ROOM),
                metadata: r#"{"user_id":"u001","full_name":"John Doe","session_id":"vs_0f8fad5bd9cb469f"}"#.into(),
                attributes: vec![
                    ("user_id".into(), "u001".into()),
                    ("session_id".into(), "vs_0f8fad5bd9cb469f".into()),
                ],
                agents: vec![livekit_protocol::RoomAgentDispatch {
                    agent_name: "banking-assistant".into(),
                    ..Default::default()
                }],
                ttl: Duration::from_secs(900),
            },
        )
        .expect("mint")
    };
    for _ in 0..n.min(200) {
        mint();
    }
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(mint());
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn script_mint_us(program: &PathBuf, script: &str, n: usize) -> f64 {
    use std::io::Write;
    let mut child = std::process::Command::new(program)
        .arg(repo_root().join(script))
        .current_dir(repo_root().join("tests/livekit"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(mint_input(n).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{script} failed");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON from the mint script");
    v["per_token_us"].as_f64().unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Runtime {
    name: &'static str,
    command: fn() -> tokio::process::Command,
    runs: Vec<Invocation>,
}

fn rust_command() -> tokio::process::Command {
    let bin = target_dir().join("release/connection-details");
    assert!(
        bin.exists(),
        "{} missing: make bench builds it",
        bin.display()
    );
    tokio::process::Command::new(bin)
}

fn python_command() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(repo_root().join(".tools/bench-python/bin/python"));
    c.arg(repo_root().join("tests/bench/python/handler.py"));
    c
}

fn node_command() -> tokio::process::Command {
    let mut c = tokio::process::Command::new("node");
    c.arg(repo_root().join("tests/bench/node/handler.mjs"));
    c
}

#[tokio::main]
async fn main() {
    let mut md = String::new();
    let n = env_number("BENCH_MINT_N", 5000);

    // 1. LiveKit participant token, same claims, same loop, one run.
    let rust = rust_mint_us(n);
    let python = script_mint_us(
        &repo_root().join(".tools/livekit/bin/python"),
        "tests/livekit/bench_mint.py",
        n,
    );
    let node = script_mint_us(&PathBuf::from("node"), "tests/livekit/bench_mint.mjs", n);
    md += &format!(
        "### LiveKit participant token, minted {n} times (same claims)\n\n\
         | minted by | per token | voicegate is |\n|---|---|---|\n\
         | voicegate (Rust, livekit-api crate) | {rust:.1} µs | |\n\
         | LiveKit Python SDK (livekit-api 1.2.2) | {python:.1} µs | {:.0}× faster |\n\
         | LiveKit Node SDK (livekit-server-sdk 2.19.2) | {node:.1} µs | {:.0}× faster |\n\n",
        python / rust,
        node / rust
    );

    // 2. Cold /connection-details, alternating runtimes.
    let rounds = env_number("BENCH_COLD_ROUNDS", 10);
    let app = TestApp::start().await;
    let token = app.access_token(&JOHN).await;
    let jwks = app.get(path::JWKS, None).await.text;
    let event = connection_details_event(&token);
    let mut env = app.lambda_env();
    set_env(
        &mut env,
        &[
            ("BENCH_JWKS", jwks.as_str()),
            // Every round is the same user from the same address.
            ("CONNECTION_DETAILS_PER_USER_PER_10_MIN", "1000000"),
            ("CONNECTION_DETAILS_PER_IP_PER_HOUR", "1000000"),
            ("RUST_LOG", "warn"),
            // Lambda sets both; boto3 reads only this one.
            ("AWS_DEFAULT_REGION", "us-east-1"),
            // Through the app's proxy, which times the emulator's answers.
            ("AWS_ENDPOINT_URL", app.faults.endpoint.as_str()),
        ],
    );
    let mut runtimes = [
        Runtime {
            name: "voicegate (Rust, release)",
            command: rust_command,
            runs: vec![],
        },
        Runtime {
            name: "Python 3.11 (boto3, PyJWT, livekit-api)",
            command: python_command,
            runs: vec![],
        },
        Runtime {
            name: "Node (AWS SDK v3, jose, livekit-server-sdk)",
            command: node_command,
            runs: vec![],
        },
    ];
    for _ in 0..rounds {
        for rt in runtimes.iter_mut() {
            let run = invoke_command((rt.command)(), rt.name, &env, &event)
                .await
                .unwrap_or_else(|e| panic!("{} exited: {}", rt.name, e.stderr));
            assert_eq!(
                run.response["statusCode"], 201,
                "{}: {}",
                rt.name, run.response
            );
            rt.runs.push(run);
        }
    }
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let own = |r: &Invocation, span: Duration| {
        ms(&span.saturating_sub(app.faults.upstream_time(r.exec, r.exec + span)))
    };
    let figures: Vec<[f64; 6]> = runtimes
        .iter()
        .map(|rt| {
            [
                median(rt.runs.iter().map(|r| ms(&r.ready)).collect()),
                median(rt.runs.iter().map(|r| ms(&r.answered)).collect()),
                median(
                    rt.runs
                        .iter()
                        .map(|r| r.peak_rss_kib as f64 / 1024.0)
                        .collect(),
                ),
                median(rt.runs.iter().map(|r| ms(&r.cpu)).collect()),
                median(rt.runs.iter().map(|r| own(r, r.ready)).collect()),
                median(rt.runs.iter().map(|r| own(r, r.answered)).collect()),
            ]
        })
        .collect();
    md += &format!(
        "### Cold `/connection-details`, median of {rounds} starts each, alternating\n\n\
         | runtime | exec → ready | ready without AWS | exec → first response | first response without AWS | peak RSS | CPU | first response vs voicegate |\n\
         |---|---|---|---|---|---|---|---|\n"
    );
    for (rt, f) in runtimes.iter().zip(&figures) {
        md += &format!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB | {:.1} ms | {} |\n",
            rt.name,
            f[0],
            f[4],
            f[1],
            f[5],
            f[2],
            f[3],
            if f[1] == figures[0][1] {
                "".to_owned()
            } else {
                format!("{:.1}× slower", f[1] / figures[0][1])
            }
        );
    }
    md += "\nEach process is started fresh (a cold container) with the same environment, \
           event and bearer token; the AWS calls go to the local emulator, so \"first response\" \
           includes the emulator's answers (3 for the handlers: session, user, voice session; \
           4 for voicegate, which reads the session and the user in one call and also \
           takes its two rate-limit windows; plus the secrets); the *without AWS* columns take \
           out the time a call was with the emulator, timed at the proxy every call goes \
           through. CPU is every thread's time on a CPU until the response, from /proc.\n\n";
    let mut targets = serde_json::Map::new();
    targets.insert(
        "cold_first_response_vs_python".into(),
        json!(figures[1][1] / figures[0][1]),
    );
    targets.insert(
        "cold_first_response_vs_node".into(),
        json!(figures[2][1] / figures[0][1]),
    );
    // 3. Warm: one process per runtime answering `warm` invocations after its cold one.
    let warm = env_number("BENCH_WARM_INVOCATIONS", 50);
    md += &format!(
        "### Warm `/connection-details`, {warm} invocations in one process after its cold one\n\n\
         | runtime | CPU per invocation | latency per invocation (median) |\n|---|---|---|\n"
    );
    let events = vec![event.clone(); warm + 1];
    for rt in &runtimes {
        let runs = invoke_sequence((rt.command)(), rt.name, &env, &events)
            .await
            .unwrap_or_else(|e| panic!("{} exited: {}", rt.name, e.stderr));
        assert!(
            runs.iter().all(|r| r.response["statusCode"] == 201),
            "{}",
            rt.name
        );
        let cpu = (ms(&runs[warm].cpu) - ms(&runs[0].cpu)) / warm as f64;
        let latency = median(
            runs.windows(2)
                .map(|w| ms(&w[1].answered) - ms(&w[0].answered))
                .collect(),
        );
        md += &format!("| {} | {cpu:.2} ms | {latency:.1} ms |\n", rt.name);
        if targets.get("warm_cpu_ms").is_none() {
            targets.insert("warm_cpu_ms".into(), json!(cpu));
        }
    }
    md += "\nCPU is every thread's time between the first and the last answer, divided by the \
           warm invocations; latency includes the emulator's answers and the stand-in's \
           hand-off.\n\n";

    let dir = repo_root().join("target/bench-report");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("side_by_side.md"), &md).unwrap();
    std::fs::write(
        dir.join("side_by_side.json"),
        Value::Object(targets).to_string(),
    )
    .unwrap();
    println!("{md}");
}
