//! Register, login, lockout, refresh rotation, logout, me.

use serde_json::json;
use voicegate_tests::{spawn_all, TestApp};

/// The status of one password login attempt.
async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    app.post("/auth/login", json!({"email": email, "password": password}))
        .await
        .status
}

fn register_body(email: &str) -> serde_json::Value {
    json!({"email": email, "password": "a long enough password", "full_name": "Grace Hopper", "phone_number": "+15555550199"})
}

#[tokio::test]
async fn register_then_login_then_me() {
    let app = TestApp::start().await;
    let r = app
        .post("/auth/register", register_body("Grace@Example.com"))
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
    let me = app.get("/auth/me", login["access_token"].as_str()).await;
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
        .post("/auth/register", register_body("JOHN@example.com"))
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
        let r = app.post("/auth/register", body).await;
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
    assert_eq!(app.post("/auth/register", body).await.status, 201);
    let r = app
        .post(
            "/auth/login",
            json!({"email": "spaces@example.com", "password": "twelve-char"}),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn parallel_registrations_of_one_email_yield_one_account() {
    let app = std::sync::Arc::new(TestApp::start().await);
    let futs = (0..8)
        .map(|i| {
            let app = app.clone();
            async move {
                app.post(
                    "/auth/register",
                    register_body(if i % 2 == 0 {
                        "race@example.com"
                    } else {
                        "RACE@example.com"
                    }),
                )
                .await
                .status
            }
        })
        .collect();
    let mut statuses = spawn_all(futs).await;
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn registration_can_be_turned_off() {
    let app = TestApp::builder()
        .env("REGISTRATION_ENABLED", "false")
        .start()
        .await;
    let r = app
        .post("/auth/register", register_body("new@example.com"))
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
            "/auth/login",
            json!({"email": "nobody@example.com", "password": "correct-horse-battery"}),
        )
        .await;
    let wrong = app
        .post(
            "/auth/login",
            json!({"email": "john@example.com", "password": "wrong-horse-battery"}),
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
            "/auth/login",
            json!({"email": "john@example.com", "password": password}),
        )
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong-password!").await.status, 401);
    }
    // Locked, even for the right password.
    let r = attempt("correct-horse-battery").await;
    assert_eq!((r.status, r.problem_code().as_str()), (429, "rate_limited"));
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Another account is not affected.
    app.login("ada@example.com", "ada-admin-passphrase").await;
    app.clock.advance(899);
    assert_eq!(attempt("correct-horse-battery").await.status, 429);
    app.clock.advance(2);
    assert_eq!(attempt("correct-horse-battery").await.status, 200);
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
async fn success_resets_the_failure_count() {
    let app = TestApp::start().await;
    for _ in 0..4 {
        login_status(&app, "john@example.com", "nope-nope-nope").await;
    }
    app.login("john@example.com", "correct-horse-battery").await;
    for _ in 0..4 {
        assert_eq!(
            login_status(&app, "john@example.com", "nope-nope-nope").await,
            401
        );
    }
    app.login("john@example.com", "correct-horse-battery").await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = TestApp::start().await;
    let first = app.login("john@example.com", "correct-horse-battery").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let second = app
        .post("/auth/refresh", json!({"refresh_token": r1}))
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let second = second.json();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(second["user"]["user_id"], "u001");
    // Rotated tokens are stored as hashes only.
    let dump = app.table_dump().await;
    assert!(!dump.contains(&r1) && !dump.contains(&r2));

    // Replaying the old token: refused, and the whole session dies.
    let replay = app
        .post("/auth/refresh", json!({"refresh_token": r1}))
        .await;
    assert_eq!(
        (replay.status, replay.problem_code().as_str()),
        (401, "invalid_token")
    );
    assert_eq!(
        app.post("/auth/refresh", json!({"refresh_token": r2}))
            .await
            .status,
        401
    );
    let me = app.get("/auth/me", second["access_token"].as_str()).await;
    assert_eq!(me.status, 401);
    assert_eq!(
        me.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
    // Another session of the same user lives on.
    let other = app.login("john@example.com", "correct-horse-battery").await;
    assert_eq!(
        app.get("/auth/me", other["access_token"].as_str())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn twenty_parallel_refreshes_yield_exactly_one_success() {
    let app = std::sync::Arc::new(TestApp::start().await);
    let token = app.login("john@example.com", "correct-horse-battery").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let futs = (0..20)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            async move {
                app.post("/auth/refresh", json!({"refresh_token": token}))
                    .await
                    .status
            }
        })
        .collect();
    let statuses = spawn_all(futs).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        19,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn refresh_refuses_garbage_forgeries_and_expired_sessions() {
    let app = TestApp::start().await;
    let t = app.login("john@example.com", "correct-horse-battery").await;
    let real = t["refresh_token"].as_str().unwrap();
    let (sid, secret) = real.split_once('.').unwrap();
    let forged = format!("{sid}.{}", "A".repeat(secret.len()));
    for bad in ["", "garbage", forged.as_str()] {
        let r = app
            .post("/auth/refresh", json!({"refresh_token": bad}))
            .await;
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (401, "invalid_token"),
            "{bad}"
        );
    }
    // A forgery naming a real session does not revoke it.
    assert_eq!(
        app.post("/auth/refresh", json!({"refresh_token": real}))
            .await
            .status,
        200
    );

    // Absolute lifetime: 30 days by default.
    let t = app.login("john@example.com", "correct-horse-battery").await;
    app.clock.advance(30 * 86_400);
    assert_eq!(
        app.post(
            "/auth/refresh",
            json!({"refresh_token": t["refresh_token"]})
        )
        .await
        .status,
        401
    );
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let app = TestApp::start().await;
    let t = app.login("john@example.com", "correct-horse-battery").await;
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(
        app.post_auth("/auth/logout", access, json!({}))
            .await
            .status,
        204
    );
    for r in [
        app.get("/auth/me", Some(access)).await,
        app.post_auth("/auth/logout", access, json!({})).await,
        app.post_auth("/connection-details", access, json!({}))
            .await,
        app.post(
            "/auth/refresh",
            json!({"refresh_token": t["refresh_token"]}),
        )
        .await,
    ] {
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (401, "invalid_token")
        );
    }
}
