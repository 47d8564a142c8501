//! SMS one-time codes: request limits, verification, races, MFA login.

use serde_json::json;
use voicegate_tests::{path, Fault, TestApp, ADA, JANE, JOHN};

async fn request(app: &TestApp, user_id: &str) -> voicegate_tests::Resp {
    app.post(path::OTP_REQUEST, json!({"user_id": user_id}))
        .await
}

async fn verify(app: &TestApp, user_id: &str, otp: &str) -> voicegate_tests::Resp {
    app.post(path::OTP_VERIFY, json!({"user_id": user_id, "otp": otp}))
        .await
}

fn spoken(code: &str) -> String {
    let words = [
        "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    code.bytes()
        .map(|b| words[(b - b'0') as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn codes_verify_whether_typed_or_spoken() {
    let app = TestApp::start().await;
    for (i, (user_form, code_form)) in [
        (JOHN.user_id, "digits"),
        ("you zero zero one", "spoken"),
        ("U 0 0 1", "spaced"),
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            app.clock.advance(31);
        }
        let r = request(&app, user_form).await;
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(
            r.json(),
            json!({"status": "sent", "channel": "sms", "expires_in": 300, "resend_after": 30})
        );
        let sms = app.sms_to_user(JOHN.user_id).await;
        assert_eq!(sms.len(), i + 1);
        let text = sms.last().unwrap();
        let code = &text[..6];
        assert_eq!(
            text,
            &format!("{code} is your verification code. It expires in 5 minutes.")
        );
        let presented = match *code_form {
            "digits" => code.to_owned(),
            "spoken" => spoken(code),
            _ => format!("{} {}", &code[..3], &code[3..]),
        };
        let r = verify(&app, "u zero zero one", &presented).await;
        assert_eq!(r.status, 200, "{code_form}: {}", r.text);
        let tokens = r.json();
        assert_eq!(tokens["user"]["user_id"], JOHN.user_id);
        assert_eq!(
            voicegate_tests::jwt_payload(tokens["access_token"].as_str().unwrap())["amr"],
            json!(["otp", "sms"])
        );
        // Spent: the same code does not work twice.
        assert_eq!(verify(&app, JOHN.user_id, code).await.status, 401);
    }
    // Stored only as a keyed hash.
    let item = app.item("OTP#u001", "signin").await.unwrap();
    assert!(!format!("{item:?}").contains(&app.latest_code(JOHN.user_id).await));
}

#[tokio::test]
async fn unknown_users_get_the_same_answers_and_no_sms() {
    let app = TestApp::start().await;
    let real = request(&app, JOHN.user_id).await;
    let ghost = request(&app, "u999").await;
    assert_eq!((real.status, ghost.status), (202, 202));
    assert_eq!(real.text, ghost.text);
    assert_eq!(real.header_names(), ghost.header_names());
    assert_eq!(app.sms_to_user(JOHN.user_id).await.len(), 1);

    // Verifying: a wrong code for a real user reads exactly like any code for an unknown one.
    let wrong = verify(&app, JOHN.user_id, "000000").await;
    let ghost = verify(&app, "u999", "000000").await;
    let nothing_pending = verify(&app, ADA.user_id, "000000").await;
    assert_eq!(wrong.problem_code(), "otp_invalid");
    assert_eq!(
        wrong.body_without_request_id(),
        ghost.body_without_request_id()
    );
    assert_eq!(
        wrong.body_without_request_id(),
        nothing_pending.body_without_request_id()
    );
    assert_eq!(wrong.json()["attempts_remaining"], 2);
}

#[tokio::test]
async fn three_wrong_codes_kill_the_code() {
    let app = TestApp::start().await;
    request(&app, JOHN.user_id).await;
    let code = app.latest_code(JOHN.user_id).await;
    let wrong = if code == "111111" { "222222" } else { "111111" };
    let r = verify(&app, JOHN.user_id, wrong).await;
    assert_eq!(
        (r.status, r.json()["attempts_remaining"].as_i64()),
        (401, Some(2))
    );
    let r = verify(&app, JOHN.user_id, wrong).await;
    assert_eq!(
        (
            r.problem_code().as_str(),
            r.json()["attempts_remaining"].as_i64()
        ),
        ("otp_invalid", Some(1))
    );
    let r = verify(&app, JOHN.user_id, wrong).await;
    assert_eq!(r.problem_code(), "otp_attempts_exceeded");
    // Dead even for the right code.
    let r = verify(&app, JOHN.user_id, &code).await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (401, "otp_attempts_exceeded")
    );
}

#[tokio::test]
async fn codes_expire_after_five_minutes_by_their_own_timestamp() {
    let app = TestApp::start().await;
    request(&app, JOHN.user_id).await;
    let code = app.latest_code(JOHN.user_id).await;
    app.clock.advance(300);
    // The item is still in the table; its timestamp decides.
    assert!(app.item("OTP#u001", "signin").await.is_some());
    let r = verify(&app, JOHN.user_id, &code).await;
    assert_eq!((r.status, r.problem_code().as_str()), (401, "otp_expired"));
}

#[tokio::test]
async fn a_new_request_replaces_the_previous_code() {
    let app = TestApp::start().await;
    request(&app, JOHN.user_id).await;
    let first = app.latest_code(JOHN.user_id).await;
    app.clock.advance(30);
    assert_eq!(request(&app, JOHN.user_id).await.status, 202);
    let second = app.latest_code(JOHN.user_id).await;
    if first != second {
        assert_eq!(
            verify(&app, JOHN.user_id, &first).await.problem_code(),
            "otp_invalid"
        );
    }
    assert_eq!(verify(&app, JOHN.user_id, &second).await.status, 200);
}

#[tokio::test]
async fn code_requests_wait_out_a_cooldown_and_an_hourly_cap() {
    let app = TestApp::start().await;
    assert_eq!(request(&app, JOHN.user_id).await.status, 202);
    let r = request(&app, JOHN.user_id).await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    // Other users are not held back.
    assert_eq!(request(&app, ADA.user_id).await.status, 202);
    for _ in 0..4 {
        app.clock.advance(30);
        assert_eq!(request(&app, JOHN.user_id).await.status, 202);
    }
    app.clock.advance(30);
    let r = request(&app, JOHN.user_id).await;
    assert_eq!(r.status, 429, "sixth in an hour");
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 30 && retry <= 3600, "{retry}");
    assert_eq!(app.sms_to_user(JOHN.user_id).await.len(), 5);
    app.clock.advance(retry);
    assert_eq!(request(&app, JOHN.user_id).await.status, 202);
}

/// 20 per source IP per hour, keyed on API Gateway's source IP: a client
/// rotating `X-Forwarded-For` does not escape it.
#[tokio::test]
async fn per_ip_limit_ignores_forwarded_for() {
    let app = TestApp::start().await;
    for i in 0..20 {
        let r = app
            .post_raw(
                path::OTP_REQUEST,
                Some("application/json"),
                format!(r#"{{"user_id":"u9{i:03}"}}"#).into_bytes(),
                &[("x-forwarded-for", &format!("10.0.0.{i}"))],
            )
            .await;
        assert_eq!(r.status, 202, "{i}: {}", r.text);
    }
    let r = app
        .post_raw(
            path::OTP_REQUEST,
            Some("application/json"),
            br#"{"user_id":"u8000"}"#.to_vec(),
            &[("x-forwarded-for", "10.9.9.9")],
        )
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn account_failures_survive_resends_and_success_clears_them() {
    let app = TestApp::start().await;
    let mut wrong_tries = 0;
    // 9 failures spread over several codes.
    while wrong_tries < 9 {
        request(&app, JOHN.user_id).await;
        let code = app.latest_code(JOHN.user_id).await;
        let wrong = if code == "123123" { "321321" } else { "123123" };
        for _ in 0..3.min(9 - wrong_tries) {
            verify(&app, JOHN.user_id, wrong).await;
            wrong_tries += 1;
        }
        app.clock.advance(31);
    }
    // A success clears the counter...
    request(&app, JOHN.user_id).await;
    assert_eq!(
        verify(&app, JOHN.user_id, &app.latest_code(JOHN.user_id).await)
            .await
            .status,
        200
    );
    // ...so 9 more failures still do not block.
    for _ in 0..3 {
        app.clock.advance(31);
        request(&app, JOHN.user_id).await;
        for _ in 0..3 {
            assert_eq!(verify(&app, JOHN.user_id, "000001").await.status, 401);
        }
    }
    // The 10th failure in the window blocks verification for its remainder.
    app.clock.advance(31);
    request(&app, JOHN.user_id).await;
    assert_eq!(verify(&app, JOHN.user_id, "000001").await.status, 401);
    let code = app.latest_code(JOHN.user_id).await;
    let r = verify(&app, JOHN.user_id, &code).await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 80_000 && retry <= 86_400, "{retry}");
}

#[tokio::test]
async fn sns_failure_is_503_and_leaves_no_usable_code() {
    let app = TestApp::start().await;
    app.faults.inject("SNS.Publish", Fault::ServerError, 1);
    let r = request(&app, JOHN.user_id).await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (503, "service_unavailable")
    );
    assert!(r.header("retry-after").is_some());
    assert!(
        !r.text.to_lowercase().contains("sns") && !r.text.contains("127.0.0.1"),
        "{}",
        r.text
    );
    let item = app.item("OTP#u001", "signin").await.unwrap();
    assert_ne!(item["status"].as_s().unwrap(), "active");
    // Whatever code one tries, there is no pending code.
    let r = verify(&app, JOHN.user_id, "123456").await;
    assert_eq!(r.problem_code(), "otp_invalid");
    assert!(app.sms_to_user(JOHN.user_id).await.is_empty());
    // The limits were given back: the retry is not refused, and one SMS goes out.
    let r = request(&app, JOHN.user_id).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(app.sms_to_user(JOHN.user_id).await.len(), 1);
    assert_eq!(
        verify(&app, JOHN.user_id, &app.latest_code(JOHN.user_id).await)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn mfa_login_needs_the_sms_code() {
    let app = TestApp::start().await;
    let creds = json!({"email": JANE.email, "password": JANE.password, "platform": "mobile"});
    let r = app.post(path::LOGIN, creds.clone()).await;
    assert_eq!((r.status, r.problem_code().as_str()), (401, "mfa_required"));
    let code = app.latest_code(JANE.user_id).await;

    // Wrong password with a code: invalid credentials, no new SMS.
    let r = app
        .post(
            path::LOGIN,
            json!({"email": JANE.email, "password": "not-her-passphrase", "otp_code": code}),
        )
        .await;
    assert_eq!(r.problem_code(), "invalid_credentials");
    assert_eq!(app.sms_to_user(JANE.user_id).await.len(), 1);

    // A wrong code counts against the code.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut with_wrong = creds.clone();
    with_wrong["otp_code"] = json!(wrong);
    let r = app.post(path::LOGIN, with_wrong).await;
    assert_eq!(
        (
            r.problem_code().as_str(),
            r.json()["attempts_remaining"].as_i64()
        ),
        ("otp_invalid", Some(2))
    );

    let mut with_code = creds.clone();
    with_code["otp_code"] = json!(spoken(&code));
    let r = app.post(path::LOGIN, with_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let claims = voicegate_tests::jwt_payload(r.json()["access_token"].as_str().unwrap());
    assert_eq!(claims["two_factor_verified"], true);
    assert_eq!(claims["platform"], "mobile");
    let amr = claims["amr"].as_array().unwrap();
    for m in ["pwd", "otp", "mfa"] {
        assert!(amr.contains(&json!(m)), "{amr:?} lacks {m}");
    }
}

#[tokio::test]
async fn users_without_a_phone_get_the_same_answer_and_no_sms() {
    let app = TestApp::start().await;
    let reg = app
        .post(
            path::REGISTER,
            json!({"email": "nophone@example.com", "password": "no phone on file", "full_name": "No Phone"}),
        )
        .await;
    assert_eq!(reg.status, 201, "{}", reg.text);
    let uid = reg.json()["user"]["user_id"].as_str().unwrap().to_owned();
    let with_phone = request(&app, JOHN.user_id).await;
    let without = request(&app, &uid).await;
    assert_eq!(
        (without.status, without.text.as_str()),
        (202, with_phone.text.as_str())
    );
    // Nothing can verify: there is no code anyone knows.
    let r = verify(&app, &uid, "123456").await;
    assert_eq!(r.problem_code(), "otp_invalid");
}

/// Gap 5 of the attack run: an SMS code alone gave a full session to an
/// account with a second factor on. Now the code is spent and the caller is
/// told the password is needed too; no session exists.
#[tokio::test]
async fn an_sms_code_alone_never_signs_in_an_account_with_mfa() {
    let app = TestApp::start().await;
    assert_eq!(request(&app, JANE.user_id).await.status, 202);
    let code = app.latest_code(JANE.user_id).await;
    let r = verify(&app, JANE.user_id, &code).await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (401, "password_required")
    );
    assert!(r.json().get("access_token").is_none());
    assert!(
        app.items("SESSION#").await.is_empty(),
        "a session was written"
    );
    // Spent: it cannot be replayed either.
    assert_eq!(
        verify(&app, JANE.user_id, &code).await.problem_code(),
        "otp_invalid"
    );
    // A wrong code reads like any wrong code (the account's MFA is not revealed).
    request_after_cooldown(&app, JANE.user_id).await;
    assert_eq!(
        verify(&app, JANE.user_id, "000000").await.problem_code(),
        "otp_invalid"
    );
}

async fn request_after_cooldown(app: &TestApp, user: &str) {
    app.clock.advance(31);
    assert_eq!(request(app, user).await.status, 202);
}

/// Gap 8 of the attack run: anyone who knows a user id could burn the sign-in
/// code budget and block verification, which also blocked MFA login. Each
/// purpose now has its own codes, limits and failure counters.
#[tokio::test]
async fn a_stranger_burning_sign_in_codes_does_not_block_the_owners_mfa_login() {
    let app = TestApp::start().await;
    // The stranger uses up the hourly sign-in codes and fails ten times.
    for _ in 0..5 {
        request_after_cooldown(&app, JANE.user_id).await;
        for _ in 0..2 {
            verify(&app, JANE.user_id, "000000").await;
        }
    }
    assert_eq!(request(&app, JANE.user_id).await.status, 429);
    assert_eq!(verify(&app, JANE.user_id, "000000").await.status, 429);
    // The owner signs in with password and SMS code all the same.
    let creds = json!({"email": JANE.email, "password": JANE.password});
    let r = app.post(path::LOGIN, creds.clone()).await;
    assert_eq!(r.problem_code(), "mfa_required");
    let mut with_code = creds;
    with_code["otp_code"] = json!(app.latest_code(JANE.user_id).await);
    assert_eq!(app.post(path::LOGIN, with_code).await.status, 200);
}

/// Failures are counted per user and source: one source reaching its limit
/// does not block the owner's source; a higher per-user ceiling bounds all of
/// them together.
#[tokio::test]
async fn failed_codes_block_the_source_first_and_the_user_only_at_a_higher_ceiling() {
    let app = TestApp::builder()
        .env("OTP_FAILURES_PER_USER_PER_SOURCE_PER_DAY", "4")
        .env("OTP_FAILURES_PER_USER_PER_DAY", "7")
        .env("OTP_REQUESTS_PER_USER_PER_HOUR", "20")
        .start()
        .await;
    let verify_from = |source: &'static str, code: String| {
        let app = &app;
        async move {
            app.post_from(
                source,
                path::OTP_VERIFY,
                json!({"user_id": JOHN.user_id, "otp": code}),
            )
            .await
        }
    };
    for _ in 0..2 {
        request_after_cooldown(&app, JOHN.user_id).await;
        for _ in 0..2 {
            assert_eq!(verify_from("127.0.0.2", "000000".into()).await.status, 401);
        }
    }
    // 127.0.0.2 is now blocked, even with the right code...
    request_after_cooldown(&app, JOHN.user_id).await;
    let code = app.latest_code(JOHN.user_id).await;
    let r = verify_from("127.0.0.2", code.clone()).await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    assert!(r.header("retry-after").is_some());
    // ...while the owner's source signs in (and a success clears the counters).
    assert_eq!(verify_from("127.0.0.3", code).await.status, 200);

    // The ceiling across sources: 4 + 3 failures from two sources block a third.
    for (source, times) in [
        ("127.0.0.4", 2),
        ("127.0.0.4", 2),
        ("127.0.0.5", 2),
        ("127.0.0.5", 1),
    ] {
        request_after_cooldown(&app, JOHN.user_id).await;
        for _ in 0..times {
            assert_eq!(verify_from(source, "000000".into()).await.status, 401);
        }
    }
    request_after_cooldown(&app, JOHN.user_id).await;
    let code = app.latest_code(JOHN.user_id).await;
    assert_eq!(verify_from("127.0.0.6", code).await.status, 429);
}

#[tokio::test]
async fn an_unverified_phone_receives_no_sign_in_codes() {
    let app = TestApp::start().await;
    let phone = voicegate_tests::random_phone();
    let t = app.register("unverified@example.com", Some(&phone)).await;
    let uid = t["user"]["user_id"].as_str().unwrap().to_owned();
    // Registration sent the verification code, and only that.
    assert_eq!(app.sms_to_phone(&phone).await.len(), 1);
    let with_verified = request(&app, JOHN.user_id).await;
    let r = request(&app, &uid).await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (202, with_verified.text.as_str())
    );
    assert_eq!(
        app.sms_to_phone(&phone).await.len(),
        1,
        "a sign-in code went to an unproven number"
    );
}
