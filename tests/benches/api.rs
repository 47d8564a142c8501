//! `make bench`: latency of the hot paths through the local server against the
//! emulator, and the process's peak memory. Numbers, not assertions: compare
//! runs by eye or in CI artefacts. Login for an unknown email and for a wrong
//! password should cost about the same (one argon2id verification each).

use std::time::{Duration, Instant};

use serde_json::json;
use voicegate_tests::{path, TestApp, ADA, JOHN};

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "{name:<34} n={:<4} p50={:>7.2} ms  p95={:>7.2} ms  max={:>7.2} ms",
        samples.len(),
        pct(0.5),
        pct(0.95),
        pct(1.0)
    );
}

/// Times `n` calls of `f`, each of which must answer `expect` (so a benchmark
/// of fast failures cannot pass for one of the real path).
async fn time<F, Fut>(n: usize, expect: u16, mut f: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        let status = f(i).await;
        out.push(start.elapsed());
        assert_eq!(status, expect, "unexpected status during the benchmark");
    }
    out
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    // The limits would refuse a benchmark's repeated calls from one user and address.
    let app = &TestApp::builder()
        .env("CONNECTION_DETAILS_PER_USER_PER_10_MIN", "1000000")
        .env("CONNECTION_DETAILS_PER_IP_PER_HOUR", "1000000")
        .start()
        .await;
    let token = app.access_token(&JOHN).await;

    report(
        "GET /health",
        time(n, 200, |_| async {
            app.get(path::HEALTH, None).await.status
        })
        .await,
    );
    report(
        "GET /.well-known/jwks.json",
        time(n, 200, |_| async { app.get(path::JWKS, None).await.status }).await,
    );
    report(
        "GET /auth/me",
        time(n, 200, |_| async {
            app.get(path::ME, Some(&token)).await.status
        })
        .await,
    );
    report(
        "POST /auth/login (right password)",
        time(n, 200, |_| async {
            app.post(
                path::LOGIN,
                json!({"email": ADA.email, "password": ADA.password}),
            )
            .await
            .status
        })
        .await,
    );
    // Wrong password and unknown email take the same path on purpose: same
    // reads, same writes, one argon2id verification each.
    for (label, email) in [
        ("POST /auth/login (wrong password)", JOHN.email),
        ("POST /auth/login (unknown email)", "ghost@example.com"),
    ] {
        let samples = time(n, 401, |i| async move {
            // At most 4 failures per window, so the lockout never kicks in.
            if i % 4 == 0 {
                app.clock.advance(901);
            }
            app.post(
                path::LOGIN,
                json!({"email": email, "password": "definitely-wrong"}),
            )
            .await
            .status
        })
        .await;
        report(label, samples);
    }
    // The clock moved above: a fresh token.
    let token = app.access_token(&JOHN).await;
    report(
        "POST /connection-details",
        time(n, 201, |_| async {
            app.post_auth(path::CONNECTION_DETAILS, &token, json!({}))
                .await
                .status
        })
        .await,
    );
    report(
        "POST /auth/otp/request",
        time(n, 202, |i| async move {
            // Past the cooldown, and 20 of them past the per-IP hour.
            app.clock.advance(181);
            app.post(path::OTP_REQUEST, json!({"user_id": format!("u7{i:04}")}))
                .await
                .status
        })
        .await,
    );
    // The hash check alone, known account vs unknown (dummy hash).
    let john = voicegate::types::Email::parse(JOHN.email).unwrap();
    let phc = app
        .state
        .db
        .user_by_email(&john)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    for (label, hash) in [
        ("argon2id verify (known account)", Some(phc)),
        ("argon2id verify (unknown: dummy)", None),
    ] {
        let samples = time(n, 0, |_| {
            let hash = hash.clone();
            async move {
                voicegate::adapters::password::verify("definitely-wrong".into(), hash)
                    .await
                    .unwrap();
                0
            }
        })
        .await;
        report(label, samples);
    }
    if let Some(kib) = peak_rss_kib() {
        println!(
            "peak resident memory of the bench process (app + client): {} MiB",
            kib / 1024
        );
    }
}
