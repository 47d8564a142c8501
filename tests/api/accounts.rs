//! Register, login, lockout, refresh rotation, logout, me.

use serde_json::json;
use std::sync::Arc;

use voicegate_tests::{path, race, TestApp, ADA, JOHN};

/// The status of one password login attempt.
async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    app.post(path::LOGIN, json!({"email": email, "password": password}))
        .await
        .status
}

fn register_body(email: &str) -> serde_json::Value {
    json!({"email": email, "password": "a long enough password", "full_name": "Grace Hopper", "phone_number": "+15555550199"})
}

#[tokio::test]
async fn a_new_account_logs_in_and_reads_its_profile() {
    let app = TestApp::start().await;
    let r = app
        .post(path::REGISTER, register_body("Grace@Example.com"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 900);
    assert_eq!(t["user"]["email"], "grace@example.com");
    assert_eq!(t["user"]["roles"], json!(["customer"]));
    let uid = t["user"]["user_id"].as_str().unwrap().to_owned();
    assert!(
        uid.starts_with('u') && uid[1..].bytes().all(|b| b.is_ascii_digit()),
        "{uid}"
    );

    let login = app
        .login("GRACE@example.COM", "a long enough password")
        .await;
    assert_eq!(login["user"]["user_id"], uid);
    let me = app.get(path::ME, login["access_token"].as_str()).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let me = me.json();
    assert_eq!(me["user_id"], uid);
    assert_eq!(me["phone_number"], "+1******0199");
    assert!(me.get("password_hash").is_none() && !me.to_string().contains("argon2"));

    // Stored only as an argon2id PHC string: no item holds the password.
    let dump = app.table_dump().await;
    assert!(!dump.contains("a long enough password"));
    assert!(dump.contains("$argon2id$v=19$m=19456,t=2,p=1$"));
}

#[tokio::test]
async fn register_refuses_duplicates_weak_passwords_and_bad_phones() {
    let app = TestApp::start().await;
    let r = app
        .post(path::REGISTER, register_body("JOHN@example.com"))
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (409, "email_taken"));
    for (field, value) in [
        ("password", json!("short")),
        ("password", json!("x".repeat(129))),
        ("phone_number", json!("5555550100")),
        ("full_name", json!("")),
    ] {
        let mut body = register_body("new@example.com");
        body[field] = value;
        let r = app.post(path::REGISTER, body).await;
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (400, "invalid_request"),
            "{field}"
        );
        assert!(r.json()["detail"].as_str().unwrap().contains(field));
    }
    // 12 characters exactly, spaces included, is accepted and checked as given.
    let mut body = register_body("spaces@example.com");
    body["password"] = json!(" twelve-char");
    assert_eq!(app.post(path::REGISTER, body).await.status, 201);
    let r = app
        .post(
            path::LOGIN,
            json!({"email": "spaces@example.com", "password": "twelve-char"}),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn registration_can_be_turned_off() {
    let app = TestApp::builder()
        .env("REGISTRATION_ENABLED", "false")
        .start()
        .await;
    let r = app
        .post(path::REGISTER, register_body("new@example.com"))
        .await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (403, "registration_disabled")
    );
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_identically() {
    let app = TestApp::start().await;
    let unknown = app
        .post(
            path::LOGIN,
            json!({"email": "nobody@example.com", "password": JOHN.password}),
        )
        .await;
    let wrong = app
        .post(
            path::LOGIN,
            json!({"email": JOHN.email, "password": "wrong-horse-battery"}),
        )
        .await;
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert_eq!(unknown.problem_code(), "invalid_credentials");
    assert_eq!(
        unknown.body_without_request_id(),
        wrong.body_without_request_id()
    );
    assert_eq!(unknown.header_names(), wrong.header_names());
}

#[tokio::test]
async fn five_failures_lock_password_login_for_fifteen_minutes() {
    let app = TestApp::start().await;
    let attempt = |password: &'static str| {
        app.post(
            path::LOGIN,
            json!({"email": JOHN.email, "password": password}),
        )
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong-password!").await.status, 401);
    }
    // Locked, even for the right password.
    let r = attempt(JOHN.password).await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Another account is not affected.
    app.login_as(&ADA).await;
    app.clock.advance(899);
    assert_eq!(attempt(JOHN.password).await.status, 429);
    app.clock.advance(2);
    assert_eq!(attempt(JOHN.password).await.status, 200);
}

#[tokio::test]
async fn unknown_emails_lock_the_same_way() {
    let app = TestApp::start().await;
    for _ in 0..5 {
        assert_eq!(
            login_status(&app, "ghost@example.com", "whatever-it-is").await,
            401
        );
    }
    assert_eq!(
        login_status(&app, "ghost@example.com", "whatever-it-is").await,
        429
    );
}

#[tokio::test]
async fn a_right_password_is_not_counted_as_a_failure_and_does_not_erase_failures() {
    let app = TestApp::start().await;
    for _ in 0..4 {
        login_status(&app, JOHN.email, "nope-nope-nope").await;
    }
    app.login_as(&JOHN).await;
    app.login_as(&JOHN).await;
    // The fifth failure within the window still locks.
    assert_eq!(login_status(&app, JOHN.email, "nope-nope-nope").await, 401);
    assert_eq!(login_status(&app, JOHN.email, JOHN.password).await, 429);
}

/// Defect 1 of the attack run: 30 parallel wrong passwords all got 401. The
/// attempt is now reserved before the password is checked.
#[tokio::test]
async fn thirty_parallel_wrong_passwords_check_five_and_lock_the_rest_out() {
    let app = Arc::new(TestApp::start().await);
    let statuses = race(30, |_| {
        let app = app.clone();
        async move { login_status(&app, JOHN.email, "wrong-password!").await }
    })
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        25,
        "{statuses:?}"
    );
    // The right password now gets 429 too, for 15 minutes.
    assert_eq!(login_status(&app, JOHN.email, JOHN.password).await, 429);
    app.clock.advance(15 * 60 + 1);
    assert_eq!(login_status(&app, JOHN.email, JOHN.password).await, 200);
}

/// A right password racing a burst of wrong ones is never a way past the limit:
/// at most five wrong passwords are checked whatever the interleaving, and
/// once five were, the right one is refused too.
#[tokio::test]
async fn a_right_password_inside_a_burst_never_gets_past_the_limit() {
    let app = Arc::new(TestApp::start().await);
    let statuses = race(30, |i| {
        let app = app.clone();
        let password = if i == 29 {
            JOHN.password
        } else {
            "wrong-password!"
        };
        async move { login_status(&app, JOHN.email, password).await }
    })
    .await;
    let wrong_checked = statuses[..29].iter().filter(|s| **s == 401).count();
    assert!(wrong_checked <= 5, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 401, 429].contains(s)),
        "{statuses:?}"
    );
    if wrong_checked == 5 {
        assert_eq!(login_status(&app, JOHN.email, JOHN.password).await, 429);
    }
    // Once five were checked, a right password sent later in the window is refused.
    for _ in wrong_checked..5 {
        login_status(&app, JOHN.email, "wrong-password!").await;
    }
    assert_eq!(login_status(&app, JOHN.email, JOHN.password).await, 429);
}

#[tokio::test]
async fn one_source_gets_a_bounded_number_of_wrong_passwords_across_accounts() {
    let app = TestApp::builder()
        .env("LOGIN_FAILURES_PER_IP_PER_15_MIN", "3")
        .start()
        .await;
    for email in ["a@example.com", "b@example.com", JOHN.email] {
        assert_eq!(login_status(&app, email, "wrong-password!").await, 401);
    }
    // The fourth failure from this source is refused, even for another account
    // and even with the right password; other sources are not affected.
    let r = app
        .post(
            path::LOGIN,
            json!({"email": ADA.email, "password": ADA.password}),
        )
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    assert!(r.header("retry-after").is_some());
    let other = app
        .post_from(
            "127.0.0.2",
            path::LOGIN,
            json!({"email": ADA.email, "password": ADA.password}),
        )
        .await;
    assert_eq!(other.status, 200, "{}", other.text);
    app.clock.advance(15 * 60 + 1);
    app.login_as(&ADA).await;
}

#[tokio::test]
async fn successful_logins_do_not_use_up_the_source_limit() {
    let app = TestApp::builder()
        .env("LOGIN_FAILURES_PER_IP_PER_15_MIN", "2")
        .start()
        .await;
    for _ in 0..5 {
        app.login_as(&JOHN).await;
    }
    assert_eq!(
        login_status(&app, "x@example.com", "wrong-password!").await,
        401
    );
}

#[tokio::test]
async fn registration_is_limited_per_source() {
    let app = TestApp::builder()
        .env("REGISTER_PER_IP_PER_HOUR", "2")
        .start()
        .await;
    app.register("one@example.com", None).await;
    app.register("two@example.com", None).await;
    let r = app
        .post(path::REGISTER, register_body("three@example.com"))
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    // Another source may; this one may again an hour later.
    assert_eq!(
        app.post_from(
            "127.0.0.2",
            path::REGISTER,
            register_body("three@example.com")
        )
        .await
        .status,
        201
    );
    app.clock.advance(3601);
    app.register("four@example.com", None).await;
}

/// Defect 2 of the attack run: each of these registered a second account that
/// displays as john@example.com.
#[tokio::test]
async fn lookalike_emails_are_the_same_account_or_refused() {
    let app = TestApp::start().await;
    for (email, status) in [
        ("ｊｏｈｎ@example.com", 409),
        ("john@ｅｘａｍｐｌｅ.com", 409),
        ("JOHN@EXAMPLE.COM", 409),
        ("john\u{200b}@example.com", 400),
        ("jo\u{ad}hn@example.com", 400),
        ("john\u{200d}@example.com", 400),
        ("\u{202e}john@example.com", 400),
        ("j\u{43e}hn@example.com", 400),
        ("john@ex\u{430}mple.com", 400),
    ] {
        let r = app.post(path::REGISTER, register_body(email)).await;
        assert_eq!(r.status, status, "{email:?}: {}", r.text);
        let expected = if status == 409 {
            "email_taken"
        } else {
            "invalid_request"
        };
        assert_eq!(r.problem_code(), expected, "{email:?}");
    }
    // A whole-script lookalike (every letter Cyrillic) shares the skeleton.
    app.register("apple@example.com", None).await;
    let r = app
        .post(
            path::REGISTER,
            register_body("\u{430}\u{440}\u{440}\u{4cf}\u{435}@example.com"),
        )
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (409, "email_taken"));
    // The normalised form signs in as the one account.
    let t = app.login("ＪＯＨＮ@example.com", JOHN.password).await;
    assert_eq!(t["user"]["user_id"], JOHN.user_id);
}

#[tokio::test]
async fn names_that_reach_the_agent_are_normalised_or_refused() {
    let app = TestApp::start().await;
    for name in [
        "John\u{200b}Doe",
        "J\u{43e}hn Doe",
        "Eve\u{202e}nimdA",
        "\u{3164}",
        "Zalgo\u{301}\u{301}\u{301}\u{301}",
    ] {
        let mut body = register_body("name@example.com");
        body["full_name"] = json!(name);
        let r = app.post(path::REGISTER, body).await;
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (400, "invalid_request"),
            "{name}"
        );
        assert!(r.json()["detail"].as_str().unwrap().contains("full_name"));
    }
    // Full-width and spaced-out forms become what they look like.
    let mut body = register_body("wide@example.com");
    body["full_name"] = json!("  Ｇｒａｃｅ   Ｈｏｐｐｅｒ ");
    let r = app.post(path::REGISTER, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["user"]["full_name"], "Grace Hopper");
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = TestApp::start().await;
    let first = app.login_as(&JOHN).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let second = app.post(path::REFRESH, json!({"refresh_token": r1})).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let second = second.json();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(second["user"]["user_id"], JOHN.user_id);
    // Rotated tokens are stored as hashes only.
    let dump = app.table_dump().await;
    assert!(!dump.contains(&r1) && !dump.contains(&r2));

    // Replaying the old token after the grace window: refused, and the whole session dies.
    app.clock.advance(11);
    let replay = app.post(path::REFRESH, json!({"refresh_token": r1})).await;
    assert_eq!(
        (replay.status, replay.problem_code().as_str()),
        (401, "invalid_token")
    );
    assert_eq!(
        app.post(path::REFRESH, json!({"refresh_token": r2}))
            .await
            .status,
        401
    );
    let me = app.get(path::ME, second["access_token"].as_str()).await;
    assert_eq!(me.status, 401);
    assert_eq!(
        me.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
    // Another session of the same user lives on.
    let other = app.login_as(&JOHN).await;
    assert_eq!(
        app.get(path::ME, other["access_token"].as_str())
            .await
            .status,
        200
    );
}

/// Gap 10 of the attack run: a mobile client that lost a refresh response and
/// retried was signed out. Within the grace window it gets the same successor.
#[tokio::test]
async fn a_refresh_retried_within_the_grace_window_gets_the_same_successor() {
    let app = TestApp::start().await;
    let first = app.login_as(&JOHN).await;
    let r1 = first["refresh_token"].clone();
    let lost = app
        .post(path::REFRESH, json!({"refresh_token": r1}))
        .await
        .json();
    app.clock.advance(10);
    let retried = app.post(path::REFRESH, json!({"refresh_token": r1})).await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    let retried = retried.json();
    assert_eq!(retried["refresh_token"], lost["refresh_token"]);
    assert_ne!(retried["access_token"], lost["access_token"]);
    // The session lives on: the successor rotates as usual.
    assert_eq!(
        app.get(path::ME, retried["access_token"].as_str())
            .await
            .status,
        200
    );
    let next = app
        .post(
            path::REFRESH,
            json!({"refresh_token": retried["refresh_token"]}),
        )
        .await;
    assert_eq!(next.status, 200);
}

#[tokio::test]
async fn a_rotated_refresh_token_presented_after_the_grace_window_revokes_the_session() {
    let app = TestApp::start().await;
    let first = app.login_as(&JOHN).await;
    let second = app
        .post(
            path::REFRESH,
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await
        .json();
    app.clock.advance(11);
    let replay = app
        .post(
            path::REFRESH,
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(
        (replay.status, replay.problem_code().as_str()),
        (401, "invalid_token")
    );
    for r in [
        app.post(
            path::REFRESH,
            json!({"refresh_token": second["refresh_token"]}),
        )
        .await,
        app.get(path::ME, second["access_token"].as_str()).await,
    ] {
        assert_eq!(r.status, 401);
    }
}

#[tokio::test]
async fn a_grace_window_of_zero_revokes_on_any_reuse() {
    let app = TestApp::builder()
        .env("REFRESH_REUSE_GRACE_SECONDS", "0")
        .start()
        .await;
    let first = app.login_as(&JOHN).await;
    let second = app
        .post(
            path::REFRESH,
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await
        .json();
    let replay = app
        .post(
            path::REFRESH,
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(replay.status, 401);
    assert_eq!(
        app.get(path::ME, second["access_token"].as_str())
            .await
            .status,
        401
    );
}

/// Only the token just rotated away gets grace: an older one is reuse.
#[tokio::test]
async fn a_token_two_rotations_old_is_reuse_even_within_the_window() {
    let app = TestApp::start().await;
    let t0 = app.login_as(&JOHN).await;
    let t1 = app
        .post(path::REFRESH, json!({"refresh_token": t0["refresh_token"]}))
        .await
        .json();
    let t2 = app
        .post(path::REFRESH, json!({"refresh_token": t1["refresh_token"]}))
        .await
        .json();
    let r = app
        .post(path::REFRESH, json!({"refresh_token": t0["refresh_token"]}))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        app.get(path::ME, t2["access_token"].as_str()).await.status,
        401
    );
}

#[tokio::test]
async fn refresh_refuses_garbage_forgeries_and_expired_sessions() {
    let app = TestApp::start().await;
    let t = app.login_as(&JOHN).await;
    let real = t["refresh_token"].as_str().unwrap();
    let (sid, secret) = real.split_once('.').unwrap();
    let forged = format!("{sid}.{}", "A".repeat(secret.len()));
    for bad in ["", "garbage", forged.as_str()] {
        let r = app.post(path::REFRESH, json!({"refresh_token": bad})).await;
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (401, "invalid_token"),
            "{bad}"
        );
    }
    // A forgery naming a real session does not revoke it.
    assert_eq!(
        app.post(path::REFRESH, json!({"refresh_token": real}))
            .await
            .status,
        200
    );

    // Absolute lifetime: 30 days by default.
    let t = app.login_as(&JOHN).await;
    app.clock.advance(30 * 86_400);
    assert_eq!(
        app.post(path::REFRESH, json!({"refresh_token": t["refresh_token"]}))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let app = TestApp::start().await;
    let t = app.login_as(&JOHN).await;
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(
        app.post_auth(path::LOGOUT, access, json!({})).await.status,
        204
    );
    for r in [
        app.get(path::ME, Some(access)).await,
        app.post_auth(path::LOGOUT, access, json!({})).await,
        app.post_auth(path::CONNECTION_DETAILS, access, json!({}))
            .await,
        app.post(path::REFRESH, json!({"refresh_token": t["refresh_token"]}))
            .await,
    ] {
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (401, "invalid_token")
        );
    }
}
