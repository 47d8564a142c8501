//! Every invariant under a race (item 12 of the hardening issue): at least 20
//! parallel calls, released together from a barrier, against the emulator's
//! real conditional writes. (Login attempt counting races 30 calls in
//! `accounts.rs`.)

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use voicegate::clock::Clock;
use voicegate::types::VoiceStatus;
use voicegate_tests::{
    livekit_webhook_auth, path, race, random_phone, Fault, TestApp, JOHN, LOCAL_LIVEKIT_SECRET,
};

const N: usize = 20;

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// An app whose one source may fail `failures_per_day` codes, and the sign-in
/// code it has just texted John.
async fn app_with_code_sent_to_john(failures_per_day: &str) -> (Arc<TestApp>, String) {
    let app = Arc::new(
        TestApp::builder()
            .env("OTP_FAILURES_PER_USER_PER_SOURCE_PER_DAY", failures_per_day)
            .start()
            .await,
    );
    app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    let code = app.latest_code(JOHN.user_id).await;
    (app, code)
}

#[tokio::test]
async fn of_twenty_parallel_right_codes_exactly_one_signs_in() {
    // Nineteen failures from one source would block it midway; this race is
    // about single use, so that limit is out of the way.
    let (app, code) = app_with_code_sent_to_john("100").await;
    let statuses = race(N, |_| {
        let (app, code) = (app.clone(), code.clone());
        async move {
            app.post(
                path::OTP_VERIFY,
                json!({"user_id": JOHN.user_id, "otp": code}),
            )
            .await
            .status
        }
    })
    .await;
    assert_eq!(
        (count(&statuses, 200), count(&statuses, 401)),
        (1, N - 1),
        "{statuses:?}"
    );
    assert_eq!(app.items("SESSION#").await.len(), 1);
}

/// The order that holds "exactly one succeeds" whatever the limits: a check
/// reads the account's failure counter before it reserves one of the code's
/// attempts, so the failures that the code's spent attempts count can never
/// lock out a request that reserved before them. Forced here: the first three
/// requests' counter reads are held at the proxy, a fourth arrives meanwhile,
/// and one counted failure locks the source. Read alongside the reservation
/// (as before), the three took every attempt, the fourth was refused and
/// counted, and the three then read a locked counter: nobody signed in.
#[tokio::test]
async fn right_codes_whose_counter_reads_come_late_still_sign_in_exactly_once() {
    let (app, code) = app_with_code_sent_to_john("1").await;
    let verify = |app: Arc<TestApp>, code: String| async move {
        app.post(
            path::OTP_VERIFY,
            json!({"user_id": JOHN.user_id, "otp": code}),
        )
        .await
        .status
    };
    app.faults.inject(
        "DynamoDB.BatchGetItem",
        Fault::Delay(Duration::from_millis(700)),
        3,
    );
    let held: Vec<_> = (0..3)
        .map(|_| tokio::spawn(verify(app.clone(), code.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut statuses = vec![verify(app.clone(), code.clone()).await];
    for request in held {
        statuses.push(request.await.unwrap());
    }
    assert_eq!(count(&statuses, 200), 1, "{statuses:?}");
    assert_eq!(app.items("SESSION#").await.len(), 1);
}

#[tokio::test]
async fn twenty_parallel_wrong_codes_take_three_attempts_and_count_twenty_failures() {
    let (app, code) = app_with_code_sent_to_john("100").await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    let statuses = race(N, |_| {
        let app = app.clone();
        async move {
            app.post(
                path::OTP_VERIFY,
                json!({"user_id": JOHN.user_id, "otp": wrong}),
            )
            .await
            .status
        }
    })
    .await;
    assert_eq!(count(&statuses, 401), N, "{statuses:?}");
    let challenge = app.item("OTP#u001", "signin").await.unwrap();
    assert_eq!(
        challenge["attempts"].as_n().unwrap(),
        "3",
        "more than three compared"
    );
    let failures = app
        .item("RATE#otp_failures#signin#u001", "RATE")
        .await
        .unwrap();
    assert_eq!(
        failures["hits"].as_n().unwrap(),
        &N.to_string(),
        "a failure went uncounted"
    );
}

async fn refresh_race(grace: &str) -> (Arc<TestApp>, Value, Vec<(u16, Value)>) {
    let app = Arc::new(
        TestApp::builder()
            .env("REFRESH_REUSE_GRACE_SECONDS", grace)
            .start()
            .await,
    );
    let tokens = app.login_as(&JOHN).await;
    let presented = tokens["refresh_token"].clone();
    let answers = race(N, |_| {
        let (app, presented) = (app.clone(), presented.clone());
        async move {
            let r = app
                .post(path::REFRESH, json!({"refresh_token": presented}))
                .await;
            let body = if r.status == 200 {
                r.json()
            } else {
                Value::Null
            };
            (r.status, body)
        }
    })
    .await;
    (app, tokens, answers)
}

/// With the grace window on, parallel presentations of one token are retries:
/// one rotation happens and every caller gets that same successor.
#[tokio::test]
async fn twenty_parallel_refreshes_rotate_once_and_share_the_successor() {
    let (app, _, answers) = refresh_race("10").await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let successors: std::collections::HashSet<_> = answers
        .iter()
        .map(|(_, b)| b["refresh_token"].clone())
        .collect();
    assert_eq!(successors.len(), 1, "more than one rotation happened");
    let successor = successors.into_iter().next().unwrap();
    let next = app
        .post(path::REFRESH, json!({"refresh_token": successor}))
        .await;
    assert_eq!(next.status, 200, "{}", next.text);
}

/// With the grace window off, exactly one rotation wins and the rest are
/// reuse, which revokes the session.
#[tokio::test]
async fn without_grace_twenty_parallel_refreshes_have_one_winner_and_revoke_the_session() {
    let (app, _, answers) = refresh_race("0").await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        (count(&statuses, 200), count(&statuses, 401)),
        (1, N - 1),
        "{statuses:?}"
    );
    let winner = &answers.iter().find(|(s, _)| *s == 200).unwrap().1;
    assert_eq!(
        app.get(path::ME, winner["access_token"].as_str())
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn twenty_parallel_registrations_of_one_email_and_its_lookalikes_yield_one_account() {
    let app = Arc::new(
        TestApp::builder()
            .env("REGISTER_PER_IP_PER_HOUR", "100")
            .start()
            .await,
    );
    let forms = [
        "race@example.com",
        "RACE@example.com",
        "ｒａｃｅ@example.com",
        "r\u{430}ce@example.com",
    ];
    let statuses = race(N, |i| {
        let app = app.clone();
        let email = if i == 3 { forms[3] } else { forms[i % 3] };
        async move {
            app.post(path::REGISTER, json!({"email": email, "password": "a long enough password", "full_name": "Race Condition"}))
                .await
                .status
        }
    })
    .await;
    assert_eq!(count(&statuses, 201), 1, "{statuses:?}");
    assert_eq!(
        count(&statuses, 409) + count(&statuses, 400),
        N - 1,
        "{statuses:?}"
    );
    assert_eq!(app.items("USER#").await.len(), 4, "3 demo users + 1");
}

async fn connection_details(app: &TestApp) -> Value {
    let token = app.access_token(&JOHN).await;
    app.post_auth(path::CONNECTION_DETAILS, &token, json!({}))
        .await
        .json()
}

#[tokio::test]
async fn twenty_parallel_deliveries_of_one_webhook_apply_once() {
    let app = Arc::new(TestApp::start().await);
    let d = connection_details(&app).await;
    let body = json!({"event": "participant_joined", "id": "EV_race", "createdAt": app.clock.now().to_string(),
        "room": {"name": d["room_name"]}, "participant": {"identity": "voice_assistant_user_u001"}})
    .to_string();
    let auth = livekit_webhook_auth(&body, LOCAL_LIVEKIT_SECRET, 300).await;
    let answers = race(N, |_| {
        let (app, body, auth) = (app.clone(), body.clone(), auth.clone());
        async move {
            let r = app
                .post_raw(
                    path::LIVEKIT_WEBHOOK,
                    Some("application/webhook+json"),
                    body.into_bytes(),
                    &[("authorization", &auth)],
                )
                .await;
            (
                r.status,
                r.json()["status"].as_str().unwrap_or("").to_owned(),
            )
        }
    })
    .await;
    let applied = answers.iter().filter(|(_, s)| s == "applied").count();
    let duplicate = answers.iter().filter(|(_, s)| s == "duplicate").count();
    assert_eq!((applied, duplicate), (1, N - 1), "{answers:?}");
}

/// Joins, leaves and room ends for one session, all at once with distinct
/// event ids: the session ends exactly once, never moves backwards, and its
/// duration agrees with its timestamps.
#[tokio::test]
async fn twenty_parallel_state_moves_of_one_voice_session_end_it_once_and_consistently() {
    let app = Arc::new(TestApp::start().await);
    let d = connection_details(&app).await;
    let (room, sid) = (
        d["room_name"].clone(),
        d["session_id"].as_str().unwrap().to_owned(),
    );
    let start = app.clock.now();
    let mut bodies = Vec::new();
    for i in 0..N {
        let (kind, participant) = match i % 3 {
            0 => ("participant_joined", Some("voice_assistant_user_u001")),
            1 => ("participant_left", Some("voice_assistant_user_u001")),
            _ => ("room_finished", None),
        };
        let mut e = json!({"event": kind, "id": format!("EV_{i}"), "createdAt": (start + i as i64).to_string(), "room": {"name": room}});
        if let Some(p) = participant {
            e["participant"] = json!({"identity": p});
        }
        let body = e.to_string();
        let auth = livekit_webhook_auth(&body, LOCAL_LIVEKIT_SECRET, 300).await;
        bodies.push((body, auth));
    }
    let bodies = Arc::new(bodies);
    let answers = race(N, |i| {
        let (app, bodies) = (app.clone(), bodies.clone());
        async move {
            let (body, auth) = &bodies[i];
            let r = app
                .post_raw(
                    path::LIVEKIT_WEBHOOK,
                    Some("application/webhook+json"),
                    body.clone().into_bytes(),
                    &[("authorization", auth)],
                )
                .await;
            (
                r.status,
                r.json()["status"].as_str().unwrap_or("").to_owned(),
            )
        }
    })
    .await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let s = app.voice_session(&sid).await;
    assert_eq!(s.status, VoiceStatus::Ended);
    let ended = s.ended_at.expect("ended_at");
    match s.joined_at {
        Some(joined) => assert_eq!(s.duration_seconds, Some((ended - joined).max(0))),
        None => assert_eq!(s.duration_seconds, Some(0)),
    }
    // Once ended, a late join cannot reopen it.
    let late = json!({"event": "participant_joined", "id": "EV_late", "room": {"name": room}, "participant": {"identity": "voice_assistant_user_u001"}}).to_string();
    let auth = livekit_webhook_auth(&late, LOCAL_LIVEKIT_SECRET, 300).await;
    app.post_raw(
        path::LIVEKIT_WEBHOOK,
        Some("application/webhook+json"),
        late.into_bytes(),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(app.voice_session(&sid).await, s);
}

#[tokio::test]
async fn twenty_parallel_code_requests_send_one_sms() {
    let app = Arc::new(TestApp::start().await);
    let statuses = race(N, |_| {
        let app = app.clone();
        async move {
            app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
                .await
                .status
        }
    })
    .await;
    assert_eq!(
        (count(&statuses, 202), count(&statuses, 429)),
        (1, N - 1),
        "{statuses:?}"
    );
    assert_eq!(app.sms_to_user(JOHN.user_id).await.len(), 1);
}

#[tokio::test]
async fn twenty_parallel_connection_details_stop_at_the_limit() {
    let app = Arc::new(
        TestApp::builder()
            .env("CONNECTION_DETAILS_PER_USER_PER_10_MIN", "5")
            .start()
            .await,
    );
    let token = app.access_token(&JOHN).await;
    let statuses = race(N, |_| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            app.post_auth(path::CONNECTION_DETAILS, &token, json!({}))
                .await
                .status
        }
    })
    .await;
    assert_eq!(
        (count(&statuses, 201), count(&statuses, 429)),
        (5, N - 5),
        "{statuses:?}"
    );
    let sessions = app
        .state
        .db
        .voice_sessions_of(&voicegate::types::UserId::parse(JOHN.user_id).unwrap(), 50)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 5);
}

/// Twenty accounts proving one number at once: exactly `ACCOUNTS_PER_PHONE`
/// of them get it.
#[tokio::test]
async fn twenty_accounts_proving_one_number_at_once_give_it_to_three() {
    let app = Arc::new(
        TestApp::builder()
            .env("REGISTER_PER_IP_PER_HOUR", "100")
            .env("PHONE_VERIFICATIONS_PER_PHONE_PER_HOUR", "100")
            .start()
            .await,
    );
    let phone = random_phone();
    let mut accounts = Vec::new();
    for i in 0..N {
        let t = app
            .register(&format!("slot{i}@example.com"), Some(&phone))
            .await;
        // Each account's own code: the latest SMS right after it registered.
        let sms = app.sms_to_phone(&phone).await;
        accounts.push((
            t["access_token"].as_str().unwrap().to_owned(),
            sms.last().unwrap()[..6].to_owned(),
        ));
    }
    let accounts = Arc::new(accounts);
    let statuses = race(N, |i| {
        let (app, accounts) = (app.clone(), accounts.clone());
        async move {
            let (token, code) = &accounts[i];
            app.post_auth(path::PHONE_VERIFY, token, json!({"otp": code}))
                .await
                .status
        }
    })
    .await;
    assert_eq!(
        (count(&statuses, 200), count(&statuses, 409)),
        (3, N - 3),
        "{statuses:?}"
    );
}
