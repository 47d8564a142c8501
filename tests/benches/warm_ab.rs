//! Two or more builds of `connection-details` compared warm, alternating, on
//! the same emulator, user and event: what tests/bench/limits.md's "what was
//! tried" experiments used. Not part of `make bench`.
//!
//! ```sh
//! cargo build --release -p connection-details && cp target/release/connection-details /tmp/a
//! # change something, build again, copy to /tmp/b, then:
//! scripts/tools.sh moto   # once; make test and make dev do it too
//! bash -c '. scripts/emulator_session.sh; cargo bench -p voicegate-tests --bench warm_ab -- /tmp/a /tmp/b'
//! ```
//!
//! Relative paths are from the repository root. With no paths it measures `target/release/connection-details` alone.
//! `WARM_INVOCATIONS` (300) per process, `WARM_ROUNDS` (3) processes per build.

use std::path::PathBuf;

use voicegate_tests::runtime_api::{invoke_sequence, set_env};
use voicegate_tests::sample_events::connection_details_event;
use voicegate_tests::{env_number, repo_root, target_dir, TestApp, JOHN};

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench` to every benchmark binary.
    let mut builds: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        // cargo runs benchmarks in tests/: a relative path is the repository's.
        .map(|a| repo_root().join(a))
        .collect();
    if builds.is_empty() {
        builds.push(target_dir().join("release/connection-details"));
    }
    for build in &builds {
        assert!(build.exists(), "{} does not exist", build.display());
    }
    let warm = env_number("WARM_INVOCATIONS", 300).max(2);
    let rounds = env_number("WARM_ROUNDS", 3);

    let app = TestApp::start().await;
    let token = app.access_token(&JOHN).await;
    let events = vec![connection_details_event(&token); warm + 1];
    let mut env = app.lambda_env();
    set_env(
        &mut env,
        &[
            // One user from one address, again and again.
            ("CONNECTION_DETAILS_PER_USER_PER_10_MIN", "1000000"),
            ("CONNECTION_DETAILS_PER_IP_PER_HOUR", "1000000"),
            ("AWS_ENDPOINT_URL", app.faults.endpoint.as_str()),
        ],
    );
    let mut cpu_ms: Vec<Vec<f64>> = vec![vec![]; builds.len()];
    for _ in 0..rounds {
        for (i, build) in builds.iter().enumerate() {
            let runs = invoke_sequence(
                tokio::process::Command::new(build),
                "connection-details",
                &env,
                &events,
            )
            .await
            .unwrap_or_else(|e| panic!("{} exited: {}", build.display(), e.stderr));
            assert!(
                runs.iter().all(|r| r.response["statusCode"] == 201),
                "{} did not answer 201",
                build.display()
            );
            // From the first warm answer to the last: the cold one is left out.
            let cpu = (runs[warm].cpu - runs[1].cpu).as_secs_f64() * 1000.0 / (warm - 1) as f64;
            cpu_ms[i].push(cpu);
            println!("{}: {cpu:.3} ms CPU per warm invocation", build.display());
        }
    }
    println!("\nmedian of {rounds} processes, {warm} warm invocations each:");
    for (build, mut runs) in builds.iter().zip(cpu_ms) {
        runs.sort_by(|a, b| a.total_cmp(b));
        println!("  {}: {:.3} ms", build.display(), runs[runs.len() / 2]);
    }
}
