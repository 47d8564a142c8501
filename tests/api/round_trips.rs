//! AWS round trips per endpoint, read from each request's log line (recorded
//! by the SDK interceptor every client carries), held against the fewest the
//! endpoint's invariants allow. A regression (an extra read, a write that
//! could be a condition) fails `make test`; docs/benchmarks.md says which
//! invariant needs each call.

use serde_json::{json, Value};
use voicegate_tests::{
    basic_auth, captured_logs, path, spoken, Resp, TestApp, ADA, JANE, JOHN, LOCAL_AGENT_CLIENT_ID,
    LOCAL_AGENT_CLIENT_SECRET, LOCAL_TOOL_SERVER, LOCAL_TOOL_SERVER_CLIENT_ID,
    LOCAL_TOOL_SERVER_SECRET,
};

/// The AWS operations the request behind `resp` sent, counted by name
/// (`GetItem×2 PutItem`): calls sent together finish in any order, so the
/// count, not the order, is what a test can hold.
fn round_trips(resp: &Resp) -> String {
    let id = resp
        .header("x-request-id")
        .expect("x-request-id")
        .to_owned();
    let ops = captured_logs()
        .lines()
        .filter(|l| l.contains(&id) && l.contains("\"event\":\"request\""))
        .map(|l| {
            let line: Value = serde_json::from_str(l).unwrap();
            line["fields"]["aws_ops"].as_str().unwrap_or("").to_owned()
        })
        .next()
        .expect("the request's log line");
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for op in ops.split_whitespace() {
        *counts.entry(op).or_default() += 1;
    }
    counts
        .iter()
        .map(|(op, n)| {
            if *n == 1 {
                op.to_string()
            } else {
                format!("{op}×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn every_endpoint_makes_the_fewest_aws_round_trips_its_invariants_allow() {
    let app = TestApp::start().await;
    let mut seen: Vec<(&str, u16, String)> = Vec::new();
    let mut note = |name: &'static str, r: &Resp| seen.push((name, r.status, round_trips(r)));
    let agent = basic_auth(LOCAL_AGENT_CLIENT_ID, LOCAL_AGENT_CLIENT_SECRET);
    let tool_server = basic_auth(LOCAL_TOOL_SERVER_CLIENT_ID, LOCAL_TOOL_SERVER_SECRET);
    let as_agent = [("authorization", agent.as_str())];

    // Warm: the secrets are cached, as in any container after its first request.
    let warm = app.login_as(&JOHN).await;
    let access = warm["access_token"].as_str().unwrap().to_owned();
    app.post_form(path::OAUTH_INTROSPECT, Some(&agent), &[("token", "warm")])
        .await;
    app.post_auth(path::CONNECTION_DETAILS, &access, json!({}))
        .await;

    note("GET /health", &app.get(path::HEALTH, None).await);
    note(
        "GET /.well-known/jwks.json",
        &app.get(path::JWKS, None).await,
    );
    note(
        "POST /auth/register",
        &app.post(
            path::REGISTER,
            json!({"email": "trips@example.com", "password": "a long enough passphrase", "full_name": "Round Trips"}),
        )
        .await,
    );
    let login = app
        .post(
            path::LOGIN,
            json!({"email": ADA.email, "password": ADA.password}),
        )
        .await;
    note("POST /auth/login", &login);
    note(
        "POST /auth/login (wrong password)",
        &app.post(
            path::LOGIN,
            json!({"email": JOHN.email, "password": "not the password"}),
        )
        .await,
    );
    note(
        "POST /auth/login (unknown email)",
        &app.post(
            path::LOGIN,
            json!({"email": "nobody@example.com", "password": "not the password"}),
        )
        .await,
    );
    let ada = login.json();
    note(
        "POST /auth/refresh",
        &app.post(
            path::REFRESH,
            json!({"refresh_token": ada["refresh_token"]}),
        )
        .await,
    );
    note("GET /auth/me", &app.get(path::ME, Some(&access)).await);
    note(
        "POST /auth/otp/request",
        &app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
            .await,
    );
    note(
        "POST /auth/otp/verify (wrong code)",
        &app.post(
            path::OTP_VERIFY,
            json!({"user_id": JOHN.user_id, "otp": "000000"}),
        )
        .await,
    );
    let code = app.latest_code(JOHN.user_id).await;
    note(
        "POST /auth/otp/verify",
        &app.post(
            path::OTP_VERIFY,
            json!({"user_id": JOHN.user_id, "otp": code}),
        )
        .await,
    );
    note(
        "POST /auth/login (MFA, code sent)",
        &app.post(
            path::LOGIN,
            json!({"email": JANE.email, "password": JANE.password}),
        )
        .await,
    );
    let details = app
        .post_auth(path::CONNECTION_DETAILS, &access, json!({}))
        .await;
    note("POST /connection-details", &details);
    let room = details.json()["room_name"].as_str().unwrap().to_owned();
    let body = json!({"event": "participant_joined", "id": "EV_trips", "room": {"name": room},
        "participant": {"identity": format!("voice_assistant_user_{}", JOHN.user_id)}})
    .to_string();
    note("POST /livekit/webhook", &app.post_webhook(&body).await);
    note(
        "POST /admin/livekit-tokens",
        &app.post_auth(
            path::ADMIN_LIVEKIT_TOKENS,
            ada["access_token"].as_str().unwrap(),
            json!({"identity": "ops-1", "room_name": "support", "kind": "participant", "ttl_seconds": 600}),
        )
        .await,
    );

    // The agent's side.
    let opened = app
        .post_with_headers(
            path::VOICE_SESSIONS,
            &as_agent,
            json!({"room_name": "sip-trips", "participant_identity": "sip_caller"}),
        )
        .await;
    note("POST /voice-sessions", &opened);
    let sid = opened.json()["session_id"].as_str().unwrap().to_owned();
    note(
        "POST /voice-sessions/{id}/otp",
        &app.post_with_headers(
            &path::in_call(&sid, "otp"),
            &as_agent,
            json!({"user_id": JOHN.user_id}),
        )
        .await,
    );
    let code = app.latest_code(JOHN.user_id).await;
    note(
        "POST /voice-sessions/{id}/otp/verify",
        &app.post_with_headers(
            &path::in_call(&sid, "otp/verify"),
            &as_agent,
            json!({"otp": spoken(&code)}),
        )
        .await,
    );
    let txn = json!({"type": "transfer", "amount": "10", "currency": "EUR", "payee": "ACME Ltd"});
    note(
        "POST /voice-sessions/{id}/step-up",
        &app.post_with_headers(
            &path::in_call(&sid, "step-up"),
            &as_agent,
            json!({"transaction": txn}),
        )
        .await,
    );
    let code = app.latest_code(JOHN.user_id).await;
    note(
        "POST /voice-sessions/{id}/step-up/verify",
        &app.post_with_headers(
            &path::in_call(&sid, "step-up/verify"),
            &as_agent,
            json!({"otp": code}),
        )
        .await,
    );
    let exchanged = app
        .token_exchange(&agent, &sid, LOCAL_TOOL_SERVER, Some("read transact"))
        .await;
    note("POST /oauth/token (transact)", &exchanged);
    let tool = exchanged.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    note(
        "POST /oauth/introspect (transact)",
        &app.post_form(
            path::OAUTH_INTROSPECT,
            Some(&tool_server),
            &[("token", &tool)],
        )
        .await,
    );
    note(
        "GET /.well-known/oauth-authorization-server",
        &app.get(path::OAUTH_METADATA, None).await,
    );
    note(
        "POST /auth/logout",
        &app.post_auth(path::LOGOUT, &access, json!({})).await,
    );

    let table: Vec<String> = seen
        .iter()
        .map(|(name, status, ops)| format!("{name} {status}: {ops}"))
        .collect();
    // Why each call is there: docs/benchmarks.md, "AWS calls per endpoint".
    let expected = [
        "GET /health 200: ",
        "GET /.well-known/jwks.json 200: ",
        "POST /auth/register 201: PutItem TransactWriteItems UpdateItem",
        "POST /auth/login 200: GetItem×2 PutItem UpdateItem×4",
        "POST /auth/login (wrong password) 401: GetItem×2 UpdateItem×2",
        "POST /auth/login (unknown email) 401: GetItem×2 UpdateItem×2",
        "POST /auth/refresh 200: GetItem UpdateItem",
        "GET /auth/me 200: BatchGetItem",
        "POST /auth/otp/request 202: GetItem Publish PutItem UpdateItem×4",
        "POST /auth/otp/verify (wrong code) 401: BatchGetItem UpdateItem×3",
        "POST /auth/otp/verify 200: BatchGetItem DeleteItem×2 GetItem PutItem UpdateItem×2",
        "POST /auth/login (MFA, code sent) 401: GetItem×2 Publish PutItem UpdateItem×7",
        "POST /connection-details 201: BatchGetItem PutItem UpdateItem×2",
        "POST /livekit/webhook 200: GetItem PutItem UpdateItem",
        "POST /admin/livekit-tokens 200: GetItem",
        "POST /voice-sessions 201: TransactWriteItems",
        "POST /voice-sessions/{id}/otp 202: GetItem×2 Publish PutItem UpdateItem×5",
        "POST /voice-sessions/{id}/otp/verify 200: BatchGetItem GetItem×2 UpdateItem×3",
        "POST /voice-sessions/{id}/step-up 202: GetItem×2 Publish PutItem UpdateItem×4",
        "POST /voice-sessions/{id}/step-up/verify 200: BatchGetItem GetItem UpdateItem×3",
        "POST /oauth/token (transact) 200: GetItem×2 UpdateItem",
        "POST /oauth/introspect (transact) 200: GetItem PutItem",
        "GET /.well-known/oauth-authorization-server 200: ",
        "POST /auth/logout 204: UpdateItem",
    ];
    assert_eq!(table, expected, "\n{}", table.join("\n"));
}
