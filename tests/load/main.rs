//! `make load`: a bounded mixed workload against a private copy of the local
//! stage (login, SMS sign-in, connection details, refresh, webhooks, and
//! wrong passwords), from `LOAD_CLIENTS` concurrent clients for
//! `LOAD_SECONDS`. Prints a latency histogram per operation and the error
//! count, then checks the table against what the clients saw: every issued
//! session is there, one voice session per connection-details answer, every
//! webhook applied once, every wrong password counted, one SMS per code sent.
//! Exits non-zero on any 5xx or any mismatch.
//!
//! The three login paths (right password, wrong password on a real account,
//! unknown email) come one after another in every client, so none of them is
//! measured at a quieter moment than the others. Every AWS call goes through
//! the app's proxy, which times the emulator's answers: its share is reported
//! apart from voicegate's. With `LOAD_REPORT=<file>` the figures are also
//! written as markdown (`make bench`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use livekit_api::access_token::AccessToken;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use voicegate::clock::Clock;
use voicegate_tests::{path, random_phone, TestApp, LOCAL_LIVEKIT_KEY, LOCAL_LIVEKIT_SECRET};

/// Latencies and statuses per operation.
#[derive(Default)]
struct Record {
    latencies: HashMap<&'static str, Vec<Duration>>,
    statuses: HashMap<(&'static str, u16), usize>,
}

#[derive(Default)]
struct Seen {
    /// Session ids whose tokens a client received.
    sids: Vec<String>,
    /// Voice session ids issued.
    voice: Vec<(String, String)>,
    joined: usize,
    codes_sent: HashMap<String, usize>,
    /// Wrong passwords answered 401, per email.
    wrong_passwords: HashMap<&'static str, usize>,
}

fn env(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sid_of(tokens: &Value) -> String {
    tokens["refresh_token"]
        .as_str()
        .and_then(|t| t.split_once('.'))
        .map(|(sid, _)| sid.to_owned())
        .unwrap_or_default()
}

struct Users {
    /// (email, user_id, phone) of accounts with verified numbers.
    accounts: Vec<(String, String, String)>,
}

/// The real account that only ever gets wrong passwords (a right one would
/// clear its failure counter, which the end check holds against the count).
const DECOY: &str = "load-decoy@example.com";
const UNKNOWN: &str = "nobody-load@example.com";

const PASSWORD: &str = voicegate_tests::DEMO_TEST_PASSWORD;

async fn setup(app: &TestApp, n: usize) -> Users {
    let mut accounts = Vec::new();
    for i in 0..n {
        let email = format!("load{i}@example.com");
        let phone = random_phone();
        let t = app.register(&email, Some(&phone)).await;
        let code = app
            .sms_to_phone(&phone)
            .await
            .last()
            .expect("verification SMS")[..6]
            .to_owned();
        let r = app
            .post_auth(
                path::PHONE_VERIFY,
                t["access_token"].as_str().unwrap(),
                json!({"otp": code}),
            )
            .await;
        assert_eq!(r.status, 200, "setup: {}", r.text);
        accounts.push((
            email,
            t["user"]["user_id"].as_str().unwrap().to_owned(),
            phone,
        ));
    }
    app.register(DECOY, Some(&random_phone())).await;
    Users { accounts }
}

async fn client(
    id: usize,
    app: Arc<TestApp>,
    users: Arc<Users>,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
    seen: Arc<Mutex<Seen>>,
) {
    let (email, user_id, phone) = users.accounts[id % users.accounts.len()].clone();
    let mut refresh: Option<String> = None;
    let mut access: Option<String> = None;
    let mut step = id;
    while !stop.load(Ordering::Relaxed) {
        step += 1;
        let mut started = Instant::now();
        let (op, status): (&'static str, u16) = match step % 10 {
            0 => {
                let r = app
                    .post(path::LOGIN, json!({"email": email, "password": PASSWORD}))
                    .await;
                if r.status == 200 {
                    let t = r.json();
                    seen.lock().unwrap().sids.push(sid_of(&t));
                    refresh = t["refresh_token"].as_str().map(str::to_owned);
                    access = t["access_token"].as_str().map(str::to_owned);
                }
                ("POST /auth/login (right password)", r.status)
            }
            1 | 2 => {
                let (who, op) = if step % 10 == 1 {
                    (DECOY, "POST /auth/login (wrong password)")
                } else {
                    (UNKNOWN, "POST /auth/login (unknown email)")
                };
                let r = app
                    .post(
                        path::LOGIN,
                        json!({"email": who, "password": "wrong-password!"}),
                    )
                    .await;
                if r.status == 401 {
                    *seen.lock().unwrap().wrong_passwords.entry(who).or_default() += 1;
                }
                (op, r.status)
            }
            3 | 4 => {
                let Some(token) = refresh.clone() else {
                    continue;
                };
                let r = app
                    .post(path::REFRESH, json!({"refresh_token": token}))
                    .await;
                if r.status == 200 {
                    let t = r.json();
                    refresh = t["refresh_token"].as_str().map(str::to_owned);
                    access = t["access_token"].as_str().map(str::to_owned);
                }
                ("POST /auth/refresh", r.status)
            }
            5 | 6 => {
                let Some(token) = access.clone() else {
                    continue;
                };
                let r = app
                    .post_auth(path::CONNECTION_DETAILS, &token, json!({}))
                    .await;
                if r.status == 201 {
                    let d = r.json();
                    seen.lock().unwrap().voice.push((
                        d["session_id"].as_str().unwrap().to_owned(),
                        d["room_name"].as_str().unwrap().to_owned(),
                    ));
                }
                ("POST /connection-details", r.status)
            }
            7 => {
                let room = {
                    let seen = seen.lock().unwrap();
                    seen.voice
                        .get(step % seen.voice.len().max(1))
                        .map(|(_, room)| room.clone())
                };
                let Some(room) = room else { continue };
                let body =
                    json!({"event": "participant_joined", "id": format!("EV_load_{id}_{step}"),
                    "room": {"name": room}, "participant": {"identity": "voice_assistant_user_x"}})
                    .to_string();
                let auth = sign_webhook(&body);
                // Signing is the load generator's work, not the request's.
                started = Instant::now();
                let r = app
                    .post_raw(
                        path::LIVEKIT_WEBHOOK,
                        Some("application/webhook+json"),
                        body.into_bytes(),
                        &[("authorization", &auth)],
                    )
                    .await;
                if r.status == 200 {
                    seen.lock().unwrap().joined += 1;
                }
                ("POST /livekit/webhook", r.status)
            }
            8 => {
                let Some(token) = access.clone() else {
                    continue;
                };
                let r = app.get(path::ME, Some(&token)).await;
                ("GET /auth/me", r.status)
            }
            _ => {
                let r = app
                    .post(path::OTP_REQUEST, json!({"user_id": user_id}))
                    .await;
                if r.status == 202 {
                    *seen
                        .lock()
                        .unwrap()
                        .codes_sent
                        .entry(phone.clone())
                        .or_default() += 1;
                }
                ("POST /auth/otp/request", r.status)
            }
        };
        let mut rec = record.lock().unwrap();
        rec.latencies.entry(op).or_default().push(started.elapsed());
        *rec.statuses.entry((op, status)).or_default() += 1;
    }
}

/// Per operation: count, throughput and latency percentiles; then the
/// emulator's answers, timed at the proxy. Returns the same as markdown.
fn report(record: &Record, seconds: f64, clients: usize, emulator: &[Duration]) -> String {
    let pct = |s: &[Duration], p: f64| {
        s[((s.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
    };
    println!(
        "\n{:<36} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "operation", "count", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let mut md = String::from(
        "| endpoint | requests | req/s | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|\n",
    );
    let ops: BTreeMap<_, _> = record.latencies.iter().collect();
    let mut waited = Duration::ZERO;
    for (op, samples) in ops {
        let mut s = samples.clone();
        s.sort();
        waited += s.iter().sum::<Duration>();
        let (n, rps) = (s.len(), s.len() as f64 / seconds);
        let (p50, p90, p99, max) = (pct(&s, 0.5), pct(&s, 0.9), pct(&s, 0.99), pct(&s, 1.0));
        println!("{op:<36} {n:>7} {rps:>8.1} {p50:>9.2} {p90:>9.2} {p99:>9.2} {max:>9.2}");
        md += &format!(
            "| `{op}` | {n} | {rps:.1} | {p50:.1} ms | {p90:.1} ms | {p99:.1} ms | {max:.1} ms |\n"
        );
    }
    let total: usize = record.latencies.values().map(Vec::len).sum();
    let mut e = emulator.to_vec();
    e.sort();
    let in_emulator: Duration = e.iter().sum();
    let share = in_emulator.as_secs_f64() / waited.as_secs_f64().max(1e-9) * 100.0;
    let line = if e.is_empty() {
        "the emulator answered no calls".to_owned()
    } else {
        format!(
            "The emulator answered {} AWS calls ({:.1} per request), p50 {:.1} ms, p99 {:.1} ms \
             each; {share:.0}% of all the time the clients waited was a call with the emulator \
             (calls a request sends together counted each).",
            e.len(),
            e.len() as f64 / total.max(1) as f64,
            pct(&e, 0.5),
            pct(&e, 0.99)
        )
    };
    println!("\n{line}");
    format!(
        "### Under load: {clients} concurrent clients for {seconds:.0} s, {total} requests ({:.0} req/s)\n\n{md}\n{line}\n\n\
         A webhook is timed from after its signature, which the load generator makes in \
         process with LiveKit's Rust server SDK, as LiveKit's server signs one.\n",
        total as f64 / seconds
    )
}

/// The `Authorization` LiveKit's server sends with a webhook: a token of the
/// API key, valid 5 minutes, carrying the body's SHA-256 (livekit/protocol
/// `webhook/url_notifier.go`). Made with LiveKit's Rust server SDK in this
/// process: a Python process per webhook would take the CPU the API and the
/// emulator under test need (the api tests sign with LiveKit's Python SDK).
fn sign_webhook(body: &str) -> String {
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
    AccessToken::with_api_key(LOCAL_LIVEKIT_KEY, LOCAL_LIVEKIT_SECRET)
        .with_ttl(Duration::from_secs(300))
        .with_sha256(&sha256)
        .to_jwt()
        .expect("the local LiveKit key signs")
}

fn histogram(record: &Record) {
    println!("\nlatency histogram (all operations)");
    let all: Vec<Duration> = record.latencies.values().flatten().copied().collect();
    let bounds = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, u64::MAX];
    let mut lower = 0;
    for upper in bounds {
        let n = all
            .iter()
            .filter(|d| (lower..upper).contains(&(d.as_millis() as u64)))
            .count();
        let label = if upper == u64::MAX {
            format!(">= {lower} ms")
        } else {
            format!("{lower}-{upper} ms")
        };
        println!(
            "{label:>12} {n:>7} {}",
            "#".repeat((n * 60 / all.len().max(1)).max(usize::from(n > 0)))
        );
        lower = upper;
    }
    println!("\nstatuses");
    let statuses: BTreeMap<_, _> = record.statuses.iter().collect();
    for ((op, status), n) in statuses {
        println!("  {op:<24} {status}: {n}");
    }
}

#[tokio::main]
async fn main() {
    let clients = env("LOAD_CLIENTS", 32) as usize;
    let seconds = env("LOAD_SECONDS", 20);
    let accounts = env("LOAD_ACCOUNTS", 8) as usize;
    let high = "1000000";
    let app = Arc::new(
        TestApp::builder()
            .env("REGISTER_PER_IP_PER_HOUR", high)
            .env("LOGIN_FAILURES_PER_EMAIL_PER_15_MIN", high)
            .env("LOGIN_FAILURES_PER_IP_PER_15_MIN", high)
            .env("CONNECTION_DETAILS_PER_USER_PER_10_MIN", high)
            .env("CONNECTION_DETAILS_PER_IP_PER_HOUR", high)
            .env("OTP_REQUESTS_PER_IP_PER_HOUR", high)
            .env("OTP_REQUESTS_PER_USER_PER_HOUR", high)
            .env("PHONE_VERIFICATIONS_PER_PHONE_PER_HOUR", high)
            .env("OTP_RESEND_AFTER_SECONDS", "1")
            .start()
            .await,
    );
    println!(
        "load: {clients} clients for {seconds}s over {accounts} accounts, against {}",
        app.emulator
    );
    let users = Arc::new(setup(&app, accounts).await);
    // Time moves as on a real server, so per-second limits roll over.
    let ticking = app.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            ticking.clock.advance(1);
        }
    });

    app.faults.reset_calls();
    let stop = Arc::new(AtomicBool::new(false));
    let record = Arc::new(Mutex::new(Record::default()));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            tokio::spawn(client(
                i,
                app.clone(),
                users.clone(),
                stop.clone(),
                record.clone(),
                seen.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("client task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Every client is done: the shared records are ours alone now.
    let record = std::mem::take(&mut *record.lock().unwrap());
    let md = report(&record, elapsed, clients, &app.faults.upstream_durations());
    histogram(&record);
    if let Ok(path) = std::env::var("LOAD_REPORT") {
        std::fs::write(&path, md).expect("write LOAD_REPORT");
    }

    let mut problems = Vec::new();
    let server_errors: usize = record
        .statuses
        .iter()
        .filter(|((_, s), _)| *s >= 500)
        .map(|(_, n)| n)
        .sum();
    if server_errors > 0 {
        problems.push(format!("{server_errors} server errors"));
    }
    let unexpected: usize = record
        .statuses
        .iter()
        .filter(|((op, s), _)| match *op {
            op if op.contains("wrong password") || op.contains("unknown email") => *s != 401,
            "POST /auth/otp/request" => ![202, 429].contains(s),
            _ => *s >= 400,
        })
        .map(|(_, n)| n)
        .sum();
    if unexpected > 0 {
        problems.push(format!("{unexpected} unexpected statuses"));
    }
    println!("\nerrors: {server_errors} server, {unexpected} unexpected");

    // The table against what the clients saw.
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    for sid in &seen.sids {
        let Ok(sid) = voicegate::types::AuthSessionId::parse(sid) else {
            problems.push(format!("session id {sid:?} is not one of ours"));
            continue;
        };
        match app.state.db.session(&sid).await {
            Ok(Some(s)) if s.is_live(app.clock.now()) => {}
            other => problems.push(format!("session {sid} missing or dead: {other:?}")),
        }
    }
    for (session_id, _) in &seen.voice {
        let Ok(id) = voicegate::types::VoiceSessionId::parse(session_id) else {
            problems.push(format!(
                "voice session id {session_id:?} is not one of ours"
            ));
            continue;
        };
        if app
            .state
            .db
            .voice_session(&id)
            .await
            .ok()
            .flatten()
            .is_none()
        {
            problems.push(format!("voice session {session_id} missing"));
        }
    }
    for who in [DECOY, UNKNOWN] {
        let counted = app
            .item(&format!("RATE#login_failures#{who}"), "RATE")
            .await
            .and_then(|i| {
                i.get("hits")
                    .and_then(|h| h.as_n().ok())
                    .and_then(|h| h.parse::<usize>().ok())
            })
            .unwrap_or(0);
        let made = seen.wrong_passwords.get(who).copied().unwrap_or(0);
        if counted != made {
            problems.push(format!(
                "{counted} wrong passwords counted for {who}, {made} made"
            ));
        }
    }
    for (phone, sent) in &seen.codes_sent {
        // One verification SMS at setup, then one per accepted code request.
        let texts = app.sms_to_phone(phone).await.len();
        if texts != sent + 1 {
            problems.push(format!(
                "{texts} SMS to a number that was sent {sent} codes (+1 at setup)"
            ));
        }
    }
    println!(
        "checked: {} sessions, {} voice sessions, {} webhooks, {} wrong passwords, {} numbers",
        seen.sids.len(),
        seen.voice.len(),
        seen.joined,
        seen.wrong_passwords.values().sum::<usize>(),
        seen.codes_sent.len()
    );
    if problems.is_empty() {
        println!("load: every issued session present and every counter exact");
    } else {
        for p in &problems {
            eprintln!("load: {p}");
        }
        std::process::exit(1);
    }
}
