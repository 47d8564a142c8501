//! On-call's procedures from docs/operations.md, run as written with
//! infra/tools/ops.py (boto3) against the emulator: suspending a user and
//! revoking sessions take effect at once on every path.

use serde_json::json;
use voicegate_tests::{repo_root, TestApp};

async fn ops(app: &TestApp, args: &[&str]) -> String {
    let out = tokio::process::Command::new(repo_root().join(".tools/moto/bin/python"))
        .arg(repo_root().join("infra/tools/ops.py"))
        .args([
            "--endpoint-url",
            &app.emulator,
            "--region",
            "us-east-1",
            "--table",
            &app.state.db.table,
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .await
        .expect("run ops.py");
    assert!(
        out.status.success(),
        "ops.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn suspending_a_user_ends_every_session_and_every_way_in() {
    let app = TestApp::start().await;
    let web = app.login("john@example.com", "correct-horse-battery").await;
    let phone = app.login("john@example.com", "correct-horse-battery").await;
    let listed = ops(&app, &["sessions", "u001"]).await;
    assert_eq!(listed.lines().count(), 2, "{listed}");

    let said = ops(&app, &["suspend", "u001"]).await;
    assert!(said.contains("revoked 2"), "{said}");
    for t in [&web, &phone] {
        assert_eq!(
            app.get("/auth/me", t["access_token"].as_str()).await.status,
            401
        );
        let r = app
            .post(
                "/auth/refresh",
                json!({"refresh_token": t["refresh_token"]}),
            )
            .await;
        assert_eq!(r.status, 401);
    }
    // The right password and a right code both fail, as a wrong one would.
    let r = app
        .post(
            "/auth/login",
            json!({"email": "john@example.com", "password": "correct-horse-battery"}),
        )
        .await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (401, "invalid_credentials")
    );
    app.post("/auth/otp/request", json!({"user_id": "u001"}))
        .await;
    let r = app
        .post(
            "/auth/otp/verify",
            json!({"user_id": "u001", "otp": app.latest_code("u001").await}),
        )
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (401, "otp_invalid"));
    // Other users are untouched; unsuspending lets John in again.
    app.login("ada@example.com", "ada-admin-passphrase").await;
    ops(&app, &["unsuspend", "u001"]).await;
    app.login("john@example.com", "correct-horse-battery").await;
}

#[tokio::test]
async fn revoking_one_session_leaves_the_others() {
    let app = TestApp::start().await;
    let a = app.login("john@example.com", "correct-horse-battery").await;
    let b = app.login("john@example.com", "correct-horse-battery").await;
    let sid = a["refresh_token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(ops(&app, &["revoke-session", &sid]).await.trim(), "revoked");
    assert_eq!(
        ops(&app, &["revoke-session", &sid]).await.trim(),
        "already revoked or unknown"
    );
    assert_eq!(
        app.get("/auth/me", a["access_token"].as_str()).await.status,
        401
    );
    assert_eq!(
        app.get("/auth/me", b["access_token"].as_str()).await.status,
        200
    );
}
