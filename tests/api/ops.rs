//! On-call's procedures from docs/operations.md, run as written with
//! infra/tools/ops.py (boto3) against the emulator: suspending a user and
//! revoking sessions take effect at once on every path.

use serde_json::json;
use voicegate_tests::{path, repo_root, TestApp, ADA, JOHN};

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
    let web = app.login_as(&JOHN).await;
    let phone = app.login_as(&JOHN).await;
    let listed = ops(&app, &["sessions", JOHN.user_id]).await;
    assert_eq!(listed.lines().count(), 2, "{listed}");

    let said = ops(&app, &["suspend", JOHN.user_id]).await;
    assert!(said.contains("revoked 2"), "{said}");
    for t in [&web, &phone] {
        assert_eq!(
            app.get(path::ME, t["access_token"].as_str()).await.status,
            401
        );
        let r = app
            .post(path::REFRESH, json!({"refresh_token": t["refresh_token"]}))
            .await;
        assert_eq!(r.status, 401);
    }
    // The right password and a right code both fail, as a wrong one would.
    let r = app
        .post(
            path::LOGIN,
            json!({"email": JOHN.email, "password": JOHN.password}),
        )
        .await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (401, "invalid_credentials")
    );
    app.post(path::OTP_REQUEST, json!({"user_id": JOHN.user_id}))
        .await;
    let r = app
        .post(
            path::OTP_VERIFY,
            json!({"user_id": JOHN.user_id, "otp": app.latest_code(JOHN.user_id).await}),
        )
        .await;
    assert_eq!((r.status, r.problem_code().as_str()), (401, "otp_invalid"));
    // Other users are untouched; unsuspending lets John in again.
    app.login_as(&ADA).await;
    ops(&app, &["unsuspend", JOHN.user_id]).await;
    app.login_as(&JOHN).await;
}

#[tokio::test]
async fn revoking_one_session_leaves_the_others() {
    let app = TestApp::start().await;
    let a = app.login_as(&JOHN).await;
    let b = app.login_as(&JOHN).await;
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
        app.get(path::ME, a["access_token"].as_str()).await.status,
        401
    );
    assert_eq!(
        app.get(path::ME, b["access_token"].as_str()).await.status,
        200
    );
}
