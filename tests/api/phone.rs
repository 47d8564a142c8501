//! Proving a phone number (gap 6 of the attack run: numbers were neither
//! verified nor unique, so many accounts could point at a stranger's phone
//! and flood it with SMS).

use serde_json::{json, Value};
use voicegate_tests::{path, random_phone, Resp, TestApp, JOHN};

async fn verify_phone(app: &TestApp, token: &str, otp: &str) -> Resp {
    app.post_auth(path::PHONE_VERIFY, token, json!({"otp": otp}))
        .await
}

fn access(t: &Value) -> &str {
    t["access_token"].as_str().unwrap()
}

/// The code in the latest SMS to `phone`.
async fn latest_code_to(app: &TestApp, phone: &str) -> String {
    let sms = app.sms_to_phone(phone).await;
    sms.last().unwrap_or_else(|| panic!("no SMS to {phone}"))[..6].to_owned()
}

#[tokio::test]
async fn a_registered_number_is_proven_with_the_code_sent_to_it() {
    let app = TestApp::start().await;
    let phone = random_phone();
    let t = app.register("prove@example.com", Some(&phone)).await;
    let uid = t["user"]["user_id"].as_str().unwrap().to_owned();
    let me = app.get(path::ME, Some(access(&t))).await.json();
    assert_eq!(me["phone_verified"], false);
    assert_eq!(me["phone_number"], format!("+1******{}", &phone[8..]));

    let code = latest_code_to(&app, &phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = verify_phone(&app, access(&t), wrong).await;
    assert_eq!((r.status, r.problem_code().as_str()), (401, "otp_invalid"));
    let r = verify_phone(&app, access(&t), &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"phone_verified": true}));
    assert_eq!(
        app.get(path::ME, Some(access(&t))).await.json()["phone_verified"],
        true
    );

    // Now sign-in codes go to it.
    app.clock.advance(31);
    assert_eq!(
        app.post(path::OTP_REQUEST, json!({"user_id": uid}))
            .await
            .status,
        202
    );
    assert_eq!(app.sms_to_phone(&phone).await.len(), 2);
    let r = app
        .post(
            path::OTP_VERIFY,
            json!({"user_id": uid, "otp": latest_code_to(&app, &phone).await}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn verification_codes_have_their_own_resend_limits() {
    let app = TestApp::start().await;
    let phone = random_phone();
    let t = app.register("resend@example.com", Some(&phone)).await;
    let first = latest_code_to(&app, &phone).await;
    let r = app
        .post_auth(path::PHONE_VERIFY_RESEND, access(&t), json!({}))
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    app.clock.advance(30);
    let r = app
        .post_auth(path::PHONE_VERIFY_RESEND, access(&t), json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json()["resend_after"], 30);
    let second = latest_code_to(&app, &phone).await;
    if first != second {
        assert_eq!(verify_phone(&app, access(&t), &first).await.status, 401);
    }
    assert_eq!(verify_phone(&app, access(&t), &second).await.status, 200);
    // Nothing left to prove: verify and resend answer that it is verified.
    let r = app
        .post_auth(path::PHONE_VERIFY_RESEND, access(&t), json!({}))
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"phone_verified": true})));
}

#[tokio::test]
async fn one_number_serves_at_most_three_accounts() {
    let app = TestApp::start().await;
    let phone = random_phone();
    let mut accounts = Vec::new();
    for i in 0..4 {
        app.clock.advance(31);
        accounts.push(
            app.register(&format!("shared{i}@example.com"), Some(&phone))
                .await,
        );
    }
    // Each proves the number in turn with the code it was sent (the latest).
    let mut statuses = Vec::new();
    for t in &accounts {
        app.clock.advance(31);
        app.post_auth(path::PHONE_VERIFY_RESEND, access(t), json!({}))
            .await;
        let code = latest_code_to(&app, &phone).await;
        let r = verify_phone(&app, access(t), &code).await;
        statuses.push((r.status, r.json()["code"].as_str().map(str::to_owned)));
    }
    assert_eq!(
        statuses,
        [
            (200, None),
            (200, None),
            (200, None),
            (409, Some("phone_limit_reached".to_owned()))
        ]
    );
    let me = app.get(path::ME, Some(access(&accounts[3]))).await.json();
    assert_eq!(me["phone_verified"], false);
}

#[tokio::test]
async fn a_strangers_number_gets_a_bounded_number_of_verification_texts() {
    let app = TestApp::builder()
        .env("PHONE_VERIFICATIONS_PER_PHONE_PER_HOUR", "2")
        .start()
        .await;
    let victim = random_phone();
    for i in 0..4 {
        app.register(&format!("flood{i}@example.com"), Some(&victim))
            .await;
    }
    assert_eq!(app.sms_to_phone(&victim).await.len(), 2);
}

#[tokio::test]
async fn a_new_number_takes_over_only_once_proven() {
    let app = TestApp::start().await;
    let t = app.login_as(&JOHN).await;
    let old = app.phones[JOHN.user_id].clone();
    let new = random_phone();
    let r = app
        .post_auth(path::PHONE, access(&t), json!({"phone_number": new}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let me = app.get(path::ME, Some(access(&t))).await.json();
    assert_eq!(me["phone_verified"], true, "the old number stays in force");
    assert_eq!(me["pending_phone_number"], format!("+1******{}", &new[8..]));
    // Sign-in codes still go to the old number.
    app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    assert_eq!(app.sms_to_phone(&old).await.len(), 1);
    // Proven: the new number takes over.
    let code = latest_code_to(&app, &new).await;
    assert_eq!(verify_phone(&app, access(&t), &code).await.status, 200);
    app.clock.advance(31);
    app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    assert_eq!(app.sms_to_phone(&new).await.len(), 2);
    assert_eq!(app.sms_to_phone(&old).await.len(), 1);
    let me = app.get(path::ME, Some(access(&t))).await.json();
    assert_eq!(me["phone_number"], format!("+1******{}", &new[8..]));
    assert!(me["pending_phone_number"].is_null());
}

#[tokio::test]
async fn phone_routes_need_a_signed_in_user_and_a_valid_number() {
    let app = TestApp::start().await;
    for path in [path::PHONE, path::PHONE_VERIFY, path::PHONE_VERIFY_RESEND] {
        let r = app.post(path, json!({})).await;
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (401, "invalid_token"),
            "{path}"
        );
    }
    let t = app.login_as(&JOHN).await;
    for bad in ["5555550100", "+0555", "+1 555 555 0100"] {
        let r = app
            .post_auth(path::PHONE, access(&t), json!({"phone_number": bad}))
            .await;
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (400, "invalid_request"),
            "{bad}"
        );
    }
    // No pending number: there is nothing to verify or resend for John's
    // verified one, and an account without any number is told so.
    let r = verify_phone(&app, access(&t), "123456").await;
    assert_eq!((r.status, r.json()), (200, json!({"phone_verified": true})));
    let none = app.register("nonumber@example.com", None).await;
    let r = app
        .post_auth(path::PHONE_VERIFY_RESEND, access(&none), json!({}))
        .await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (400, "invalid_request")
    );
}

#[tokio::test]
async fn numbers_are_stored_encrypted() {
    let app = TestApp::start().await;
    let phone = random_phone();
    app.register("sealed@example.com", Some(&phone)).await;
    let dump = app.table_dump().await;
    for p in app.phones.values().chain([&phone]) {
        assert!(!dump.contains(&p[1..]), "a full number is stored in clear");
    }
    assert!(dump.contains(&format!("+1******{}", &phone[8..])));
}
