//! Passkeys: full WebAuthn ceremonies with a software authenticator that
//! makes real attestations and assertions, and every way one must fail.

use serde_json::{json, Value};
use voicegate_tests::soft_passkey::SoftPasskey;
use voicegate_tests::{captured_logs, jwt_payload, race, Resp, TestApp, ADA, JOHN};

/// The local stage's relying party (`PASSKEY_RP_ID`/`PASSKEY_ORIGINS` defaults).
const ORIGIN: &str = "http://localhost:3000";

async fn register(app: &TestApp, bearer: &str, device: &mut SoftPasskey) -> Resp {
    let start = app
        .post_auth("/auth/passkeys/register/start", bearer, json!({}))
        .await;
    assert_eq!(start.status, 200, "{}", start.text);
    let start = start.json();
    let options = &start["options"]["publicKey"];
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    let credential = device.register(&start["options"]);
    app.post_auth(
        "/auth/passkeys/register/finish",
        bearer,
        json!({"ceremony_id": start["ceremony_id"], "credential": credential, "name": "test phone"}),
    )
    .await
}

async fn sign_in_start(app: &TestApp) -> Value {
    let start = app.post("/auth/passkeys/login/start", json!({})).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let start = start.json();
    assert_eq!(
        start["options"]["publicKey"]["userVerification"],
        "required"
    );
    assert!(start["options"]["publicKey"]
        .get("allowCredentials")
        .is_none_or(|a| a.as_array().is_some_and(Vec::is_empty)));
    start
}

async fn sign_in(app: &TestApp, device: &mut SoftPasskey) -> Resp {
    let start = sign_in_start(app).await;
    finish(app, &start, device.assert(&start["options"])).await
}

async fn finish(app: &TestApp, start: &Value, credential: Value) -> Resp {
    app.post(
        "/auth/passkeys/login/finish",
        json!({"ceremony_id": start["ceremony_id"], "credential": credential, "platform": "mobile"}),
    )
    .await
}

/// John with a registered passkey, and his bearer token.
async fn john_with_passkey(app: &TestApp) -> (SoftPasskey, String) {
    let bearer = app.access_token(&JOHN).await;
    let mut device = SoftPasskey::new(ORIGIN);
    let r = register(app, &bearer, &mut device).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (device, bearer)
}

fn refused(r: &Resp) {
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.problem_code(), "invalid_credentials");
}

#[tokio::test]
async fn a_passkey_registers_signs_in_as_a_second_factor_and_reaches_the_room() {
    let app = TestApp::start().await;
    let (mut device, bearer) = john_with_passkey(&app).await;

    let list = app.get("/auth/passkeys", Some(&bearer)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let passkeys = list.json()["passkeys"].clone();
    assert_eq!(passkeys.as_array().unwrap().len(), 1, "{passkeys}");
    assert_eq!(passkeys[0]["name"], "test phone");
    assert_eq!(passkeys[0]["backup_eligible"], true);
    assert!(passkeys[0]["last_used_at"].is_null());

    let r = sign_in(&app, &mut device).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tokens = r.json();
    assert_eq!(tokens["user"]["user_id"], JOHN.user_id);
    let claims = jwt_payload(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["hwk", "user"]));
    assert_eq!(claims["two_factor_verified"], true);
    assert_eq!(claims["biometric_verified"], true);
    assert_eq!(claims["platform"], "mobile");

    // The room sees it: the participant token's metadata and attributes.
    let access = tokens["access_token"].as_str().unwrap();
    let details = app
        .post_auth("/connection-details", access, json!({}))
        .await;
    assert_eq!(details.status, 201, "{}", details.text);
    let lk = jwt_payload(details.json()["participant_token"].as_str().unwrap());
    let meta: Value = serde_json::from_str(lk["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(meta["biometric_verified"], true);
    assert_eq!(meta["two_factor_verified"], true);
    assert_eq!(lk["attributes"]["biometric_verified"], "true");

    // The counter and last use were recorded; a second sign-in moves on.
    let list = app.get("/auth/passkeys", Some(&bearer)).await.json();
    assert!(list["passkeys"][0]["last_used_at"].is_i64(), "{list}");
    assert_eq!(sign_in(&app, &mut device).await.status, 200);
    let logs = captured_logs();
    assert!(
        logs.contains("passkey_registered"),
        "no registration audit line"
    );
    assert!(
        logs.contains("method=passkey"),
        "no passkey sign-in audit line"
    );
}

#[tokio::test]
async fn a_response_made_for_another_origin_or_relying_party_is_refused() {
    let app = TestApp::start().await;
    let bearer = app.access_token(&ADA).await;
    // Registration from a phishing origin, or for another RP id.
    let mut phished = SoftPasskey::new("https://bank-login.example");
    refused(&register(&app, &bearer, &mut phished).await);
    let mut elsewhere = SoftPasskey::new(ORIGIN);
    elsewhere.rp_id_override = Some("evil.example".into());
    refused(&register(&app, &bearer, &mut elsewhere).await);
    assert!(
        app.get("/auth/passkeys", Some(&bearer)).await.json()["passkeys"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Sign-in assertions relayed through another origin or made for another RP.
    let (mut device, _) = john_with_passkey(&app).await;
    device.origin = "https://bank-login.example".into();
    refused(&sign_in(&app, &mut device).await);
    device.origin = ORIGIN.into();
    device.rp_id_override = Some("evil.example".into());
    refused(&sign_in(&app, &mut device).await);
    device.rp_id_override = None;
    assert_eq!(sign_in(&app, &mut device).await.status, 200);
    assert!(captured_logs().contains("wrong_origin_or_rp"));
}

#[tokio::test]
async fn user_verification_is_required_at_registration_and_sign_in() {
    let app = TestApp::start().await;
    let bearer = app.access_token(&ADA).await;
    let mut presence_only = SoftPasskey::new(ORIGIN);
    presence_only.user_verified = false;
    refused(&register(&app, &bearer, &mut presence_only).await);

    let (mut device, _) = john_with_passkey(&app).await;
    device.user_verified = false;
    refused(&sign_in(&app, &mut device).await);
}

#[tokio::test]
async fn a_challenge_is_answered_once_and_only_before_it_expires() {
    let app = TestApp::start().await;
    let (mut device, _) = john_with_passkey(&app).await;

    let start = sign_in_start(&app).await;
    let answer = device.assert(&start["options"]);
    assert_eq!(finish(&app, &start, answer.clone()).await.status, 200);
    refused(&finish(&app, &start, answer).await);

    let start = sign_in_start(&app).await;
    let answer = device.assert(&start["options"]);
    app.clock.advance(301);
    refused(&finish(&app, &start, answer).await);

    // An unknown ceremony, and a registration ceremony used to sign in.
    let start = sign_in_start(&app).await;
    let answer = device.assert(&start["options"]);
    let unknown = json!({"ceremony_id": "0".repeat(32)});
    refused(&finish(&app, &unknown, answer).await);
}

#[tokio::test]
async fn twenty_parallel_finishes_of_one_challenge_start_one_session() {
    let app = TestApp::start().await;
    let (mut device, _) = john_with_passkey(&app).await;
    let start = sign_in_start(&app).await;
    let answer = device.assert(&start["options"]);
    let body = json!({"ceremony_id": start["ceremony_id"], "credential": answer});
    let url = app.url("/auth/passkeys/login/finish");
    let statuses: Vec<u16> = race(20, |_| {
        let (http, url, body) = (app.http.clone(), url.clone(), body.clone());
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    })
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_counter_that_goes_back_is_a_cloned_key_and_is_refused() {
    let app = TestApp::start().await;
    let (mut device, _) = john_with_passkey(&app).await;
    device.counter = 10;
    assert_eq!(sign_in(&app, &mut device).await.status, 200);
    device.counter = 3;
    refused(&sign_in(&app, &mut device).await);
    // The same counter again is no better.
    device.counter = 10;
    refused(&sign_in(&app, &mut device).await);
    assert_eq!(sign_in(&app, &mut device).await.status, 200);
    assert!(captured_logs().contains("counter_regression"));
}

#[tokio::test]
async fn a_removed_passkey_signs_in_no_more() {
    let app = TestApp::start().await;
    let (mut device, bearer) = john_with_passkey(&app).await;
    let id = app.get("/auth/passkeys", Some(&bearer)).await.json()["passkeys"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Not someone else's to remove.
    let jane = app.access_token(&ADA).await;
    let r = app.delete(&format!("/auth/passkeys/{id}"), &jane).await;
    assert_eq!(r.status, 404, "{}", r.text);

    let r = app.delete(&format!("/auth/passkeys/{id}"), &bearer).await;
    assert_eq!(r.status, 204, "{}", r.text);
    refused(&sign_in(&app, &mut device).await);
    let r = app.delete(&format!("/auth/passkeys/{id}"), &bearer).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.problem_code(), "not_found");
    // And it can be registered again afterwards.
    let r = register(&app, &bearer, &mut device).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn adding_a_passkey_needs_a_recent_sign_in_and_a_bearer() {
    let app = TestApp::start().await;
    let r = app.post("/auth/passkeys/register/start", json!({})).await;
    assert_eq!(r.status, 401);
    let tokens = app.login_as(&JOHN).await;
    // Sixteen minutes on, a refreshed access token is valid but the sign-in is old.
    app.clock.advance(16 * 60);
    let refreshed = app
        .post(
            "/auth/refresh",
            json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let bearer = refreshed.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post_auth("/auth/passkeys/register/start", &bearer, json!({}))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.problem_code(), "reauthentication_required");
    // Listing needs no fresh sign-in.
    assert_eq!(app.get("/auth/passkeys", Some(&bearer)).await.status, 200);
}

#[tokio::test]
async fn malformed_ceremony_answers_are_bad_requests() {
    let app = TestApp::start().await;
    for body in [
        json!({}),
        json!({"ceremony_id": "x", "credential": {}}),
        json!({"ceremony_id": "0".repeat(32), "credential": "not an object"}),
        json!({"ceremony_id": "0".repeat(32), "credential": {"id": 1}}),
    ] {
        let r = app.post("/auth/passkeys/login/finish", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.problem_code(), "invalid_request");
    }
}
