//! The function binaries as Lambda runs them: each gets an API Gateway event
//! from the Runtime API and answers through lambda_http, configured only by
//! the environment template.yaml sets.

use serde_json::Value;
use voicegate_tests::{path, runtime_api::invoke, spoken, ADA, JANE, JOHN};
use voicegate_tests::{repo_root, TestApp};

fn event(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("events").join(name)).unwrap()
}

fn body_of(resp: &Value) -> Value {
    serde_json::from_str(resp["body"].as_str().expect("body")).expect("JSON body")
}

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
    use voicegate::edge::functions;
    use voicegate_tests::livekit_webhook_auth;
    let app = TestApp::start().await;
    let john = app.access_token(&JOHN).await;
    let ada = app.login_as(&ADA).await;
    let refresh = app.login_as(&JOHN).await["refresh_token"].clone();
    // In this order: the OTP and phone events use what the ones before them sent.
    let cases: [(&str, u16); 32] = [
        ("health.json", 200),
        ("jwks.json", 200),
        ("openapi.json", 200),
        ("register.json", 201),
        ("login.json", 200),
        ("login-mfa.json", 200),
        ("refresh.json", 200),
        ("me.json", 200),
        ("otp-request.json", 202),
        ("otp-verify.json", 200),
        ("phone-verify-resend.json", 200),
        ("phone.json", 202),
        ("phone-verify.json", 200),
        ("connection-details.json", 201),
        ("livekit-webhook.json", 200),
        ("admin-livekit-tokens.json", 200),
        // The agent's side: the session the first opens, the others use.
        ("voice-session-open.json", 201),
        ("in-call-otp.json", 202),
        ("in-call-otp-verify.json", 200),
        ("step-up.json", 202),
        ("step-up-verify.json", 200),
        ("oauth-token.json", 200),
        ("oauth-introspect.json", 200),
        ("oauth-metadata.json", 200),
        // Passkeys: each ceremony's finish answers its start.
        ("passkey-register-start.json", 200),
        ("passkey-register-finish.json", 201),
        ("passkeys.json", 200),
        ("passkey-login-start.json", 200),
        ("passkey-login-finish.json", 200),
        ("passkey-delete.json", 204),
        ("oidc.json", 200),
        ("logout.json", 204),
    ];
    let issuer = voicegate_local::oidc_issuer::LocalIssuer::start(0)
        .await
        .unwrap();
    let mut env = app.lambda_env();
    env.push((
        "OIDC_PROVIDERS".to_owned(),
        serde_json::json!([issuer.provider()]).to_string(),
    ));
    let mut device = voicegate_tests::soft_passkey::SoftPasskey::new("http://localhost:3000");
    let (mut ceremony, mut passkey_id) = (Value::Null, String::new());
    // One sample event per route, none left out.
    let mut covered: Vec<String> = cases
        .iter()
        .map(|(file, _)| {
            serde_json::from_str::<Value>(&event(file)).unwrap()["routeKey"].to_string()
        })
        .collect();
    covered.sort();
    covered.dedup();
    assert_eq!(covered.len(), voicegate::Route::ALL.len(), "{covered:?}");
    let (mut session_id, mut tool_token) = (String::new(), String::new());
    for (file, expected) in cases {
        let text = event(file)
            .replace(SAMPLE_SESSION_ID, &session_id)
            .replace("TOOL_TOKEN", &tool_token)
            .replace("PASSKEY_ID", &passkey_id);
        let mut e: Value = serde_json::from_str(&text).unwrap();
        let route_key = e["routeKey"].as_str().unwrap().to_owned();
        let route = voicegate::Route::ALL
            .into_iter()
            .find(|r| r.key() == route_key)
            .unwrap();
        let function = functions::ALL
            .iter()
            .find(|f| f.routes.contains(&route))
            .unwrap();
        let mut body: Value =
            serde_json::from_str(e["body"].as_str().unwrap_or("")).unwrap_or(Value::Null);
        if e["headers"]["authorization"]
            .as_str()
            .is_some_and(|a| a.starts_with("Bearer "))
        {
            let token = if file == "admin-livekit-tokens.json" {
                ada["access_token"].as_str().unwrap()
            } else {
                &john
            };
            e["headers"]["authorization"] = format!("Bearer {token}").into();
        }
        match file {
            "refresh.json" => body["refresh_token"] = refresh.clone(),
            "login-mfa.json" => {
                app.post(
                    path::LOGIN,
                    serde_json::json!({"email": JANE.email, "password": JANE.password}),
                )
                .await;
                body["otp_code"] = app.latest_code(JANE.user_id).await.into();
            }
            "otp-verify.json" => body["otp"] = app.latest_code(JOHN.user_id).await.into(),
            // John's number is the phone event's from here on.
            "phone-verify.json" | "step-up-verify.json" => {
                body["otp"] = code_texted_to(&app, PHONE_EVENT_NUMBER).await.into()
            }
            "passkey-register-finish.json" | "passkey-login-finish.json" => {
                body["ceremony_id"] = ceremony["ceremony_id"].clone();
                body["credential"] = if file == "passkey-register-finish.json" {
                    device.register(&ceremony["options"])
                } else {
                    device.assert(&ceremony["options"])
                };
            }
            "oidc.json" => body["id_token"] = issuer
                .mint(
                    &serde_json::json!({"sub": "sample-event", "email": "sample-event@example.com",
                        "email_verified": true, "nonce": body["nonce"]}),
                )
                .into(),
            "in-call-otp-verify.json" => {
                body["otp"] = spoken(&code_texted_to(&app, PHONE_EVENT_NUMBER).await).into()
            }
            _ => {}
        }
        if !body.is_null() {
            e["body"] = body.to_string().into();
        }
        if file == "livekit-webhook.json" {
            let auth = livekit_webhook_auth(
                e["body"].as_str().unwrap(),
                voicegate_tests::LOCAL_LIVEKIT_SECRET,
                300,
            )
            .await;
            e["headers"]["authorization"] = auth.into();
        }
        e["headers"]
            .as_object_mut()
            .unwrap()
            .remove("content-length");
        let resp = invoke(function.name, &env, &e.to_string())
            .await
            .unwrap_or_else(|exited| {
                panic!("{} exited on {file}: {}", function.name, exited.stderr)
            });
        assert_eq!(
            resp["statusCode"], expected,
            "{file} via {}: {resp}",
            function.name
        );
        match file {
            "voice-session-open.json" => {
                session_id = body_of(&resp)["session_id"].as_str().unwrap().to_owned()
            }
            "oauth-token.json" => {
                tool_token = body_of(&resp)["access_token"].as_str().unwrap().to_owned()
            }
            "oauth-introspect.json" => assert_eq!(body_of(&resp)["active"], true),
            "passkey-register-start.json" | "passkey-login-start.json" => ceremony = body_of(&resp),
            "passkeys.json" => {
                passkey_id = body_of(&resp)["passkeys"][0]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
            "passkey-login-finish.json" => {
                assert_eq!(body_of(&resp)["user"]["user_id"], JOHN.user_id)
            }
            _ => {}
        }
    }
}

/// The number events/phone.json moves John to.
const PHONE_EVENT_NUMBER: &str = "+15555550199";

async fn code_texted_to(app: &TestApp, phone: &str) -> String {
    let sms = app.sms_to_phone(phone).await;
    sms.last().expect("an SMS to the number")[..6].to_owned()
}

/// The session id the agent's sample events name, replaced by a real one.
const SAMPLE_SESSION_ID: &str = "vs_0000000000000000";
