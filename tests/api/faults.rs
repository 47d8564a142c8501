//! Faults between the SDK and the emulator (item 11 of the hardening issue):
//! throttling, timeouts, conditional failures, transaction conflicts, SNS and
//! Secrets Manager outages. Each answers 503 or 429 with `Retry-After`,
//! leaves no partial state, and the next request succeeds.

use serde_json::json;
use voicegate_tests::{path, Fault, Resp, TestApp, JANE, JOHN};

fn assert_unavailable(r: &Resp) {
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (503, "service_unavailable"),
        "{}",
        r.text
    );
    assert!(r.header("retry-after").is_some(), "503 without Retry-After");
    for leak in [
        "Throttling",
        "InternalServerError",
        "dynamodb",
        "127.0.0.1",
        "injected",
    ] {
        assert!(
            !r.text.contains(leak),
            "{leak} reached the client: {}",
            r.text
        );
    }
}

fn john() -> serde_json::Value {
    json!({"email": JOHN.email, "password": JOHN.password})
}

/// An app whose AWS attempts give up after 1 s, and whole calls (retries
/// included) after `operation_ms`: faults held longer than that are seen
/// as the SDK sees a hang.
async fn with_short_timeouts(operation_ms: u32) -> TestApp {
    TestApp::builder()
        .env("AWS_ATTEMPT_TIMEOUT_MS", "1000")
        .env("AWS_OPERATION_TIMEOUT_MS", &operation_ms.to_string())
        .start()
        .await
}

async fn sessions_in_table(app: &TestApp) -> usize {
    app.items("SESSION#").await.len()
}

#[tokio::test]
async fn a_brief_dynamodb_throttle_is_absorbed_by_the_sdks_retries() {
    let app = TestApp::start().await;
    app.faults.inject("DynamoDB.GetItem", Fault::Throttle, 2);
    assert_eq!(app.post(path::LOGIN, john()).await.status, 200);
}

#[tokio::test]
async fn persistent_dynamodb_throttling_is_503_and_the_next_request_succeeds() {
    let app = TestApp::start().await;
    app.faults
        .inject_always("DynamoDB.GetItem", Fault::Throttle);
    assert_unavailable(&app.post(path::LOGIN, john()).await);
    assert_eq!(sessions_in_table(&app).await, 0);
    app.faults.clear();
    assert_eq!(app.post(path::LOGIN, john()).await.status, 200);
    // The failed attempt did not count as a wrong password.
    let failures = app
        .item("RATE#login_failures#john@example.com", "RATE")
        .await;
    assert!(
        failures
            .as_ref()
            .is_none_or(|i| i["hits"].as_n().unwrap() == "0"),
        "{failures:?}"
    );
}

#[tokio::test]
async fn a_hung_dynamodb_call_times_out_into_a_503() {
    let app = with_short_timeouts(3000).await;
    // Held for longer than any timeout: only the SDK's timeout can answer.
    app.faults.inject_always(
        "DynamoDB.GetItem",
        Fault::Delay(std::time::Duration::from_secs(30)),
    );
    assert_unavailable(&app.post(path::LOGIN, john()).await);
    app.faults.clear();
    assert_eq!(app.post(path::LOGIN, john()).await.status, 200);
}

/// DynamoDB applies a new session's write but its answer comes after the
/// attempt timeout: the SDK retries, finds the item its first attempt wrote,
/// and the request goes through with that one item (not a 500).
#[tokio::test]
async fn a_session_write_answered_too_late_is_not_taken_for_a_collision() {
    let app = with_short_timeouts(6000).await;
    app.faults.inject_matching(
        "DynamoDB.PutItem",
        "SESSION#",
        Fault::AnswerLate(std::time::Duration::from_secs(2)),
        1,
    );
    let t = app.login_as(&JOHN).await;
    assert_eq!(sessions_in_table(&app).await, 1);
    assert_eq!(
        app.get(path::ME, t["access_token"].as_str()).await.status,
        200
    );
    // The same for the voice session connection details record.
    app.faults.inject_matching(
        "DynamoDB.PutItem",
        "VOICE#",
        Fault::AnswerLate(std::time::Duration::from_secs(2)),
        1,
    );
    let token = t["access_token"].as_str().unwrap();
    let details = app
        .post_auth(path::CONNECTION_DETAILS, token, json!({}))
        .await;
    assert_eq!(details.status, 201, "{}", details.text);
    assert_eq!(app.items("VOICE#").await.len(), 1);
}

#[tokio::test]
async fn a_failed_session_write_leaves_no_session_and_no_failure() {
    let app = TestApp::start().await;
    app.faults
        .inject_matching("DynamoDB.PutItem", "SESSION#", Fault::ServerError, 3);
    assert_unavailable(&app.post(path::LOGIN, john()).await);
    assert_eq!(sessions_in_table(&app).await, 0);
    let t = app.login_as(&JOHN).await;
    assert_eq!(
        app.get(path::ME, t["access_token"].as_str()).await.status,
        200
    );
    assert_eq!(sessions_in_table(&app).await, 1);
}

/// The code's spend loses its condition (as if another request spent it
/// first): the caller gets no session, and the code is not usable again.
#[tokio::test]
async fn a_lost_spend_condition_yields_no_session() {
    let app = TestApp::start().await;
    app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    let code = app.latest_code(JOHN.user_id).await;
    app.faults.inject_matching(
        "DynamoDB.UpdateItem",
        "\"spent\"",
        Fault::ConditionalFailure,
        1,
    );
    let r = app
        .post(
            path::OTP_VERIFY,
            json!({"user_id": JOHN.user_id, "otp": code}),
        )
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (401, "otp_invalid"));
    assert_eq!(sessions_in_table(&app).await, 0);
}

/// A code's spend, then a refresh token's rotation, applied by DynamoDB but
/// answered after the attempt timeout: the SDK's retry fails the condition
/// its own first attempt satisfied, finds its write mark, and the caller is
/// served instead of refused as a replay of itself.
#[tokio::test]
async fn a_spend_answered_too_late_is_not_taken_for_a_replay() {
    let app = with_short_timeouts(6000).await;
    app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    let code = app.latest_code(JOHN.user_id).await;
    let late = || Fault::AnswerLate(std::time::Duration::from_secs(2));
    app.faults
        .inject_matching("DynamoDB.UpdateItem", "\"spent\"", late(), 1);
    let r = app
        .post(
            path::OTP_VERIFY,
            json!({"user_id": JOHN.user_id, "otp": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();

    app.faults
        .inject_matching("DynamoDB.UpdateItem", "refresh_hash", late(), 1);
    let rotated = app
        .post(path::REFRESH, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let access = rotated.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get(path::ME, Some(&access)).await.status, 200);
}

/// The bearer check reads the session and the user in one BatchGetItem;
/// DynamoDB may answer it with keys left unprocessed, which are asked again.
#[tokio::test]
async fn keys_left_unprocessed_by_a_batch_read_are_read_again() {
    let app = TestApp::start().await;
    let token = app.access_token(&JOHN).await;
    app.faults
        .inject("DynamoDB.BatchGetItem", Fault::Unprocessed, 2);
    let me = app.get(path::ME, Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["user_id"], JOHN.user_id);
}

/// Keys still unprocessed after the retries are an outage (503), never an
/// absent session (401) or a room for a caller whose session went unread.
#[tokio::test]
async fn a_batch_read_left_unprocessed_is_503_and_opens_no_room() {
    let app = TestApp::start().await;
    let token = app.access_token(&JOHN).await;
    app.faults
        .inject_always("DynamoDB.BatchGetItem", Fault::Unprocessed);
    assert_unavailable(&app.get(path::ME, Some(&token)).await);
    assert_unavailable(
        &app.post_auth(path::CONNECTION_DETAILS, &token, json!({}))
            .await,
    );
    assert!(app.items("VOICE#").await.is_empty());
    assert!(app.items("RATE#connection_details").await.is_empty());
    app.faults.clear();
    let details = app
        .post_auth(path::CONNECTION_DETAILS, &token, json!({}))
        .await;
    assert_eq!(details.status, 201, "{}", details.text);
}

/// A code check reads its failure windows in one BatchGetItem. Still
/// unprocessed after the retries, the check is an outage (503): the code is
/// neither spent nor counted as a failure and no session is issued. Keys left
/// unprocessed only twice are asked again, and the same code signs in.
#[tokio::test]
async fn a_code_check_whose_failure_windows_go_unread_is_503_and_spends_nothing() {
    let app = TestApp::start().await;
    app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    let code = app.latest_code(JOHN.user_id).await;
    let verify = || {
        app.post(
            path::OTP_VERIFY,
            json!({"user_id": JOHN.user_id, "otp": code}),
        )
    };
    app.faults
        .inject_always("DynamoDB.BatchGetItem", Fault::Unprocessed);
    assert_unavailable(&verify().await);
    assert_eq!(sessions_in_table(&app).await, 0);
    assert!(app.items("RATE#otp_failures").await.is_empty());

    app.faults.clear();
    app.faults.reset_calls();
    app.faults.inject_matching(
        "DynamoDB.BatchGetItem",
        "otp_failures",
        Fault::Unprocessed,
        2,
    );
    let r = verify().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sessions_in_table(&app).await, 1);
    assert_eq!(
        app.faults.call_counts().get("DynamoDB.BatchGetItem"),
        Some(&3),
        "two unprocessed answers, then the read"
    );
}

#[tokio::test]
async fn a_transaction_conflict_on_register_is_503_and_writes_nothing() {
    let app = TestApp::start().await;
    app.faults
        .inject_always("DynamoDB.TransactWriteItems", Fault::TransactionConflict);
    let body = json!({"email": "conflict@example.com", "password": "a long enough password", "full_name": "Con Flict"});
    assert_unavailable(&app.post(path::REGISTER, body.clone()).await);
    let dump = app.table_dump().await;
    assert!(
        !dump.contains("conflict@example.com"),
        "a partial registration was written"
    );
    app.faults.clear();
    assert_eq!(app.post(path::REGISTER, body).await.status, 201);
}

#[tokio::test]
async fn an_sns_throttle_is_503_sends_nothing_and_is_never_retried() {
    let app = TestApp::start().await;
    app.faults.inject("SNS.Publish", Fault::Throttle, 1);
    let r = app
        .post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    assert_unavailable(&r);
    // One publish attempt: a retried publish could text the code twice.
    assert_eq!(app.faults.call_counts().get("SNS.Publish"), Some(&1));
    assert!(app.sms_to_user(JOHN.user_id).await.is_empty());
    // The limits were given back: the client's retry goes through, once.
    let r = app
        .post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(app.sms_to_user(JOHN.user_id).await.len(), 1);
}

/// SNS answers after the SDK gave up: the text may still arrive, but the
/// code in it never works.
#[tokio::test]
async fn an_sms_that_arrives_after_a_timeout_carries_a_dead_code() {
    let app = with_short_timeouts(3000).await;
    app.faults.inject(
        "SNS.Publish",
        Fault::AnswerLate(std::time::Duration::from_secs(5)),
        1,
    );
    assert_unavailable(
        &app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
            .await,
    );
    // The proxy lets the publish through 5 s late; a busy emulator takes a
    // while longer to record it.
    let mut sms = Vec::new();
    for _ in 0..250 {
        sms = app.sms_to_user(JOHN.user_id).await;
        if !sms.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let late = sms.first().expect("the delayed SMS reached the emulator");
    let r = app
        .post(
            path::OTP_VERIFY,
            json!({"user_id": JOHN.user_id, "otp": &late[..6]}),
        )
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (401, "otp_invalid"));
}

#[tokio::test]
async fn an_sns_failure_during_mfa_login_leaves_no_usable_code() {
    let app = TestApp::start().await;
    app.faults.inject("SNS.Publish", Fault::ServerError, 1);
    let jane = json!({"email": JANE.email, "password": JANE.password});
    assert_unavailable(&app.post(path::LOGIN, jane.clone()).await);
    let mfa = app.item("OTP#u002", "mfa").await.unwrap();
    assert_ne!(mfa["status"].as_s().unwrap(), "active");
    assert_eq!(
        app.post(path::LOGIN, jane).await.problem_code(),
        "mfa_required"
    );
    assert_eq!(app.sms_to_user(JANE.user_id).await.len(), 1);
}

#[tokio::test]
async fn a_rate_limit_store_outage_is_503_not_429() {
    let app = TestApp::start().await;
    app.faults
        .inject_matching("DynamoDB.UpdateItem", "RATE#", Fault::ServerError, 10);
    assert_unavailable(
        &app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
            .await,
    );
    assert!(app.sms_to_user(JOHN.user_id).await.is_empty());
    app.faults.clear();
    assert_eq!(
        app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn secrets_are_served_from_the_cache_through_an_outage_then_fail_closed() {
    let app = TestApp::start().await;
    let token = app.access_token(&JOHN).await;
    app.faults
        .inject_always("SecretsManager.GetSecretValue", Fault::ServerError);
    // Within the cache lifetime, nothing notices.
    assert_eq!(app.get(path::ME, Some(&token)).await.status, 200);
    assert_eq!(app.post(path::LOGIN, john()).await.status, 200);
    // Past it, every route that needs a key fails closed.
    app.clock.advance(300);
    assert_unavailable(&app.get(path::ME, Some(&token)).await);
    assert_unavailable(&app.get(path::JWKS, None).await);
    assert_unavailable(&app.post(path::LOGIN, john()).await);
    app.faults.clear();
    assert_eq!(app.get(path::ME, Some(&token)).await.status, 200);
}

#[tokio::test]
async fn a_container_that_never_loaded_its_secrets_fails_closed() {
    let app = TestApp::start().await;
    let token = app.access_token(&JOHN).await;
    let before = sessions_in_table(&app).await;
    app.faults
        .inject_always("SecretsManager.GetSecretValue", Fault::Throttle);
    let cold = app.cold_instance().await;
    assert_unavailable(&cold.get(path::JWKS, None).await);
    assert_unavailable(&cold.get(path::ME, Some(&token)).await);
    assert_unavailable(&cold.post(path::LOGIN, john()).await);
    assert_unavailable(
        &cold
            .post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
            .await,
    );
    assert_eq!(
        sessions_in_table(&app).await,
        before,
        "a session without a token"
    );
    assert!(app.sms_to_user(JOHN.user_id).await.is_empty());
    // Health needs no dependency and stays up.
    assert_eq!(cold.get(path::HEALTH, None).await.status, 200);
    app.faults.clear();
    assert_eq!(cold.get(path::ME, Some(&token)).await.status, 200);
}
