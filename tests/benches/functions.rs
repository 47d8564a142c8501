//! `make bench`: every Lambda function's release binary started cold, once per
//! sample event in events/ (made real: live tokens, codes, signatures), under
//! the Lambda Runtime API stand-in against the emulator, one fresh app per
//! round. From exec: ready (init done, first poll for an event), first
//! response, peak memory, CPU; and the emulator's share of each span, timed at
//! the proxy every AWS call goes through, so init and answer can be read
//! without the AWS round trips. Writes target/bench-report/functions.md.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use voicegate_tests::runtime_api::{invoke_sequence, set_env, Invocation};
use voicegate_tests::sample_events::{answer_every_sample_event, CASES};
use voicegate_tests::{env_number, repo_root, target_dir, TestApp};

/// Events that answer the same when sent again, so a container can be
/// kept warm on them: their warm cost per invocation is measured too.
const REPLAYABLE: [&str; 9] = [
    "health.json",
    "jwks.json",
    "login.json",
    "me.json",
    "connection-details.json",
    "admin-livekit-tokens.json",
    "oauth-metadata.json",
    "passkeys.json",
    "passkey-login-start.json",
];

/// A warm container's cost per invocation, after its cold one.
struct Warm {
    function: &'static str,
    file: &'static str,
    cpu: Duration,
    latency: Duration,
    latency_without_aws: Duration,
}

/// One cold start: the function, the event, and what it cost.
struct Cold {
    function: &'static str,
    file: &'static str,
    status: u64,
    run: Invocation,
    aws_before_ready: Duration,
    aws_before_answer: Duration,
}

fn release_command(name: &str) -> tokio::process::Command {
    let bin = target_dir().join("release").join(name);
    assert!(
        bin.exists(),
        "{} missing: make bench builds it",
        bin.display()
    );
    tokio::process::Command::new(bin)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let rounds = env_number("BENCH_FUNCTION_ROUNDS", 5);
    let warm_n = env_number("BENCH_WARM_INVOCATIONS", 30);
    let colds: Arc<Mutex<Vec<Cold>>> = Arc::default();
    let warms: Arc<Mutex<Vec<Warm>>> = Arc::default();
    for _ in 0..rounds {
        let app = TestApp::start().await;
        let proxy = app.faults.clone();
        answer_every_sample_event(&app, |function, file, event, mut env| {
            let (proxy, colds, warms) = (proxy.clone(), colds.clone(), warms.clone());
            let high = "1000000";
            set_env(
                &mut env,
                &[
                    ("AWS_ENDPOINT_URL", proxy.endpoint.as_str()),
                    // The warm replays are one user from one address.
                    ("CONNECTION_DETAILS_PER_USER_PER_10_MIN", high),
                    ("CONNECTION_DETAILS_PER_IP_PER_HOUR", high),
                    ("PASSKEY_CEREMONIES_PER_IP_PER_HOUR", high),
                ],
            );
            async move {
                let replays = if REPLAYABLE.contains(&file) {
                    warm_n
                } else {
                    0
                };
                let events = vec![event; 1 + replays];
                let mut runs =
                    invoke_sequence(release_command(function.name), function.name, &env, &events)
                        .await
                        .unwrap_or_else(|e| {
                            panic!("{} exited on {file}: {}", function.name, e.stderr)
                        });
                if replays > 0 {
                    assert!(
                        runs.iter()
                            .all(|r| r.response["statusCode"] == runs[0].response["statusCode"]),
                        "{file} answered differently when sent again"
                    );
                    let steps: Vec<(Duration, Duration)> = runs
                        .windows(2)
                        .map(|w| {
                            let span = w[1].answered - w[0].answered;
                            let aws = proxy.upstream_time(
                                w[0].exec + w[0].answered,
                                w[1].exec + w[1].answered,
                            );
                            (span, span.saturating_sub(aws))
                        })
                        .collect();
                    let mid = |mut v: Vec<Duration>| {
                        v.sort();
                        v[v.len() / 2]
                    };
                    warms.lock().unwrap().push(Warm {
                        function: function.name,
                        file,
                        cpu: (runs[replays].cpu - runs[0].cpu) / replays as u32,
                        latency: mid(steps.iter().map(|s| s.0).collect()),
                        latency_without_aws: mid(steps.iter().map(|s| s.1).collect()),
                    });
                }
                let run = runs.swap_remove(0);
                let response = run.response.clone();
                colds.lock().unwrap().push(Cold {
                    function: function.name,
                    file,
                    status: response["statusCode"].as_u64().unwrap_or(0),
                    aws_before_ready: proxy.upstream_time(run.exec, run.exec + run.ready),
                    aws_before_answer: proxy.upstream_time(run.exec, run.exec + run.answered),
                    run,
                });
                response
            }
        })
        .await;
    }

    let colds = colds.lock().unwrap();
    let mut md = format!(
        "### Every function cold, once per sample event (median of {rounds} rounds)\n\n\
         Each row is a fresh process of the function's release binary answering one event \
         of events/ (with live tokens and codes), as a cold Lambda container does. \
         *AWS* is the time at least one call was with the emulator, timed at the proxy the \
         calls go through; *without AWS* takes it out (init reads the secrets; the answer \
         makes the endpoint's calls). CPU is every thread's time until the response.\n\n\
         | function | event | status | exec → ready | ready without AWS | exec → first response | first response without AWS | peak RSS | CPU |\n\
         |---|---|---|---|---|---|---|---|---|\n"
    );
    let (mut worst_ready, mut worst_rss) = ((0.0f64, ""), (0.0f64, ""));
    for (file, _) in CASES {
        let runs: Vec<&Cold> = colds.iter().filter(|c| c.file == file).collect();
        let pick = |f: &dyn Fn(&Cold) -> f64| median(runs.iter().map(|c| f(c)).collect());
        let ready = pick(&|c| ms(c.run.ready));
        let ready_own = pick(&|c| ms(c.run.ready.saturating_sub(c.aws_before_ready)));
        let answered = pick(&|c| ms(c.run.answered));
        let answered_own = pick(&|c| ms(c.run.answered.saturating_sub(c.aws_before_answer)));
        let rss = runs
            .iter()
            .map(|c| c.run.peak_rss_kib as f64 / 1024.0)
            .fold(0.0, f64::max);
        let cpu = pick(&|c| ms(c.run.cpu));
        let function = runs[0].function;
        if ready_own > worst_ready.0 {
            worst_ready = (ready_own, function);
        }
        if rss > worst_rss.0 {
            worst_rss = (rss, function);
        }
        md += &format!(
            "| `{function}` | `{file}` | {} | {ready:.1} ms | {ready_own:.1} ms | {answered:.1} ms | \
             {answered_own:.1} ms | {rss:.1} MiB | {cpu:.1} ms |\n",
            runs[0].status
        );
    }
    md += &format!(
        "\nSlowest init without AWS: {:.1} ms (`{}`); largest peak memory: {:.1} MiB (`{}`, \
         the highest of its rounds).\n\n",
        worst_ready.0, worst_ready.1, worst_rss.0, worst_rss.1
    );
    let warms = warms.lock().unwrap();
    md += &format!(
        "### Warm, per endpoint ({warm_n} invocations in one container after its cold one, \
         median of {rounds} rounds)\n\n\
         The events that answer the same when sent again. CPU is every thread's time per \
         invocation; latency is from one answer to the next (the stand-in's hand-off \
         included), and without the time a call was with the emulator.\n\n\
         | function | event | CPU per invocation | latency | latency without AWS |\n\
         |---|---|---|---|---|\n"
    );
    let mut warm_cpu = serde_json::Map::new();
    for file in REPLAYABLE {
        let runs: Vec<&Warm> = warms.iter().filter(|w| w.file == file).collect();
        if runs.is_empty() {
            continue;
        }
        let pick = |f: &dyn Fn(&Warm) -> f64| median(runs.iter().map(|w| f(w)).collect());
        let cpu = pick(&|w| ms(w.cpu));
        warm_cpu.insert(file.into(), serde_json::json!(cpu));
        md += &format!(
            "| `{}` | `{file}` | {cpu:.2} ms | {:.1} ms | {:.2} ms |\n",
            runs[0].function,
            pick(&|w| ms(w.latency)),
            pick(&|w| ms(w.latency_without_aws)),
        );
    }
    md += "\n";
    let dir = repo_root().join("target/bench-report");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("functions.md"), &md).unwrap();
    let figures = serde_json::json!({
        "slowest_ready_without_aws_ms": worst_ready.0, "slowest_ready_function": worst_ready.1,
        "peak_rss_mib": worst_rss.0, "peak_rss_function": worst_rss.1,
        "warm_cpu_ms": warm_cpu,
    });
    std::fs::write(dir.join("functions.json"), figures.to_string()).unwrap();
    println!("{md}");
}
