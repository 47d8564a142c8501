//! The function binaries as Lambda runs them: each gets an API Gateway event
//! from the Runtime API and answers through lambda_http, configured only by
//! the environment template.yaml sets.

use serde_json::Value;
use voicegate_tests::sample_events::{self, body_of, event};
use voicegate_tests::TestApp;
use voicegate_tests::{path, runtime_api::invoke, JOHN};

#[tokio::test]
async fn health_function_answers_its_event() {
    let app = TestApp::start().await;
    let resp = invoke("health", &app.lambda_env(), &event("health.json"))
        .await
        .unwrap();
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(body_of(&resp)["status"], "ok");
    let raw: Value = serde_json::from_str(&event("health.json")).unwrap();
    assert_eq!(
        resp["headers"]["x-request-id"],
        raw["requestContext"]["requestId"]
    );
    // JWKS is the health function's too; login is not.
    assert_eq!(
        invoke("health", &app.lambda_env(), &event("jwks.json"))
            .await
            .unwrap()["statusCode"],
        200
    );
    assert_eq!(
        invoke("health", &app.lambda_env(), &event("login.json"))
            .await
            .unwrap()["statusCode"],
        404
    );
}

#[tokio::test]
async fn login_function_logs_john_in_against_dynamodb_and_secrets() {
    let app = TestApp::start().await;
    let resp = invoke("login", &app.lambda_env(), &event("login.json"))
        .await
        .unwrap();
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let tokens = body_of(&resp);
    assert_eq!(tokens["user"]["user_id"], JOHN.user_id);
    // The token the Lambda signed is accepted by the rest of the product.
    assert_eq!(
        app.get(path::ME, tokens["access_token"].as_str())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn otp_request_function_sends_the_sms() {
    let app = TestApp::start().await;
    let resp = invoke("otp-request", &app.lambda_env(), &event("otp-request.json"))
        .await
        .unwrap();
    assert_eq!(resp["statusCode"], 202, "{resp}");
    let raw: Value = serde_json::from_str(&event("otp-request.json")).unwrap();
    let user: Value = serde_json::from_str(raw["body"].as_str().unwrap()).unwrap();
    let user_id = voicegate::types::UserId::parse(user["user_id"].as_str().unwrap()).unwrap();
    assert_eq!(app.sms_to_user(user_id.as_str()).await.len(), 1);
}

#[tokio::test]
async fn a_function_without_its_configuration_refuses_to_start() {
    let app = TestApp::start().await;
    let env: Vec<_> = app
        .lambda_env()
        .into_iter()
        .filter(|(k, _)| k != "TABLE_NAME")
        .collect();
    let exited = invoke("health", &env, &event("health.json"))
        .await
        .unwrap_err();
    // Fails fast at init, saying what is missing (and nothing secret).
    assert!(!exited.success);
    assert!(exited.stderr.contains("TABLE_NAME"), "{}", exited.stderr);
}

/// Every sample event in events/, run through the function that serves its
/// route exactly as Lambda runs it (with `make deploy-check`, the arm64
/// bootstrap under qemu), with real tokens, codes and signatures put in
/// place of the samples' placeholders, so each answer proves real work
/// against DynamoDB, SNS and Secrets Manager.
#[tokio::test]
async fn every_sample_event_is_answered_by_its_function() {
    let app = TestApp::start().await;
    sample_events::answer_every_sample_event(&app, |function, file, event, env| async move {
        invoke(function.name, &env, &event)
            .await
            .unwrap_or_else(|exited| {
                panic!("{} exited on {file}: {}", function.name, exited.stderr)
            })
    })
    .await;
}
