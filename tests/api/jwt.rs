//! JWT negative vectors for every verifier: each forgery is wrong in exactly
//! one way and otherwise made with the real key, and a control vector built
//! the same way must pass, so a refusal proves the check it names.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};
use voicegate::clock::Clock;
use voicegate_tests::{path, TestApp, ADA, JOHN, LOCAL_LIVEKIT_KEY, LOCAL_LIVEKIT_SECRET};

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

/// A compact JWS over exactly this header and payload, signed with `key`.
fn sign(header: &Value, payload: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).expect("sign");
    format!("{input}.{signature}")
}

/// `token` with its signature replaced.
fn with_signature(token: &str, signature: &str) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{signature}")
}

/// Named forgeries of a token whose good form is `header` + `payload` signed
/// with `key` under `alg`. `public` is what an attacker knows of the key.
fn vectors(
    header: &Value,
    payload: &Value,
    key: &EncodingKey,
    alg: Algorithm,
    public: &[u8],
    keys_by_kid: bool,
) -> Vec<(String, String)> {
    let good = sign(header, payload, key, alg);
    let mut out: Vec<(String, String)> = Vec::new();
    let signed = |h: &Value, p: &Value| sign(h, p, key, alg);
    let mut push = |name: &str, token: String| out.push((name.to_owned(), token));

    for none in ["none", "None", "NONE", "nOnE"] {
        let mut h = header.clone();
        h["alg"] = json!(none);
        let unsigned = format!(
            "{}.{}.",
            b64(h.to_string().as_bytes()),
            b64(payload.to_string().as_bytes())
        );
        push(&format!("alg {none}, empty signature"), unsigned.clone());
        push(
            &format!("alg {none}, original signature"),
            with_signature(&unsigned, good.rsplit('.').next().unwrap()),
        );
    }
    let mut hs = header.clone();
    hs["alg"] = json!("HS256");
    if alg != Algorithm::HS256 {
        push(
            "HS256 keyed with the public key",
            sign(
                &hs,
                payload,
                &EncodingKey::from_secret(public),
                Algorithm::HS256,
            ),
        );
    }
    let mut hs512 = header.clone();
    hs512["alg"] = json!("HS512");
    push(
        "HS512 keyed with the public key",
        sign(
            &hs512,
            payload,
            &EncodingKey::from_secret(public),
            Algorithm::HS512,
        ),
    );
    push(
        "all-zero signature",
        with_signature(&good, &b64(&[0u8; 64])),
    );
    push(
        "all-zero signature of 32 bytes",
        with_signature(&good, &b64(&[0u8; 32])),
    );
    push("empty signature", with_signature(&good, ""));
    push(
        "signature of another token",
        with_signature(
            &good,
            signed(header, &json!({"sub": "x"}))
                .rsplit('.')
                .next()
                .unwrap(),
        ),
    );
    for (name, value) in [
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        (
            "jwk",
            json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
        ),
        ("x5c", json!(["MIIB"])),
        ("crit", json!(["exp"])),
    ] {
        let mut h = header.clone();
        h[name] = value;
        push(
            &format!("{name} header, validly signed"),
            signed(&h, payload),
        );
    }
    if keys_by_kid {
        let mut unknown_kid = header.clone();
        unknown_kid["kid"] = json!("k-unknown");
        push("unknown kid, validly signed", signed(&unknown_kid, payload));
        let mut no_kid = header.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        push("no kid, validly signed", signed(&no_kid, payload));
    }
    for claim in ["exp", "iss"] {
        let mut p = payload.clone();
        p.as_object_mut().unwrap().remove(claim);
        push(&format!("no {claim}, validly signed"), signed(header, &p));
    }
    let mut expired = payload.clone();
    expired["exp"] = json!(payload["iat"].as_i64().unwrap_or(0) - 3_600);
    push(
        "expired an hour ago, validly signed",
        signed(header, &expired),
    );
    let mut future = payload.clone();
    future["nbf"] = json!(payload["exp"].as_i64().unwrap() - 60);
    push(
        "nbf in the future beyond leeway, validly signed",
        signed(header, &future),
    );
    let mut wrong_iss = payload.clone();
    wrong_iss["iss"] = json!("someone-else");
    push("wrong iss, validly signed", signed(header, &wrong_iss));

    let parts: Vec<&str> = good.split('.').collect();
    push("four segments", format!("{good}.{}", parts[2]));
    push("two segments", format!("{}.{}", parts[0], parts[1]));
    push(
        "padded base64",
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
    );
    push(
        "inner whitespace",
        format!("{}. {}.{}", parts[0], parts[1], parts[2]),
    );
    push(
        "standard base64 alphabet",
        good.replace('-', "+").replace('_', "/") + "+/",
    );
    push(
        "JSON serialisation",
        json!({"protected": parts[0], "payload": parts[1], "signature": parts[2]}).to_string(),
    );
    push(
        "header not JSON",
        format!("{}.{}.{}", b64(b"not json"), parts[1], parts[2]),
    );
    push(
        "header a JSON array",
        format!("{}.{}.{}", b64(b"[]"), parts[1], parts[2]),
    );
    let mut tampered = payload.clone();
    tampered["sub"] = json!(ADA.user_id);
    push(
        "payload changed, signature kept",
        with_signature(&signed(header, &tampered), parts[2]),
    );
    out.push(("control: the good token".into(), good));
    out
}

/// Our signing key as the product holds it.
async fn access_vectors(app: &TestApp) -> (Vec<(String, String)>, Value, Value) {
    let secrets = app.state.secrets().await.unwrap();
    let key = &secrets.signing_key();
    let good = app.access_token(&JOHN).await;
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid});
    let payload = voicegate_tests::jwt_payload(&good);
    let jwks = app.get(path::JWKS, None).await.text;
    (
        vectors(
            &header,
            &payload,
            &key.encoding,
            Algorithm::ES256,
            jwks.as_bytes(),
            true,
        ),
        header,
        payload,
    )
}

#[tokio::test]
async fn access_token_vectors_are_refused_and_the_control_accepted() {
    let app = TestApp::start().await;
    let (mut cases, header, payload) = access_vectors(&app).await;
    let secrets = app.state.secrets().await.unwrap();
    let signed =
        |h: &Value, p: &Value| sign(h, p, &secrets.signing_key().encoding, Algorithm::ES256);
    // Checks specific to access tokens, each validly signed with our key.
    for (name, typ) in [
        ("typ JWT", json!("JWT")),
        ("typ id+jwt", json!("id+jwt")),
        ("typ a number", json!(1)),
    ] {
        let mut h = header.clone();
        h["typ"] = typ;
        cases.push((name.into(), signed(&h, &payload)));
    }
    let mut no_typ = header.clone();
    no_typ.as_object_mut().unwrap().remove("typ");
    cases.push(("no typ".into(), signed(&no_typ, &payload)));
    for (claim, value) in [("aud", json!("someone-else")), ("nbf", Value::Null)] {
        let mut p = payload.clone();
        if value.is_null() {
            p.as_object_mut().unwrap().remove(claim);
        } else {
            p[claim] = value;
        }
        cases.push((format!("{claim} wrong or missing"), signed(&header, &p)));
    }
    let mut es384 = header.clone();
    es384["alg"] = json!("ES384");
    cases.push((
        "alg ES384 over an ES256 signature".into(),
        signed(&es384, &payload),
    ));

    // Every bearer route runs the same check.
    let routes: [(&str, bool); 4] = [
        (path::ME, false),
        (path::CONNECTION_DETAILS, true),
        (path::LOGOUT, true),
        (path::ADMIN_LIVEKIT_TOKENS, true),
    ];
    for (name, token) in &cases {
        let accepted = name.starts_with("control");
        for (path, post) in routes {
            if accepted && (path == path::LOGOUT || path == path::ADMIN_LIVEKIT_TOKENS) {
                continue;
            }
            let r = if post {
                app.post_auth(path, token, json!({})).await
            } else {
                app.get(path, Some(token)).await
            };
            if accepted {
                assert!(r.status < 400, "{name} on {path}: {}", r.text);
            } else {
                assert_eq!(
                    (r.status, r.problem_code().as_str()),
                    (401, "invalid_token"),
                    "{name} on {path}"
                );
                assert_eq!(
                    r.header("www-authenticate"),
                    Some(r#"Bearer error="invalid_token""#)
                );
            }
        }
    }
}

#[tokio::test]
async fn webhook_signature_vectors_are_refused_and_the_control_accepted() {
    let app = TestApp::start().await;
    let body =
        json!({"event": "room_started", "id": "EV_vectors", "room": {"name": "other"}}).to_string();
    let digest = base64::engine::general_purpose::STANDARD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
    let now = app.clock.now();
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let payload = json!({"iss": LOCAL_LIVEKIT_KEY, "sub": "", "iat": now, "nbf": now, "exp": now + 300, "sha256": digest});
    let key = EncodingKey::from_secret(LOCAL_LIVEKIT_SECRET.as_bytes());
    let mut cases = vectors(
        &header,
        &payload,
        &key,
        Algorithm::HS256,
        LOCAL_LIVEKIT_KEY.as_bytes(),
        false,
    );
    let mut no_sha = payload.clone();
    no_sha.as_object_mut().unwrap().remove("sha256");
    cases.push((
        "no sha256 claim".into(),
        sign(&header, &no_sha, &key, Algorithm::HS256),
    ));
    let mut other_body = payload.clone();
    other_body["sha256"] = json!(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    cases.push((
        "sha256 of another body".into(),
        sign(&header, &other_body, &key, Algorithm::HS256),
    ));
    let mut bad_typ = header.clone();
    bad_typ["typ"] = json!("at+jwt");
    cases.push((
        "typ at+jwt".into(),
        sign(&bad_typ, &payload, &key, Algorithm::HS256),
    ));

    for (name, token) in cases {
        let r = app
            .post_raw(
                path::LIVEKIT_WEBHOOK,
                Some("application/webhook+json"),
                body.clone().into_bytes(),
                &[("authorization", &token)],
            )
            .await;
        if name.starts_with("control") {
            assert_eq!(r.status, 200, "{name}: {}", r.text);
        } else if r.status != 401 {
            panic!("webhook vector accepted: {name}: {}", r.text);
        } else {
            assert_eq!(
                (r.status, r.problem_code().as_str()),
                (401, "invalid_token"),
                "{name}"
            );
        }
    }
}
