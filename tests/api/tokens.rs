//! Access tokens: JWKS, stock-library verification, and every forgery refused.

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use voicegate_tests::{jwt_payload, path, TestApp, ADA, JOHN};

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

#[tokio::test]
async fn access_token_verifies_with_a_stock_jwt_library_from_the_jwks() {
    let app = TestApp::start().await;
    let jwks = app.get(path::JWKS, None).await;
    assert_eq!(jwks.status, 200);
    assert!(jwks.header("cache-control").unwrap().contains("max-age"));
    let set: JwkSet = serde_json::from_str(&jwks.text).unwrap();
    assert!(!jwks.text.contains("\"d\""), "private key material in JWKS");

    let token = app.access_token(&JOHN).await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&["voicegate-api"]);
    v.set_issuer(&["voicegate"]);
    let claims = jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], JOHN.user_id);
    assert_eq!(claims["email"], JOHN.email);
    assert_eq!(claims["name"], "John Doe");
    assert_eq!(claims["roles"], json!(["customer"]));
    assert_eq!(
        claims["permissions"],
        json!(["read", "transact", "configure"])
    );
    assert_eq!(claims["platform"], "web");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["two_factor_verified"], false);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    for k in ["jti", "sid", "nbf"] {
        assert!(claims.get(k).is_some(), "{k}");
    }
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let app = TestApp::start().await;
    let good = app.access_token(&JOHN).await;
    let header = jsonwebtoken::decode_header(&good).unwrap();
    let kid = header.kid.clone().unwrap();
    let payload = jwt_payload(&good);
    let parts: Vec<&str> = good.split('.').collect();
    let jwks = app.get(path::JWKS, None).await.text;

    let mut forgeries: Vec<(&str, String)> = Vec::new();
    // alg none, no signature.
    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": kid});
    forgeries.push((
        "alg none",
        format!("{}.{}.", b64(none_header.to_string().as_bytes()), parts[1]),
    ));
    // HS256 keyed with our public JWKS (the classic algorithm confusion).
    let mut hs = Header::new(Algorithm::HS256);
    hs.typ = Some("at+jwt".into());
    hs.kid = Some(kid.clone());
    let confused =
        jsonwebtoken::encode(&hs, &payload, &EncodingKey::from_secret(jwks.as_bytes())).unwrap();
    forgeries.push(("hs256 with public key", confused));
    // Payload changed (role escalation), signature kept.
    let mut admin = payload.clone();
    admin["roles"] = json!(["admin"]);
    forgeries.push((
        "tampered payload",
        format!(
            "{}.{}.{}",
            parts[0],
            b64(admin.to_string().as_bytes()),
            parts[2]
        ),
    ));
    // Signed by a foreign ES256 key under our kid, or under an unknown kid.
    let foreign = EncodingKey::from_ec_pem(FOREIGN_P256.as_bytes()).unwrap();
    let mut h = Header::new(Algorithm::ES256);
    h.typ = Some("at+jwt".into());
    h.kid = Some(kid.clone());
    forgeries.push((
        "foreign key",
        jsonwebtoken::encode(&h, &payload, &foreign).unwrap(),
    ));
    h.kid = Some("unknown-kid".into());
    forgeries.push((
        "unknown kid",
        jsonwebtoken::encode(&h, &payload, &foreign).unwrap(),
    ));
    // Wrong typ (e.g. an ID token) from the same key cannot be made without our key,
    // so typ is checked by changing the header: the signature breaks too, but a
    // header without typ must fail before signature checks anyway.
    let no_typ = json!({"alg": "ES256", "kid": kid});
    forgeries.push((
        "no typ",
        format!(
            "{}.{}.{}",
            b64(no_typ.to_string().as_bytes()),
            parts[1],
            parts[2]
        ),
    ));
    forgeries.push(("garbage", "not.a.jwt".into()));

    for (what, token) in forgeries {
        let r = app.get(path::ME, Some(&token)).await;
        assert_eq!(r.status, 401, "{what} was accepted: {}", r.text);
        assert_eq!(r.problem_code(), "invalid_token", "{what}");
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#)
        );
    }
    // Missing token.
    let r = app.get(path::ME, None).await;
    assert_eq!(
        (r.status, r.header("www-authenticate")),
        (401, Some(r#"Bearer error="invalid_token""#))
    );
    // The genuine token still works.
    assert_eq!(app.get(path::ME, Some(&good)).await.status, 200);
}

/// Apps sharing one signing secret but configured with another audience or
/// issuer: their tokens carry valid signatures, so only the claim check can
/// refuse them.
#[tokio::test]
async fn wrong_audience_or_issuer_is_refused() {
    use voicegate::clock::Clock;
    let app = TestApp::start().await;
    let secrets = app.state.secrets().await.unwrap();
    let (iss, aud) = (
        &app.state.config.token_issuer,
        &app.state.config.token_audience,
    );
    let verify = |token: &str| {
        voicegate::domain::access_tokens::verify(&secrets, iss, aud, app.clock.now(), token)
    };
    assert!(verify(&app.access_token(&JOHN).await).is_ok());

    for (key, value, claim) in [
        ("TOKEN_AUDIENCE", "someone-else", "aud"),
        ("TOKEN_ISSUER", "elsewhere", "iss"),
    ] {
        let other = TestApp::builder()
            .env("APP_SECRET_ID", &app.state.config.app_secret_id)
            .env(key, value)
            .start()
            .await;
        let token = other.access_token(&JOHN).await;
        assert_eq!(jwt_payload(&token)[claim], value);
        assert_eq!(other.get(path::ME, Some(&token)).await.status, 200);
        assert!(verify(&token).is_err(), "{claim} not checked");
    }
}

#[tokio::test]
async fn expiry_is_checked_with_at_most_thirty_seconds_leeway() {
    let app = TestApp::start().await;
    let token = app.access_token(&JOHN).await;
    app.clock.advance(900 + 29);
    assert_eq!(app.get(path::ME, Some(&token)).await.status, 200);
    app.clock.advance(1);
    let r = app.get(path::ME, Some(&token)).await;
    assert_eq!(
        (r.status, r.problem_code().as_str()),
        (401, "invalid_token")
    );
}

/// A P-256 key that is not ours.
const FOREIGN_P256: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVmO8qJ0hsWXwKzgx
ZGzbX830Fn5KV2exQavciTdgiEKhRANCAARmo12LcZViv7OeRpEnlLaJG6RBQ2dd
cnkw8VzERSz8r3KdxJ40/sMJ/WU9ybyQGj6ngxgagkP1Pz9PgHFRKpt+
-----END PRIVATE KEY-----
";

/// Rotation through Secrets Manager: a new key listed first signs once the
/// per-container cache (`SECRETS_CACHE_SECONDS`) has expired; the old key keeps verifying
/// and stays in the JWKS.
#[tokio::test]
async fn signing_keys_rotate_through_the_secret_once_the_cache_expires() {
    let app = TestApp::start().await;
    let old_token = app.access_token(&JOHN).await;
    assert_eq!(
        jsonwebtoken::decode_header(&old_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("k1")
    );

    let sm = app.secrets_manager().await;
    let id = &app.state.config.app_secret_id;
    let current: Value = serde_json::from_str(
        &sm.get_secret_value()
            .secret_id(id)
            .send()
            .await
            .unwrap()
            .secret_string
            .unwrap(),
    )
    .unwrap();
    let seed = current["seed"].as_str().unwrap();
    let rotated = json!({"signing_keys": [{"kid": "k2", "seed": "n".repeat(64)}, {"kid": "k1", "seed": seed}], "otp_pepper_seed": seed});
    sm.put_secret_value()
        .secret_id(id)
        .secret_string(rotated.to_string())
        .send()
        .await
        .unwrap();

    // Still cached.
    app.clock.advance(299);
    assert_eq!(
        jsonwebtoken::decode_header(&app.access_token(&JOHN).await)
            .unwrap()
            .kid
            .as_deref(),
        Some("k1")
    );
    app.clock.advance(1);
    let new_token = app.access_token(&JOHN).await;
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("k2")
    );
    assert_eq!(app.get(path::ME, Some(&old_token)).await.status, 200);
    assert_eq!(app.get(path::ME, Some(&new_token)).await.status, 200);
    let jwks = app.get(path::JWKS, None).await.json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["k2", "k1"]);
}

/// The secret gone (or unreadable): after the cache expires, routes that need
/// keys fail closed with 503, and nothing about the cause reaches the client.
#[tokio::test]
async fn unusable_secret_fails_closed() {
    let app = TestApp::start().await;
    let token = app.access_token(&JOHN).await;
    let sm = app.secrets_manager().await;
    sm.delete_secret()
        .secret_id(&app.state.config.app_secret_id)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    // Within the cache lifetime the cached keys still serve.
    assert_eq!(app.get(path::ME, Some(&token)).await.status, 200);
    app.clock.advance(300);
    for r in [
        app.get(path::JWKS, None).await,
        app.get(path::ME, Some(&token)).await,
    ] {
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (503, "service_unavailable")
        );
        assert!(
            !r.text.contains("ResourceNotFound")
                && !r.text.contains(&app.state.config.app_secret_id),
            "{}",
            r.text
        );
    }
}

/// Defect 4 of the attack run: with a valid then a forged bearer the API
/// answered 200 (only the first header was read), and API Gateway joins
/// duplicates with a comma. More than one Authorization is refused on every
/// bearer route, in either order and in either form.
#[tokio::test]
async fn more_than_one_authorization_header_is_refused_on_every_bearer_route() {
    let app = TestApp::start().await;
    let good = format!("Bearer {}", app.access_token(&JOHN).await);
    let admin = format!(
        "Bearer {}",
        app.login_as(&ADA).await["access_token"].as_str().unwrap()
    );
    let forged = "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MDAzIn0.";
    let joined = format!("{good}, {forged}");
    let orders: [Vec<(&str, &str)>; 5] = [
        vec![("authorization", &good), ("authorization", forged)],
        vec![("authorization", forged), ("authorization", &good)],
        vec![("authorization", &good), ("authorization", &good)],
        vec![("authorization", &joined)],
        vec![("authorization", &admin), ("authorization", &good)],
    ];
    let posts = [
        path::LOGOUT,
        path::CONNECTION_DETAILS,
        path::ADMIN_LIVEKIT_TOKENS,
        path::PHONE,
        path::PHONE_VERIFY,
        path::PHONE_VERIFY_RESEND,
    ];
    for headers in &orders {
        let r = app.get_with_headers(path::ME, headers).await;
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (401, "invalid_token"),
            "{headers:?}"
        );
        for path in posts {
            let r = app.post_with_headers(path, headers, json!({})).await;
            assert_eq!(
                (r.status, r.problem_code().as_str()),
                (401, "invalid_token"),
                "{path} {headers:?}"
            );
        }
    }
    // The session was not logged out by any of them, and one header still works.
    assert_eq!(
        app.get_with_headers(path::ME, &[("authorization", &good)])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_webhook_with_two_authorization_headers_is_refused() {
    let app = TestApp::start().await;
    let body = json!({"event": "room_started", "id": "EV_dup", "room": {"name": "x"}}).to_string();
    let good =
        voicegate_tests::livekit_webhook_auth(&body, voicegate_tests::LOCAL_LIVEKIT_SECRET, 300)
            .await;
    for headers in [
        vec![
            ("authorization", good.as_str()),
            ("authorization", "forged"),
        ],
        vec![
            ("authorization", "forged"),
            ("authorization", good.as_str()),
        ],
    ] {
        let r = app
            .post_raw(
                path::LIVEKIT_WEBHOOK,
                Some("application/webhook+json"),
                body.clone().into_bytes(),
                &headers,
            )
            .await;
        assert_eq!(
            (r.status, r.problem_code().as_str()),
            (401, "invalid_token")
        );
    }
    let r = app
        .post_raw(
            path::LIVEKIT_WEBHOOK,
            Some("application/webhook+json"),
            body.into_bytes(),
            &[("authorization", &good)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
