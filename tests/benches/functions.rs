//! `make bench`: every Lambda function's release binary started cold, once per
//! sample event in events/ (made real: live tokens, codes, signatures), under
//! the Lambda Runtime API stand-in against the emulator, one fresh app per
//! round. From exec: ready (init done, first poll for an event), first
//! response, peak memory, CPU; and the emulator's share of each span, timed at
//! the proxy every AWS call goes through, so init and answer can be read
//! without the AWS round trips. Writes target/bench-report/functions.md.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use voicegate_tests::runtime_api::{invoke_command, Invocation};
use voicegate_tests::sample_events::{answer_every_sample_event, CASES};
use voicegate_tests::{repo_root, TestApp};

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
    let bin = repo_root().join("target/release").join(name);
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
    let rounds: usize = std::env::var("BENCH_FUNCTION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let colds: Arc<Mutex<Vec<Cold>>> = Arc::default();
    for _ in 0..rounds {
        let app = TestApp::start().await;
        let proxy = app.faults.clone();
        answer_every_sample_event(&app, |function, file, event, mut env| {
            let (proxy, colds) = (proxy.clone(), colds.clone());
            env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
            env.push(("AWS_ENDPOINT_URL".into(), proxy.endpoint.clone()));
            async move {
                let run =
                    invoke_command(release_command(function.name), function.name, &env, &event)
                        .await
                        .unwrap_or_else(|e| {
                            panic!("{} exited on {file}: {}", function.name, e.stderr)
                        });
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
    let dir = repo_root().join("target/bench-report");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("functions.md"), &md).unwrap();
    let figures = serde_json::json!({
        "slowest_ready_without_aws_ms": worst_ready.0, "slowest_ready_function": worst_ready.1,
        "peak_rss_mib": worst_rss.0, "peak_rss_function": worst_rss.1,
    });
    std::fs::write(dir.join("functions.json"), figures.to_string()).unwrap();
    println!("{md}");
}
