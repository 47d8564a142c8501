//! Federated sign-in with ID tokens from a local OIDC provider: the good
//! token, and every forged, stale, replayed or misdirected one refused.

use base64::Engine;
use serde_json::{json, Value};
use voicegate_local::oidc_issuer::{LocalIssuer, LOCAL_OIDC_CLIENT_ID};
use voicegate_tests::{captured_logs, jwt_payload, Resp, TestApp, JOHN};

async fn app_trusting(issuer: &LocalIssuer) -> TestApp {
    TestApp::builder()
        .env("OIDC_PROVIDERS", &json!([issuer.provider()]).to_string())
        .start()
        .await
}

async fn exchange(app: &TestApp, id_token: &str) -> Resp {
    app.post(
        "/auth/oidc",
        json!({"id_token": id_token, "platform": "mobile"}),
    )
    .await
}

fn fresh_email() -> String {
    format!(
        "fed-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

fn refused(r: &Resp) {
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.problem_code(), "invalid_credentials");
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_verified_identity_signs_in_creates_once_and_links_by_verified_email() {
    let issuer = LocalIssuer::start(0).await.unwrap();
    let app = app_trusting(&issuer).await;
    let email = fresh_email();
    let claims =
        json!({"sub": "alice-1", "email": email, "email_verified": true, "name": "Alice Fed"});
    let r = exchange(&app, &issuer.mint(&claims)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first = r.json();
    let access = jwt_payload(first["access_token"].as_str().unwrap());
    assert_eq!(access["amr"], json!(["fed"]));
    assert_eq!(access["idp"], "local");
    assert_eq!(access["two_factor_verified"], false);
    assert_eq!(first["user"]["full_name"], "Alice Fed");

    // The same identity again (a new token) is the same user; the provider's
    // `mfa` counts because this provider is trusted for it.
    let again = json!({"sub": "alice-1", "email": email, "email_verified": "true", "amr": ["mfa"]});
    let r = exchange(&app, &issuer.mint(&again)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["user"]["user_id"], first["user"]["user_id"]);
    let access = jwt_payload(r.json()["access_token"].as_str().unwrap());
    assert_eq!(access["amr"], json!(["fed", "mfa"]));
    assert_eq!(access["two_factor_verified"], true);

    // A verified email of an existing account links to it.
    let johns = json!({"sub": "john-at-idp", "email": JOHN.email, "email_verified": true});
    let r = exchange(&app, &issuer.mint(&johns)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["user"]["user_id"], JOHN.user_id);
    assert!(captured_logs().contains("identity_linked"));
}

#[tokio::test]
async fn an_unverified_email_neither_finds_nor_makes_an_account() {
    let issuer = LocalIssuer::start(0).await.unwrap();
    let app = app_trusting(&issuer).await;
    for verified in [json!(false), json!("false"), Value::Null] {
        let claims = json!({"sub": format!("mallory-{verified}"), "email": JOHN.email, "email_verified": verified});
        let r = exchange(&app, &issuer.mint(&claims)).await;
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.problem_code(), "email_unverified");
    }
    let claims = json!({"sub": "no-email"});
    assert_eq!(exchange(&app, &issuer.mint(&claims)).await.status, 403);
    // Nothing was linked: John's account has no federated identity.
    let dump = app.table_dump().await;
    assert!(
        !dump.contains("FEDID#local#mallory"),
        "an unverified email was linked"
    );
}

#[tokio::test]
async fn forged_misdirected_stale_and_replayed_tokens_are_refused() {
    let issuer = LocalIssuer::start(0).await.unwrap();
    let app = app_trusting(&issuer).await;
    let good = json!({"sub": "bob", "email": fresh_email(), "email_verified": true});

    let wrong_issuer = issuer.mint(&json!({"sub": "bob", "iss": "https://accounts.evil.example"}));
    refused(&exchange(&app, &wrong_issuer).await);
    let wrong_audience = issuer.mint(&json!({"sub": "bob", "aud": "someone-elses-app"}));
    refused(&exchange(&app, &wrong_audience).await);
    let wrong_azp =
        issuer.mint(&json!({"sub": "bob", "aud": [LOCAL_OIDC_CLIENT_ID, "x"], "azp": "x"}));
    refused(&exchange(&app, &wrong_azp).await);
    let now = app.state.now();
    let expired = issuer.mint(&json!({"sub": "bob", "iat": now - 7200, "exp": now - 3600}));
    refused(&exchange(&app, &expired).await);
    let future = issuer.mint(&json!({"sub": "bob", "iat": now + 3600, "exp": now + 7200}));
    refused(&exchange(&app, &future).await);

    // `alg: none`, and HS256 keyed with the issuer's public key.
    let token = issuer.mint(&good);
    let payload = token.split('.').nth(1).unwrap();
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    refused(&exchange(&app, &none).await);
    let jwks = issuer.jwks().to_string();
    let kid = issuer.current_kid();
    for secret in [jwks.as_bytes(), kid.as_bytes()] {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.clone());
        let claims: Value = jwt_payload(&token);
        let hs = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap();
        refused(&exchange(&app, &hs).await);
    }
    // A signature that does not match.
    let mut tampered = token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    refused(&exchange(&app, &tampered).await);

    // The good one works once; its replay is refused.
    assert_eq!(exchange(&app, &token).await.status, 200);
    refused(&exchange(&app, &token).await);
    let logs = captured_logs();
    for reason in [
        "untrusted_issuer",
        "algorithm_not_allowed",
        "expired_or_not_yet_valid",
        "replayed",
    ] {
        assert!(logs.contains(reason), "no audit line for {reason}");
    }
}

#[tokio::test]
async fn the_nonce_the_client_gives_must_be_the_one_in_the_token() {
    let issuer = LocalIssuer::start(0).await.unwrap();
    let app = app_trusting(&issuer).await;
    let token = |nonce: &str| {
        issuer.mint(&json!({"sub": "carol", "email": "carol@example.com", "email_verified": true, "nonce": nonce}))
    };
    let r = app
        .post(
            "/auth/oidc",
            json!({"id_token": token("n-1"), "nonce": "n-2"}),
        )
        .await;
    refused(&r);
    let r = app
        .post(
            "/auth/oidc",
            json!({"id_token": token("n-1"), "nonce": "n-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let no_nonce = issuer.mint(&json!({"sub": "carol"}));
    refused(
        &app.post("/auth/oidc", json!({"id_token": no_nonce, "nonce": "n-3"}))
            .await,
    );
}

#[tokio::test]
async fn keys_the_issuer_rotates_in_are_fetched_and_unknown_keys_stay_refused() {
    let issuer = LocalIssuer::start(0).await.unwrap();
    let app = app_trusting(&issuer).await;
    let claims = |sub: &str| json!({"sub": sub, "email": format!("{sub}@example.com"), "email_verified": true});
    assert_eq!(
        exchange(&app, &issuer.mint(&claims("dave"))).await.status,
        200
    );

    // A key the issuer never published: refused even after a refetch.
    let stranger = LocalIssuer::start(0).await.unwrap();
    let mut forged = jwt_payload(&stranger.mint(&claims("dave")));
    forged["iss"] = json!(issuer.issuer);
    // Re-signed with the stranger's key (its own kid), claiming the trusted issuer.
    let forged_token = stranger.mint(&forged);
    app.clock.advance(31);
    refused(&exchange(&app, &forged_token).await);
    assert!(captured_logs().contains("unknown_key"));

    // The issuer rotates: a token under the new key is accepted once the
    // refetch window has passed; the withdrawn key no longer verifies.
    let old_token = issuer.mint(&claims("erin"));
    issuer.rotate();
    app.clock.advance(31);
    let r = exchange(&app, &issuer.mint(&claims("frank"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    refused(&exchange(&app, &old_token).await);
}

#[tokio::test]
async fn without_trusted_providers_every_token_is_refused() {
    let issuer = LocalIssuer::start(0).await.unwrap();
    let app = TestApp::start().await;
    refused(&exchange(&app, &issuer.mint(&json!({"sub": "x"}))).await);
    for body in [
        json!({}),
        json!({"id_token": ""}),
        json!({"id_token": 5}),
        json!({"id_token": "a.b.c", "nonce": ""}),
    ] {
        let r = app.post("/auth/oidc", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    refused(&exchange(&app, "not-a-jwt").await);
}
