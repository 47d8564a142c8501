//! What the product logs: one JSON line per request with its request id, audit
//! lines for auth events, and never a secret, code, token, password or full
//! phone number.

use serde_json::{json, Value};
use voicegate_tests::{
    basic_auth, captured_logs, livekit_webhook_auth, path, random_phone, TestApp, ADA, JANE, JOHN,
    LOCAL_AGENT_CLIENT_ID, LOCAL_AGENT_CLIENT_SECRET, LOCAL_LIVEKIT_SECRET, LOCAL_TOOL_SERVER,
    LOCAL_TOOL_SERVER_CLIENT_ID, LOCAL_TOOL_SERVER_SECRET,
};

/// Every flow, then the whole log of the process and a dump of the table are
/// searched for each code, password, token, refresh token, full phone number
/// and secret the flows used (item 15 of the hardening issue), the agent's
/// client secrets, in-call and step-up codes and tool tokens included.
#[tokio::test]
async fn no_secret_reaches_the_logs_or_the_table() {
    let app = TestApp::start().await;
    let mut secrets: Vec<String> = vec![
        JOHN.password.into(),
        JANE.password.into(),
        ADA.password.into(),
        "a brand new passphrase".into(),
    ];
    secrets.extend(app.phones.values().cloned());
    let new_phone = random_phone();
    let changed_phone = random_phone();
    secrets.push(new_phone.clone());
    secrets.push(changed_phone.clone());
    let mut codes: Vec<String> = Vec::new();

    // Registration with a number, its verification, and a change of number.
    let reg = app
        .post(path::REGISTER, json!({"email": "logcheck@example.com", "password": "a brand new passphrase", "full_name": "Log Check", "phone_number": new_phone}))
        .await
        .json();
    let reg_token = reg["access_token"].as_str().unwrap().to_owned();
    codes.push(sms_code(&app, &new_phone).await);
    app.post_auth(path::PHONE_VERIFY, &reg_token, json!({"otp": "000001"}))
        .await;
    app.post_auth(path::PHONE_VERIFY, &reg_token, json!({"otp": codes[0]}))
        .await;
    app.clock.advance(31);
    app.post_auth(
        path::PHONE,
        &reg_token,
        json!({"phone_number": changed_phone}),
    )
    .await;
    codes.push(sms_code(&app, &changed_phone).await);

    // Password login, a wrong one, refresh (and its retry within the grace
    // window, and a reuse after it), SMS sign-in, MFA login.
    let t = app.login_as(&JOHN).await;
    app.post(
        path::LOGIN,
        json!({"email": JOHN.email, "password": "correct-horse-batterz"}),
    )
    .await;
    let refreshed = app
        .post(path::REFRESH, json!({"refresh_token": t["refresh_token"]}))
        .await
        .json();
    app.post(path::REFRESH, json!({"refresh_token": t["refresh_token"]}))
        .await;
    app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    codes.push(app.latest_code(JOHN.user_id).await);
    app.post(
        path::OTP_VERIFY,
        json!({"user_id": JOHN.user_id, "otp": "000000"}),
    )
    .await;
    let v = app
        .post(
            path::OTP_VERIFY,
            json!({"user_id": JOHN.user_id, "otp": codes[2]}),
        )
        .await
        .json();
    app.post(
        path::LOGIN,
        json!({"email": JANE.email, "password": JANE.password}),
    )
    .await;
    codes.push(app.latest_code(JANE.user_id).await);
    let mfa = app
        .post(
            path::LOGIN,
            json!({"email": JANE.email, "password": JANE.password, "otp_code": codes[3]}),
        )
        .await
        .json();

    // Voice: connection details, a webhook, an admin token.
    let d = app
        .post_auth(
            path::CONNECTION_DETAILS,
            v["access_token"].as_str().unwrap(),
            json!({}),
        )
        .await
        .json();
    let body = json!({"event": "participant_joined", "id": "EV_log", "room": {"name": d["room_name"]}, "participant": {"identity": "voice_assistant_user_u001"}}).to_string();
    let auth = livekit_webhook_auth(&body, LOCAL_LIVEKIT_SECRET, 300).await;
    app.post_raw(
        path::LIVEKIT_WEBHOOK,
        Some("application/webhook+json"),
        body.into_bytes(),
        &[("authorization", &auth)],
    )
    .await;
    let ada = app.login_as(&ADA).await;
    let admin = app
        .post_auth(path::ADMIN_LIVEKIT_TOKENS, ada["access_token"].as_str().unwrap(), json!({"identity": "ops-1", "room_name": "support", "kind": "participant", "ttl_seconds": 600}))
        .await
        .json();
    app.post_auth(path::LOGOUT, v["access_token"].as_str().unwrap(), json!({}))
        .await;

    // The agent's side: a phone call, in-call sign-in, a step-up, a tool
    // token and its introspection, under both clients' credentials.
    let agent = basic_auth(LOCAL_AGENT_CLIENT_ID, LOCAL_AGENT_CLIENT_SECRET);
    let tool_server = basic_auth(LOCAL_TOOL_SERVER_CLIENT_ID, LOCAL_TOOL_SERVER_SECRET);
    let as_agent = [("authorization", agent.as_str())];
    let call = app
        .post_with_headers(
            path::VOICE_SESSIONS,
            &as_agent,
            json!({"room_name": "sip-log-check", "participant_identity": "sip_log"}),
        )
        .await
        .json();
    let sid = call["session_id"].as_str().unwrap();
    app.clock.advance(31);
    app.post_with_headers(
        &path::in_call(sid, "otp"),
        &as_agent,
        json!({"user_id": JOHN.user_id}),
    )
    .await;
    codes.push(app.latest_code(JOHN.user_id).await);
    let signed_in = app
        .post_with_headers(
            &path::in_call(sid, "otp/verify"),
            &as_agent,
            json!({"otp": codes.last().unwrap()}),
        )
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    app.clock.advance(31);
    let txn =
        json!({"type": "transfer", "amount": "12.50", "currency": "EUR", "payee": "Log Check Ltd"});
    app.post_with_headers(
        &path::in_call(sid, "step-up"),
        &as_agent,
        json!({"transaction": txn}),
    )
    .await;
    codes.push(app.latest_code(JOHN.user_id).await);
    let confirmed = app
        .post_with_headers(
            &path::in_call(sid, "step-up/verify"),
            &as_agent,
            json!({"otp": codes.last().unwrap(), "transaction": txn}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let tool = app
        .token_exchange(&agent, sid, LOCAL_TOOL_SERVER, Some("read transact"))
        .await
        .json();
    let tool_token = tool["access_token"]
        .as_str()
        .expect("a tool token")
        .to_owned();
    let active = app
        .post_form(
            path::OAUTH_INTROSPECT,
            Some(&tool_server),
            &[("token", &tool_token)],
        )
        .await
        .json();
    assert_eq!(active["active"], true);
    for secret in [
        LOCAL_AGENT_CLIENT_SECRET,
        LOCAL_TOOL_SERVER_SECRET,
        agent.trim_start_matches("Basic "),
        tool_server.trim_start_matches("Basic "),
        tool_token.rsplit('.').next().unwrap(),
        &tool_token,
    ] {
        secrets.push(secret.to_owned());
    }

    for doc in [&reg, &t, &refreshed, &v, &mfa, &ada] {
        for field in ["access_token", "refresh_token"] {
            let token = doc[field].as_str().unwrap().to_owned();
            // The signature (or secret half) alone is enough to leak a token.
            secrets.push(token.rsplit('.').next().unwrap().to_owned());
            secrets.push(token);
        }
    }
    for token in [
        d["participant_token"].as_str().unwrap(),
        admin["participant_token"].as_str().unwrap(),
        &auth,
    ] {
        secrets.push(token.to_owned());
        secrets.push(token.rsplit('.').next().unwrap().to_owned());
    }
    // The secrets themselves: the app secret's seed and the LiveKit API secret.
    let sm = app.secrets_manager().await;
    let app_secret: Value = serde_json::from_str(
        &sm.get_secret_value()
            .secret_id(&app.state.config.app_secret_id)
            .send()
            .await
            .unwrap()
            .secret_string
            .unwrap(),
    )
    .unwrap();
    secrets.push(app_secret["seed"].as_str().unwrap().to_owned());

    let logs = captured_logs();
    let dump = app.table_dump().await;
    assert!(
        logs.contains("\"event\":\"register\""),
        "logs were not captured"
    );
    assert!(
        logs.contains("\"event\":\"step_up_confirmed\"")
            && logs.contains("\"event\":\"tool_token_introspected\""),
        "the agent's flow was not logged"
    );
    assert!(dump.contains("SESSION#"), "the table was not dumped");
    for (place, text) in [("log", &logs), ("table", &dump)] {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{place} holds a secret: {}…",
                &s[..s.len().min(12)]
            );
        }
        for code in &codes {
            for form in [
                format!("\"{code}\""),
                format!(" {code} "),
                format!("={code}"),
                format!("({code})"),
            ] {
                assert!(!text.contains(&form), "{place} holds a code");
            }
        }
        assert!(
            !text.contains("S(\"secret\")") && !text.contains("\"secret\""),
            "{place} holds the LiveKit secret"
        );
    }
    // Masked phone numbers do appear in OTP audit lines.
    assert!(logs.contains(&format!("+1******{}", &app.phones[JOHN.user_id][8..])));
}

async fn sms_code(app: &TestApp, phone: &str) -> String {
    app.sms_to_phone(phone).await.last().expect("an SMS")[..6].to_owned()
}

#[tokio::test]
async fn request_lines_and_audit_lines_carry_the_request_id() {
    let app = TestApp::start().await;
    let r = app
        .post(
            path::LOGIN,
            json!({"email": JOHN.email, "password": "wrong password!"}),
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
    assert_eq!(request_line["fields"]["route"], path::LOGIN);
    assert!(request_line["fields"]["latency_ms"].is_u64());
    assert_eq!(request_line["span"]["request_id"], id);
    let audit = lines
        .iter()
        .find(|l| l["target"] == "audit")
        .expect("audit line");
    assert_eq!(audit["fields"]["event"], "login");
    assert_eq!(audit["fields"]["user_id"], JOHN.user_id);
    assert_eq!(audit["fields"]["outcome"], "failure");
    assert_eq!(audit["fields"]["reason"], "wrong_password");
}

/// Every request's AWS calls are recorded (and held against what its route
/// declares): the request line says how many there were.
#[tokio::test]
async fn request_lines_count_the_aws_calls_each_request_made() {
    let app = TestApp::start().await;
    let token = app.access_token(&JOHN).await;
    let cold = app.cold_instance().await;
    let calls = |r: &voicegate_tests::Resp| {
        let id = r.header("x-request-id").unwrap().to_owned();
        captured_logs()
            .lines()
            .filter(|l| l.contains(&id) && l.contains("\"event\":\"request\""))
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["fields"]["aws_calls"]
                    .as_u64()
                    .unwrap()
            })
            .next()
            .expect("request line")
    };
    // The session and the user: one batch read (the keys are cached).
    assert_eq!(calls(&app.get(path::ME, Some(&token)).await), 1);
    // A cold container fetches the app secret once, then reads as before.
    assert_eq!(calls(&cold.get(path::ME, Some(&token)).await), 2);
    assert_eq!(calls(&cold.get(path::JWKS, None).await), 0);
    assert_eq!(calls(&app.get(path::HEALTH, None).await), 0);
    assert!(!captured_logs().contains("undeclared_aws_call"));
}

/// Auth outcomes reach CloudWatch as metrics (embedded metric format), which
/// the template's alarms and dashboard read: `AuthEvents` by `Event` and `Outcome`.
#[tokio::test]
async fn auth_outcomes_are_counted_as_cloudwatch_metrics() {
    let app = TestApp::start().await;
    app.post(
        path::LOGIN,
        json!({"email": JOHN.email, "password": "not the password"}),
    )
    .await;
    let emf: Vec<Value> = captured_logs()
        .lines()
        .filter(|l| l.contains("\"_aws\""))
        .map(|l| serde_json::from_str(l).expect("EMF lines are JSON"))
        .collect();
    let failure = emf
        .iter()
        .find(|m| m["Event"] == "login" && m["Outcome"] == "failure")
        .expect("a metric for the failed login");
    let spec = &failure["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(spec["Namespace"], "voicegate");
    assert_eq!(spec["Dimensions"], json!([["Event", "Outcome"]]));
    assert_eq!(
        spec["Metrics"][0],
        json!({"Name": "AuthEvents", "Unit": "Count"})
    );
    assert_eq!(failure["AuthEvents"], 1);
    assert!(failure["_aws"]["Timestamp"].as_u64().is_some());
}
