//! The voice agent's side: client authentication, in-call sign-in by spoken
//! code, transaction step-up, tool tokens by token exchange, introspection.
//! Every SMS is read back from the emulator.

use serde_json::{json, Value};
use voicegate_tests::{
    basic_auth, jwt_payload, path, race, spoken, Resp, TestApp, JANE, JOHN, LOCAL_AGENT_CLIENT_ID,
    LOCAL_AGENT_CLIENT_SECRET, LOCAL_LIVEKIT_SECRET, LOCAL_TOOL_SERVER,
    LOCAL_TOOL_SERVER_CLIENT_ID, LOCAL_TOOL_SERVER_SECRET, TOKEN_EXCHANGE_GRANT,
    VOICE_SESSION_TOKEN_TYPE,
};

fn agent() -> String {
    basic_auth(LOCAL_AGENT_CLIENT_ID, LOCAL_AGENT_CLIENT_SECRET)
}

fn tool_server() -> String {
    basic_auth(LOCAL_TOOL_SERVER_CLIENT_ID, LOCAL_TOOL_SERVER_SECRET)
}

async fn agent_post(app: &TestApp, path: &str, body: Value) -> Resp {
    app.post_with_headers(path, &[("authorization", &agent())], body)
        .await
}

/// A session the agent opens for a caller who dialled in (LiveKit SIP).
async fn open_phone_call(app: &TestApp) -> String {
    let room = format!("sip-call-{}", uuid::Uuid::new_v4().simple());
    let r = agent_post(
        app,
        path::VOICE_SESSIONS,
        json!({"room_name": room, "participant_identity": "sip_caller"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["session_id"].as_str().unwrap().to_owned()
}

/// Signs `user_id` in to the session by the code texted to them.
async fn sign_in(app: &TestApp, sid: &str, user_id: &str) -> Resp {
    let r = agent_post(app, &path::in_call(sid, "otp"), json!({"user_id": user_id})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let code = app.latest_code(user_id).await;
    agent_post(app, &path::in_call(sid, "otp/verify"), json!({"otp": code})).await
}

/// A token exchange for the local tool server.
async fn exchange(app: &TestApp, auth: &str, sid: &str, scope: Option<&str>) -> Resp {
    app.token_exchange(auth, sid, LOCAL_TOOL_SERVER, scope)
        .await
}

async fn introspect(app: &TestApp, auth: &str, token: &str) -> Value {
    let r = app
        .post_form(path::OAUTH_INTROSPECT, Some(auth), &[("token", token)])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

fn transfer(amount: &str, payee: &str) -> Value {
    json!({"type": "transfer", "amount": amount, "currency": "EUR", "payee": payee})
}

#[tokio::test]
async fn a_caller_without_the_app_signs_in_by_speaking_their_id_and_code() {
    let app = TestApp::start().await;
    let sid = open_phone_call(&app).await;
    // What speech-to-text hands the agent: "u zero zero one".
    let r = agent_post(
        &app,
        &path::in_call(&sid, "otp"),
        json!({"user_id": "you zero zero one"}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let code = app.latest_code(JOHN.user_id).await;
    let r = agent_post(
        &app,
        &path::in_call(&sid, "otp/verify"),
        json!({"otp": spoken(&code)}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let caller = r.json();
    assert_eq!(caller["user_id"], JOHN.user_id);
    assert_eq!(caller["full_name"], JOHN.full_name);
    assert_eq!(caller["caller_proof"], "in_call_code");
    assert!(caller.get("access_token").is_none() && caller.get("refresh_token").is_none());
    let stored = app.voice_session(&sid).await;
    assert_eq!(
        stored.user_id.as_ref().map(|u| u.as_str()),
        Some(JOHN.user_id)
    );
    // The code is spent: saying it again does nothing.
    let again = agent_post(
        &app,
        &path::in_call(&sid, "otp/verify"),
        json!({"otp": code}),
    )
    .await;
    assert_eq!(again.status, 401, "{}", again.text);
}

#[tokio::test]
async fn wrong_or_missing_client_credentials_learn_nothing() {
    let app = TestApp::start().await;
    let sid = open_phone_call(&app).await;
    let wrong = [
        None,
        Some(basic_auth(LOCAL_AGENT_CLIENT_ID, "not-the-secret")),
        Some(basic_auth("nobody", LOCAL_AGENT_CLIENT_SECRET)),
        Some(format!("Bearer {}", app.access_token(&JOHN).await)),
        Some("Basic !!!".to_owned()),
    ];
    for auth in &wrong {
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let r = app
            .post_with_headers(
                &path::in_call(&sid, "otp"),
                &headers,
                json!({"user_id": JOHN.user_id}),
            )
            .await;
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (401, "invalid_client"),
            "{auth:?}"
        );
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Basic realm="voicegate""#)
        );
        let r = app
            .post_form(
                path::OAUTH_TOKEN,
                auth.as_deref(),
                &[
                    ("grant_type", TOKEN_EXCHANGE_GRANT),
                    ("subject_token", &sid),
                    ("subject_token_type", VOICE_SESSION_TOKEN_TYPE),
                ],
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.json()["error"], "invalid_client");
    }
    assert!(app.sms_to_user(JOHN.user_id).await.is_empty());
    // Two Authorization headers are none.
    let (a, b) = (agent(), tool_server());
    let r = app
        .post_raw(
            path::OAUTH_INTROSPECT,
            Some("application/x-www-form-urlencoded"),
            b"token=x".to_vec(),
            &[("authorization", &a), ("authorization", &b)],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn a_tool_token_names_the_caller_the_agent_and_the_call_and_a_tool_server_verifies_it() {
    let app = TestApp::start().await;
    let sid = open_phone_call(&app).await;
    assert_eq!(sign_in(&app, &sid, JOHN.user_id).await.status, 200);
    let r = exchange(&app, &agent(), &sid, Some("read")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let answer = r.json();
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(
        answer["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(answer["scope"], "read");
    assert!(answer["expires_in"].as_i64().unwrap() <= 300);
    let token = answer["access_token"].as_str().unwrap();
    let claims = jwt_payload(token);
    assert_eq!(claims["sub"], JOHN.user_id);
    assert_eq!(claims["aud"], LOCAL_TOOL_SERVER);
    assert_eq!(claims["act"]["sub"], LOCAL_AGENT_CLIENT_ID);
    assert_eq!(claims["sid"], sid);
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 300);

    let jwks = app.url(path::JWKS);
    let verified = app
        .tool_server_verify(token, LOCAL_TOOL_SERVER, "read")
        .await
        .unwrap();
    assert_eq!(verified["sub"], JOHN.user_id);
    for (why, result) in [
        (
            "another audience",
            app.tool_server_verify(token, "https://other.example/", "read")
                .await,
        ),
        (
            "a scope it lacks",
            app.tool_server_verify(token, LOCAL_TOOL_SERVER, "transact")
                .await,
        ),
        (
            "an app access token",
            app.tool_server_verify(&app.access_token(&JOHN).await, LOCAL_TOOL_SERVER, "read")
                .await,
        ),
        (
            "a tampered token",
            app.tool_server_verify(&format!("{token}x"), LOCAL_TOOL_SERVER, "read")
                .await,
        ),
        (
            "another issuer",
            voicegate_tests::tool_server_verify(
                token,
                &jwks,
                "https://other-issuer.example",
                LOCAL_TOOL_SERVER,
                "read",
            )
            .await,
        ),
    ] {
        assert!(result.is_err(), "the verifier accepted {why}");
    }

    let active = introspect(&app, &tool_server(), token).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["sub"], JOHN.user_id);
    // A read token stays introspectable.
    assert_eq!(
        introspect(&app, &tool_server(), token).await["active"],
        true
    );

    // Discovery names all of it.
    let meta = app.get(path::OAUTH_METADATA, None).await.json();
    assert_eq!(meta["issuer"], "voicegate");
    assert!(meta["token_endpoint"]
        .as_str()
        .unwrap()
        .ends_with(path::OAUTH_TOKEN));
    assert!(meta["introspection_endpoint"]
        .as_str()
        .unwrap()
        .ends_with(path::OAUTH_INTROSPECT));
    assert_eq!(meta["grant_types_supported"], json!([TOKEN_EXCHANGE_GRANT]));
}

#[tokio::test]
async fn tokens_are_refused_wherever_they_are_not_the_right_one() {
    let app = TestApp::start().await;
    let sid = open_phone_call(&app).await;
    sign_in(&app, &sid, JOHN.user_id).await;
    let tool = exchange(&app, &agent(), &sid, Some("read")).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = app.login_as(&JOHN).await;
    let access = login["access_token"].as_str().unwrap();
    let refresh = login["refresh_token"].as_str().unwrap();
    let details = app
        .post_auth(path::CONNECTION_DETAILS, access, json!({}))
        .await
        .json();
    let livekit = details["participant_token"].as_str().unwrap();

    // A tool token is no bearer for the app's routes.
    assert_eq!(app.get(path::ME, Some(&tool)).await.status, 401);
    assert_eq!(
        app.post_auth(path::CONNECTION_DETAILS, &tool, json!({}))
            .await
            .status,
        401
    );
    // Only a voice session id is a subject token.
    for subject in [
        access,
        refresh,
        livekit,
        tool.as_str(),
        "vs_0000000000000000",
    ] {
        let r = exchange(&app, &agent(), subject, Some("read")).await;
        assert_eq!(
            (r.status, r.json()["error"].clone()),
            (400, json!("invalid_grant")),
            "{subject}"
        );
    }
    // Only a tool token is ever active.
    for token in [access, refresh, livekit, LOCAL_LIVEKIT_SECRET] {
        assert_eq!(
            introspect(&app, &tool_server(), token).await,
            json!({"active": false})
        );
    }
    // The agent itself may introspect its audience's tokens; a wrong secret may not.
    assert_eq!(introspect(&app, &agent(), &tool).await["active"], true);
    let r = app
        .post_form(
            path::OAUTH_INTROSPECT,
            Some(&basic_auth(LOCAL_TOOL_SERVER_CLIENT_ID, "guess")),
            &[("token", &tool)],
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn scopes_stay_within_the_callers_permissions_and_the_clients_allowance() {
    let app = TestApp::start().await;
    let sid = open_phone_call(&app).await;
    // Jane may only read.
    assert_eq!(sign_in(&app, &sid, JANE.user_id).await.status, 200);
    for scope in [
        "configure",
        "read configure",
        "admin",
        "read  configure",
        "",
    ] {
        let r = exchange(&app, &agent(), &sid, Some(scope)).await;
        assert_eq!(
            (r.status, r.json()["error"].clone()),
            (400, json!("invalid_scope")),
            "{scope:?}"
        );
    }
    let r = exchange(&app, &agent(), &sid, None).await;
    assert_eq!(r.json()["scope"], "read", "{}", r.text);
    // Tool servers the client is not allowed, or malformed ones.
    for resource in [
        "https://evil.example/",
        "https://mcp.bank.example",
        "mcp.bank.example",
        "https://mcp.bank.example/#x",
    ] {
        let r = app.token_exchange(&agent(), &sid, resource, None).await;
        assert_eq!(
            (r.status, r.json()["error"].clone()),
            (400, json!("invalid_target")),
            "{resource}"
        );
    }
    // A tool server's own credentials cannot act in calls.
    let r = exchange(&app, &tool_server(), &sid, Some("read")).await;
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.text);
    // Other grant types, repeated fields and credentials in the body are refused.
    let r = app
        .post_form(
            path::OAUTH_TOKEN,
            Some(&agent()),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    let r = app
        .post_form(
            path::OAUTH_TOKEN,
            Some(&agent()),
            &[
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("grant_type", TOKEN_EXCHANGE_GRANT),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_request"))
    );
    let r = app
        .post_form(
            path::OAUTH_TOKEN,
            Some(&agent()),
            &[
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("client_secret", LOCAL_AGENT_CLIENT_SECRET),
            ],
        )
        .await;
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(!r.text.contains(LOCAL_AGENT_CLIENT_SECRET));
}

#[tokio::test]
async fn a_code_confirms_exactly_one_transaction_once() {
    let app = std::sync::Arc::new(TestApp::start().await);
    let sid = open_phone_call(&app).await;
    sign_in(&app, &sid, JOHN.user_id).await;
    // No transact without a confirmed transaction.
    let r = exchange(&app, &agent(), &sid, Some("transact")).await;
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.text);

    let txn = transfer("250", "ACME Ltd");
    let r = agent_post(
        &app,
        &path::in_call(&sid, "step-up"),
        json!({"transaction": txn}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let sms = app.sms_to_user(JOHN.user_id).await;
    let text = sms.last().unwrap();
    assert!(text.contains("250.00 EUR to ACME Ltd"), "{text}");
    let code = app.latest_code(JOHN.user_id).await;
    // The same code, named for another amount or payee, confirms nothing.
    for other in [transfer("251", "ACME Ltd"), transfer("250", "ACME Ltd.")] {
        let r = agent_post(
            &app,
            &path::in_call(&sid, "step-up/verify"),
            json!({"otp": code, "transaction": other}),
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let r = agent_post(
        &app,
        &path::in_call(&sid, "step-up/verify"),
        json!({"otp": code, "transaction": transfer("250.00", "ACME  Ltd")}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["transaction"]["amount"], "250.00");

    // Twenty parallel exchanges: the confirmation makes one transact token.
    let auth = agent();
    let answers = race(20, |_| {
        let (app, sid, auth) = (app.clone(), sid.clone(), auth.clone());
        async move { exchange(&app, &auth, &sid, Some("read transact")).await }
    })
    .await;
    let winners: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let token = winners[0].json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let details = &jwt_payload(&token)["authorization_details"][0];
    assert_eq!(details["type"], "voicegate_transaction");
    assert_eq!(
        details["transaction"],
        json!({"type": "transfer", "amount": "250.00", "currency": "EUR", "payee": "ACME Ltd"})
    );
    let verified = app
        .tool_server_verify(&token, LOCAL_TOOL_SERVER, "transact")
        .await;
    assert!(verified.is_ok(), "{verified:?}");

    // Twenty parallel introspections of the transact token: one is active.
    let ts = tool_server();
    let checks = race(20, |_| {
        let (app, ts, token) = (app.clone(), ts.clone(), token.clone());
        async move { introspect(&app, &ts, &token).await["active"] == true }
    })
    .await;
    assert_eq!(checks.iter().filter(|a| **a).count(), 1);
}

#[tokio::test]
async fn twenty_parallel_verifications_of_one_spoken_code_bind_once() {
    let app = std::sync::Arc::new(TestApp::start().await);
    let sid = open_phone_call(&app).await;
    agent_post(
        &app,
        &path::in_call(&sid, "otp"),
        json!({"user_id": JOHN.user_id}),
    )
    .await;
    let code = app.latest_code(JOHN.user_id).await;
    let auth = agent();
    let answers = race(20, |_| {
        let (app, sid, auth, code) = (app.clone(), sid.clone(), auth.clone(), code.clone());
        async move {
            app.post_with_headers(
                &path::in_call(&sid, "otp/verify"),
                &[("authorization", &auth)],
                json!({"otp": code}),
            )
            .await
            .status
        }
    })
    .await;
    assert_eq!(
        answers.iter().filter(|s| **s == 200).count(),
        1,
        "{answers:?}"
    );
}

#[tokio::test]
async fn an_app_session_accepts_only_its_own_user_in_the_call() {
    let app = TestApp::start().await;
    let access = app.access_token(&JOHN).await;
    let details = app
        .post_auth(path::CONNECTION_DETAILS, &access, json!({}))
        .await
        .json();
    let sid = details["session_id"].as_str().unwrap();
    // The app user is already the caller: tool tokens need no spoken code.
    assert_eq!(
        exchange(&app, &agent(), sid, Some("read")).await.status,
        200
    );
    // Someone in the call claiming to be Jane gets the same answer, and Jane no SMS.
    let r = agent_post(
        &app,
        &path::in_call(sid, "otp"),
        json!({"user_id": JANE.user_id}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(app.sms_to_user(JANE.user_id).await.is_empty());
    let r = agent_post(
        &app,
        &path::in_call(sid, "otp/verify"),
        json!({"otp": "123456"}),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(
        app.voice_session(sid).await.user_id.unwrap().as_str(),
        JOHN.user_id
    );
    // Logging out of the app ends what the agent may do in that call.
    let tool = exchange(&app, &agent(), sid, Some("read")).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post_auth(path::LOGOUT, &access, json!({})).await.status,
        204
    );
    assert_eq!(
        introspect(&app, &tool_server(), &tool).await["active"],
        false
    );
    assert_eq!(
        exchange(&app, &agent(), sid, Some("read")).await.json()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn the_caller_leaving_ends_the_session_for_every_agent_route() {
    let app = TestApp::start().await;
    let sid = open_phone_call(&app).await;
    sign_in(&app, &sid, JOHN.user_id).await;
    let tool = exchange(&app, &agent(), &sid, Some("read")).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let room = app.voice_session(&sid).await.room_name;
    // The agent leaving changes nothing; the caller leaving ends it.
    for (id, identity) in [("EV_agent", "agent-AJ_1"), ("EV_caller", "sip_caller")] {
        let body =
            json!({"event": "participant_left", "id": id, "room": {"sid": "RM_x", "name": room},
                          "participant": {"sid": "PA_x", "identity": identity}})
            .to_string();
        let r = app.post_webhook(&body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let ended = app.voice_session(&sid).await.status == voicegate::types::VoiceStatus::Ended;
        assert_eq!(ended, identity == "sip_caller", "{identity}");
    }
    assert_eq!(
        introspect(&app, &tool_server(), &tool).await["active"],
        false
    );
    assert_eq!(
        exchange(&app, &agent(), &sid, Some("read")).await.json()["error"],
        "invalid_grant"
    );
    let r = agent_post(
        &app,
        &path::in_call(&sid, "otp"),
        json!({"user_id": JOHN.user_id}),
    )
    .await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (409, "voice_session_ended")
    );
    // Foreign or made-up sessions are simply not found.
    let r = agent_post(
        &app,
        &path::in_call("vs_0123456789abcdef", "otp"),
        json!({"user_id": JOHN.user_id}),
    )
    .await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (404, "voice_session_not_found")
    );
}

/// A second tool server with its own audience: the agent may serve both,
/// each tool server sees only its own tokens.
const CARDS_TOOL_SERVER: &str = "https://mcp.cards.example/";
const CARDS_CLIENT_ID: &str = "mcp-cards";
const CARDS_CLIENT_SECRET: &str = "cards-tool-server-secret";

/// Adds the cards tool server to this app's agent clients (as an operator
/// edits the secret) and returns an instance that has not cached the old list.
async fn with_cards_tool_server(app: &TestApp) -> TestApp {
    use voicegate::adapters::secrets::client_secret_hash;
    let id = app.state.config.agent_clients_secret_id.clone().unwrap();
    let mut clients = voicegate_local::local_agent_clients();
    let list = clients["clients"].as_array_mut().unwrap();
    list[0]["audiences"]
        .as_array_mut()
        .unwrap()
        .push(CARDS_TOOL_SERVER.into());
    list.push(json!({
        "client_id": CARDS_CLIENT_ID,
        "secret_sha256": voicegate::types::hex(&client_secret_hash(CARDS_CLIENT_SECRET)),
        "audiences": [CARDS_TOOL_SERVER],
    }));
    app.secrets_manager()
        .await
        .put_secret_value()
        .secret_id(id)
        .secret_string(clients.to_string())
        .send()
        .await
        .unwrap();
    app.cold_instance().await
}

#[tokio::test]
async fn nothing_from_one_call_or_one_tool_server_serves_another() {
    let app = with_cards_tool_server(&TestApp::start().await).await;
    let (call_a, call_b) = (open_phone_call(&app).await, open_phone_call(&app).await);
    let cards = basic_auth(CARDS_CLIENT_ID, CARDS_CLIENT_SECRET);

    // A code texted for call A, spoken in call B (waiting for Jane's), binds no one there.
    for (sid, user) in [(&call_a, JOHN.user_id), (&call_b, JANE.user_id)] {
        let r = agent_post(&app, &path::in_call(sid, "otp"), json!({"user_id": user})).await;
        assert_eq!(r.status, 202, "{}", r.text);
    }
    let johns_code = app.latest_code(JOHN.user_id).await;
    let r = agent_post(
        &app,
        &path::in_call(&call_b, "otp/verify"),
        json!({"otp": johns_code}),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(app.voice_session(&call_b).await.user_id.is_none());
    let r = agent_post(
        &app,
        &path::in_call(&call_a, "otp/verify"),
        json!({"otp": johns_code}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // John, a minute later, in call B too.
    app.clock.advance(60);
    assert_eq!(sign_in(&app, &call_b, JOHN.user_id).await.status, 200);

    // A transaction confirmed in call A authorises nothing in call B.
    let txn = transfer("40", "Corner Shop");
    app.clock.advance(60);
    let r = agent_post(
        &app,
        &path::in_call(&call_a, "step-up"),
        json!({"transaction": txn}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let code = app.latest_code(JOHN.user_id).await;
    let r = agent_post(
        &app,
        &path::in_call(&call_b, "step-up/verify"),
        json!({"otp": code, "transaction": txn}),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = agent_post(
        &app,
        &path::in_call(&call_a, "step-up/verify"),
        json!({"otp": code, "transaction": txn}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = exchange(&app, &agent(), &call_b, Some("transact")).await;
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.text);

    // Each tool server sees only tokens minted for its own audience.
    let bank_token = exchange(&app, &agent(), &call_a, Some("read")).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .token_exchange(&agent(), &call_b, CARDS_TOOL_SERVER, Some("read"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cards_token = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_payload(&cards_token)["aud"], CARDS_TOOL_SERVER);
    assert_eq!(jwt_payload(&cards_token)["sid"], call_b.as_str());
    assert_eq!(
        introspect(&app, &cards, &bank_token).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &tool_server(), &cards_token).await,
        json!({"active": false})
    );
    assert_eq!(introspect(&app, &cards, &cards_token).await["active"], true);
    assert!(app
        .tool_server_verify(&cards_token, LOCAL_TOOL_SERVER, "read")
        .await
        .is_err());
    // A tool server's credentials mint nothing, not even for its own audience.
    let r = app
        .token_exchange(&cards, &call_b, CARDS_TOOL_SERVER, None)
        .await;
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.text);

    // Ending call A ends its tokens, and only its tokens.
    let room = app.voice_session(&call_a).await.room_name;
    let body =
        json!({"event": "room_finished", "id": "EV_end_a", "room": {"sid": "RM_a", "name": room}})
            .to_string();
    let r = app.post_webhook(&body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        introspect(&app, &tool_server(), &bank_token).await["active"],
        false
    );
    let still = introspect(&app, &cards, &cards_token).await;
    assert_eq!(still["active"], true, "{still}");
}

/// RFC 8414: with an https issuer, discovery names it and serves the
/// endpoints under it, and every token (app and tool) carries it.
#[tokio::test]
async fn an_https_issuer_is_what_discovery_and_every_token_name() {
    const ISSUER: &str = "https://auth.bank.example";
    let app = TestApp::builder().env("TOKEN_ISSUER", ISSUER).start().await;
    let meta = app.get(path::OAUTH_METADATA, None).await.json();
    assert_eq!(meta["issuer"], ISSUER);
    for (field, route) in [
        ("token_endpoint", path::OAUTH_TOKEN),
        ("introspection_endpoint", path::OAUTH_INTROSPECT),
        ("jwks_uri", path::JWKS),
    ] {
        assert_eq!(meta[field], format!("{ISSUER}{route}"), "{field}");
    }
    assert_eq!(jwt_payload(&app.access_token(&JOHN).await)["iss"], ISSUER);
    let sid = open_phone_call(&app).await;
    sign_in(&app, &sid, JOHN.user_id).await;
    let token = exchange(&app, &agent(), &sid, Some("read")).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jwt_payload(&token)["iss"], ISSUER);
    let verified = app
        .tool_server_verify(&token, LOCAL_TOOL_SERVER, "read")
        .await;
    assert!(verified.is_ok(), "{verified:?}");
}

#[tokio::test]
async fn a_room_gets_one_session_and_never_one_posing_as_an_app_caller() {
    let app = std::sync::Arc::new(TestApp::start().await);
    // Twenty agents racing to open the same room: one session.
    let auth = agent();
    let answers = race(20, |_| {
        let (app, auth) = (app.clone(), auth.clone());
        async move {
            let r = app
                .post_with_headers(
                    path::VOICE_SESSIONS,
                    &[("authorization", &auth)],
                    json!({"room_name": "sip-race-room", "participant_identity": "sip_caller"}),
                )
                .await;
            let code = if r.status == 201 {
                String::new()
            } else {
                r.problem_code()
            };
            (r.status, code)
        }
    })
    .await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1);
    assert!(
        answers
            .iter()
            .all(|a| a.0 == 201 || *a == (409, "room_taken".to_owned())),
        "{answers:?}"
    );
    // An app room (named for its session) is not the agent's to open, and
    // no opened session may name its caller as an app caller.
    let details = app
        .post_auth(
            path::CONNECTION_DETAILS,
            &app.access_token(&JOHN).await,
            json!({}),
        )
        .await
        .json();
    let r = agent_post(
        &app,
        path::VOICE_SESSIONS,
        json!({"room_name": details["room_name"], "participant_identity": "sip_caller"}),
    )
    .await;
    assert_eq!((r.status, r.problem_code().as_str()), (409, "room_taken"));
    let r = agent_post(
        &app,
        path::VOICE_SESSIONS,
        json!({"room_name": "sip-other-room", "participant_identity": format!("voice_assistant_user_{}", JOHN.user_id)}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A tool server's credentials open nothing.
    let r = app
        .post_with_headers(
            path::VOICE_SESSIONS,
            &[("authorization", &tool_server())],
            json!({"room_name": "sip-third-room", "participant_identity": "sip_caller"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test]
async fn one_call_can_text_only_so_many_users() {
    let app = TestApp::start().await;
    let sid = open_phone_call(&app).await;
    let limit = app.state.config.limits.otp_requests_per_user.limit;
    // Known and unknown ids count alike, so the limit reveals nothing.
    for n in 0..limit {
        let r = agent_post(
            &app,
            &path::in_call(&sid, "otp"),
            json!({"user_id": format!("u{}", 900 + n)}),
        )
        .await;
        assert_eq!(r.status, 202, "{}", r.text);
    }
    let r = agent_post(
        &app,
        &path::in_call(&sid, "otp"),
        json!({"user_id": JOHN.user_id}),
    )
    .await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    assert!(r.header("retry-after").is_some());
    assert!(app.sms_to_user(JOHN.user_id).await.is_empty());
    // Another call is not held to this one's count.
    let other = open_phone_call(&app).await;
    assert_eq!(sign_in(&app, &other, JOHN.user_id).await.status, 200);
}
