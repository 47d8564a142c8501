//! What the product logs: one JSON line per request with its request id, audit
//! lines for auth events, and never a secret, code, token, password or full
//! phone number.

use serde_json::{json, Value};
use voicegate_tests::{captured_logs, livekit_webhook_auth, TestApp, LOCAL_LIVEKIT_SECRET};

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let app = TestApp::start().await;
    let mut secrets: Vec<String> = vec![
        "correct-horse-battery".into(),
        "jane-secret-passphrase".into(),
        "a brand new passphrase".into(),
    ];
    secrets.extend(app.phones.values().cloned());

    let reg = app
        .post("/auth/register", json!({"email": "logcheck@example.com", "password": "a brand new passphrase", "full_name": "Log Check", "phone_number": "+15555550177"}))
        .await
        .json();
    secrets.push("+15555550177".into());
    let t = app.login("john@example.com", "correct-horse-battery").await;
    app.post(
        "/auth/login",
        json!({"email": "john@example.com", "password": "correct-horse-batterz"}),
    )
    .await;
    let refreshed = app
        .post(
            "/auth/refresh",
            json!({"refresh_token": t["refresh_token"]}),
        )
        .await
        .json();
    app.post(
        "/auth/refresh",
        json!({"refresh_token": t["refresh_token"]}),
    )
    .await;
    app.post("/auth/otp/request", json!({"user_id": "u001"}))
        .await;
    let code = app.latest_code("u001").await;
    app.post(
        "/auth/otp/verify",
        json!({"user_id": "u001", "otp": "000000"}),
    )
    .await;
    let v = app
        .post("/auth/otp/verify", json!({"user_id": "u001", "otp": code}))
        .await
        .json();
    app.post(
        "/auth/login",
        json!({"email": "jane@example.com", "password": "jane-secret-passphrase"}),
    )
    .await;
    let mfa = app.latest_code("u002").await;
    app.post(
        "/auth/login",
        json!({"email": "jane@example.com", "password": "jane-secret-passphrase", "otp_code": mfa}),
    )
    .await;
    let d = app
        .post_auth(
            "/connection-details",
            v["access_token"].as_str().unwrap(),
            json!({}),
        )
        .await
        .json();
    let body = json!({"event": "participant_joined", "id": "EV_log", "room": {"name": d["room_name"]}, "participant": {"identity": "voice_assistant_user_u001"}}).to_string();
    let auth = livekit_webhook_auth(&body, LOCAL_LIVEKIT_SECRET, 300).await;
    app.post_raw(
        "/livekit/webhook",
        Some("application/webhook+json"),
        body.into_bytes(),
        &[("authorization", &auth)],
    )
    .await;
    app.post_auth(
        "/auth/logout",
        v["access_token"].as_str().unwrap(),
        json!({}),
    )
    .await;

    for doc in [&reg, &t, &refreshed, &v] {
        secrets.push(doc["access_token"].as_str().unwrap().to_owned());
        secrets.push(doc["refresh_token"].as_str().unwrap().to_owned());
        // The signature part alone is enough to leak a token.
        secrets.push(
            doc["access_token"]
                .as_str()
                .unwrap()
                .rsplit('.')
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    secrets.push(d["participant_token"].as_str().unwrap().to_owned());
    secrets.push(auth);
    secrets.push(format!("\"{code}\""));
    secrets.push(format!("\"{mfa}\""));
    secrets.push(format!(" {code} "));
    secrets.push(format!("={code}"));
    secrets.push("\"secret\"".into());

    let logs = captured_logs();
    assert!(
        logs.contains("logcheck") || logs.contains("\"event\":\"register\""),
        "logs were not captured"
    );
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "log contains a secret: {}…",
            &s[..s.len().min(12)]
        );
    }
    // Masked phone numbers do appear in OTP audit lines.
    assert!(logs.contains(&format!("+1******{}", &app.phones["u001"][8..])));
}

#[tokio::test]
async fn request_lines_and_audit_lines_carry_the_request_id() {
    let app = TestApp::start().await;
    let r = app
        .post(
            "/auth/login",
            json!({"email": "john@example.com", "password": "wrong password!"}),
        )
        .await;
    let id = r.header("x-request-id").unwrap().to_owned();
    let lines: Vec<Value> = captured_logs()
        .lines()
        .filter(|l| l.contains(&id))
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    let request_line = lines
        .iter()
        .find(|l| l["fields"]["event"] == "request")
        .expect("request line");
    assert_eq!(request_line["fields"]["status"], 401);
    assert_eq!(request_line["fields"]["route"], "/auth/login");
    assert!(request_line["fields"]["latency_ms"].is_u64());
    assert_eq!(request_line["span"]["request_id"], id);
    let audit = lines
        .iter()
        .find(|l| l["target"] == "audit")
        .expect("audit line");
    assert_eq!(audit["fields"]["event"], "login");
    assert_eq!(audit["fields"]["user_id"], "u001");
    assert_eq!(audit["fields"]["outcome"], "failure");
    assert_eq!(audit["fields"]["reason"], "wrong_password");
}
