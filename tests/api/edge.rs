//! The HTTP edge: health, problem+json, body rules, CORS, request ids, and
//! the sample API Gateway events routed through the Lambda code path.

use serde_json::json;
use voicegate::{App, Route};
use voicegate_tests::{path, repo_root, TestApp};

#[tokio::test]
async fn health_answers_with_version_and_request_id() {
    let app = TestApp::start().await;
    let r = app.get(path::HEALTH, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(r.json()["version"], env!("CARGO_PKG_VERSION"));
    let id = r.header("x-request-id").expect("x-request-id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    // Each request gets its own id.
    assert_ne!(
        app.get(path::HEALTH, None).await.header("x-request-id"),
        Some(id)
    );
}

#[tokio::test]
async fn unknown_route_and_wrong_method_are_problem_404() {
    let app = TestApp::start().await;
    for r in [
        app.get("/nope", None).await,
        app.get(path::LOGIN, None).await,
        app.post(path::HEALTH, json!({})).await,
    ] {
        assert_eq!(r.status, 404, "{}", r.text);
        assert_eq!(r.problem_code(), "not_found");
    }
}

#[tokio::test]
async fn bodies_not_json_too_large_or_malformed_are_refused_as_problems() {
    let app = TestApp::start().await;
    let login = br#"{"email":"john@example.com","password":"correct-horse-battery"}"#.to_vec();

    let r = app
        .post_raw(path::LOGIN, Some("text/plain"), login.clone(), &[])
        .await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (415, "unsupported_media_type")
    );
    let r = app.post_raw(path::LOGIN, None, login.clone(), &[]).await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (415, "unsupported_media_type")
    );
    // Parameters on the media type are fine.
    let r = app
        .post_raw(
            path::LOGIN,
            Some("application/json; charset=utf-8"),
            login,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let big = format!(
        r#"{{"email":"john@example.com","password":"{}"}}"#,
        "x".repeat(16 * 1024)
    );
    let r = app
        .post_raw(path::LOGIN, Some("application/json"), big.into_bytes(), &[])
        .await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (413, "payload_too_large")
    );
    // Exactly 16 KiB is accepted by the size rule (and then judged on content).
    let mut exact =
        br#"{"email":"john@example.com","password":"correct-horse-battery","pad":""#.to_vec();
    exact.resize(16 * 1024 - 2, b'a');
    exact.extend_from_slice(b"\"}");
    let r = app
        .post_raw(path::LOGIN, Some("application/json"), exact, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    for (body, needle) in [
        (&b"{not json"[..], "not valid JSON"),
        (b"", "JSON object"),
        (b"[]", "body"),
        (br#"{"password":"correct-horse-battery"}"#, "`email` is required"),
        (br#"{"email":42,"password":"correct-horse-battery"}"#, "`email`"),
        (br#"{"email":"not-an-email","password":"correct-horse-battery"}"#, "`email`"),
        (br#"{"email":"john@example.com","password":"correct-horse-battery","platform":"fridge"}"#, "`platform`"),
    ] {
        let r = app.post_raw(path::LOGIN, Some("application/json"), body.to_vec(), &[]).await;
        assert_eq!((r.status, r.problem_code().as_str()), (400, "invalid_request"), "{body:?}");
        let detail = r.json()["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains(needle), "{detail:?} should mention {needle:?}");
        assert!(!detail.contains("fridge") && !detail.contains("42"), "detail echoes input: {detail}");
    }
}

#[tokio::test]
async fn cors_preflight_answers_allowed_origins_only() {
    let app = TestApp::builder()
        .env("CORS_ALLOWED_ORIGINS", "https://app.example.com")
        .start()
        .await;
    let r = app
        .http
        .request(reqwest::Method::OPTIONS, app.url(path::CONNECTION_DETAILS))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("authorization"));
    assert!(h.contains_key("x-request-id"));

    let other = app
        .http
        .get(app.url(path::HEALTH))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    let ok = app
        .http
        .get(app.url(path::HEALTH))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(ok.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-request-id"));
}

/// The sample events in events/ are what API Gateway delivers to the Lambdas:
/// each must parse with lambda_http and reach its route (not 404) through the
/// very `App::handle` the Lambda binaries call, with API Gateway's request id.
#[tokio::test]
async fn sample_events_route_through_the_lambda_path() {
    let app = TestApp::start().await;
    let lambda = App::new(app.state.clone(), &Route::ALL);
    let dir = repo_root().join("events");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        let req = lambda_http::request::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let resp = lambda.handle(req).await;
        // The agent's events name a placeholder session: its route answers
        // 404 voice_session_not_found, which is still a route answering.
        let body: serde_json::Value =
            serde_json::from_slice(resp.body().as_ref()).unwrap_or_default();
        assert!(
            resp.status() != 404 || body["code"] == "voice_session_not_found",
            "{} did not reach a route",
            path.display()
        );
        assert_eq!(
            resp.headers()["x-request-id"].to_str().unwrap(),
            raw["requestContext"]["requestId"].as_str().unwrap(),
            "{}",
            path.display()
        );
        seen += 1;
    }
    assert!(
        seen >= Route::ALL.len(),
        "expected an event per route, found {seen}"
    );
    // The health event answers 200 exactly as Lambda would.
    let text = std::fs::read_to_string(dir.join("health.json")).unwrap();
    assert_eq!(
        lambda
            .handle(lambda_http::request::from_str(&text).unwrap())
            .await
            .status(),
        200
    );
}

/// A Lambda binary serves only its own routes.
#[tokio::test]
async fn a_function_serves_only_its_routes() {
    let app = TestApp::start().await;
    let login_only = App::new(app.state.clone(), &[Route::Login]);
    let text = std::fs::read_to_string(repo_root().join("events/health.json")).unwrap();
    assert_eq!(
        login_only
            .handle(lambda_http::request::from_str(&text).unwrap())
            .await
            .status(),
        404
    );
}
