//! Every sample event in events/, made real: the tokens, codes, ceremonies,
//! signatures and ids the samples hold as placeholders are replaced by live
//! ones from a [`TestApp`], and each event goes to the function that serves
//! its route. Used by the test that runs every function binary as Lambda
//! runs it, and by `make bench` to start each one cold.

use std::future::Future;

use serde_json::Value;
use voicegate::edge::functions::{self, Function};

use crate::livekit_webhook_auth;
use crate::{path, repo_root, spoken, TestApp, ADA, JANE, JOHN};

/// Each sample event with the status its function answers it with. In this
/// order: the OTP and phone events use what the ones before them sent, the
/// agent's side the session the first opens, each passkey finish its start.
pub const CASES: [(&str, u16); 32] = [
    ("health.json", 200),
    ("jwks.json", 200),
    ("openapi.json", 200),
    ("register.json", 201),
    ("login.json", 200),
    ("login-mfa.json", 200),
    ("refresh.json", 200),
    ("me.json", 200),
    ("otp-request.json", 202),
    ("otp-verify.json", 200),
    ("phone-verify-resend.json", 200),
    ("phone.json", 202),
    ("phone-verify.json", 200),
    ("connection-details.json", 201),
    ("livekit-webhook.json", 200),
    ("admin-livekit-tokens.json", 200),
    ("voice-session-open.json", 201),
    ("in-call-otp.json", 202),
    ("in-call-otp-verify.json", 200),
    ("step-up.json", 202),
    ("step-up-verify.json", 200),
    ("oauth-token.json", 200),
    ("oauth-introspect.json", 200),
    ("oauth-metadata.json", 200),
    ("passkey-register-start.json", 200),
    ("passkey-register-finish.json", 201),
    ("passkeys.json", 200),
    ("passkey-login-start.json", 200),
    ("passkey-login-finish.json", 200),
    ("passkey-delete.json", 204),
    ("oidc.json", 200),
    ("logout.json", 204),
];

/// A sample event file's text.
pub fn event(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("events").join(name)).unwrap()
}

/// `connection-details.json` carrying `token` as its bearer, as the benches
/// send it cold and warm.
pub fn connection_details_event(token: &str) -> String {
    let mut e: Value = serde_json::from_str(&event("connection-details.json")).unwrap();
    e["headers"]["authorization"] = format!("Bearer {token}").into();
    e["headers"]
        .as_object_mut()
        .unwrap()
        .remove("content-length");
    e.to_string()
}

/// A Lambda proxy response's JSON body.
pub fn body_of(resp: &Value) -> Value {
    serde_json::from_str(resp["body"].as_str().expect("body")).expect("JSON body")
}

/// Sends every case's event, made real, through `invoke(function, file,
/// event, environment)` and asserts its status; the environment is `app`'s
/// Lambda environment plus a local identity provider for `oidc.json`.
/// Once per app: the walk registers, moves John's phone and logs him out.
pub async fn answer_every_sample_event<F, Fut>(app: &TestApp, mut invoke: F)
where
    F: FnMut(Function, &'static str, String, Vec<(String, String)>) -> Fut,
    Fut: Future<Output = Value>,
{
    let john = app.access_token(&JOHN).await;
    let ada = app.login_as(&ADA).await;
    let refresh = app.login_as(&JOHN).await["refresh_token"].clone();
    let issuer = voicegate_local::oidc_issuer::LocalIssuer::start(0)
        .await
        .unwrap();
    let mut env = app.lambda_env();
    env.push((
        "OIDC_PROVIDERS".to_owned(),
        serde_json::json!([issuer.provider()]).to_string(),
    ));
    let mut device = crate::soft_passkey::SoftPasskey::new("http://localhost:3000");
    let (mut ceremony, mut passkey_id) = (Value::Null, String::new());
    // One sample event per route, none left out.
    let mut covered: Vec<String> = CASES
        .iter()
        .map(|(file, _)| {
            serde_json::from_str::<Value>(&event(file)).unwrap()["routeKey"].to_string()
        })
        .collect();
    covered.sort();
    covered.dedup();
    assert_eq!(covered.len(), voicegate::Route::ALL.len(), "{covered:?}");
    let (mut session_id, mut tool_token) = (String::new(), String::new());
    for (file, expected) in CASES {
        let text = event(file)
            .replace(SAMPLE_SESSION_ID, &session_id)
            .replace("TOOL_TOKEN", &tool_token)
            .replace("PASSKEY_ID", &passkey_id);
        let mut e: Value = serde_json::from_str(&text).unwrap();
        let route_key = e["routeKey"].as_str().unwrap().to_owned();
        let route = voicegate::Route::ALL
            .into_iter()
            .find(|r| r.key() == route_key)
            .unwrap();
        let function = functions::ALL
            .iter()
            .find(|f| f.routes.contains(&route))
            .unwrap();
        let mut body: Value =
            serde_json::from_str(e["body"].as_str().unwrap_or("")).unwrap_or(Value::Null);
        if e["headers"]["authorization"]
            .as_str()
            .is_some_and(|a| a.starts_with("Bearer "))
        {
            let token = if file == "admin-livekit-tokens.json" {
                ada["access_token"].as_str().unwrap()
            } else {
                &john
            };
            e["headers"]["authorization"] = format!("Bearer {token}").into();
        }
        match file {
            "refresh.json" => body["refresh_token"] = refresh.clone(),
            "login-mfa.json" => {
                app.post(
                    path::LOGIN,
                    serde_json::json!({"email": JANE.email, "password": JANE.password}),
                )
                .await;
                body["otp_code"] = app.latest_code(JANE.user_id).await.into();
            }
            "otp-verify.json" => body["otp"] = app.latest_code(JOHN.user_id).await.into(),
            // John's number is the phone event's from here on.
            "phone-verify.json" | "step-up-verify.json" => {
                body["otp"] = code_texted_to(app, PHONE_EVENT_NUMBER).await.into()
            }
            "passkey-register-finish.json" | "passkey-login-finish.json" => {
                body["ceremony_id"] = ceremony["ceremony_id"].clone();
                body["credential"] = if file == "passkey-register-finish.json" {
                    device.register(&ceremony["options"])
                } else {
                    device.assert(&ceremony["options"])
                };
            }
            "oidc.json" => body["id_token"] = issuer
                .mint(
                    &serde_json::json!({"sub": "sample-event", "email": "sample-event@example.com",
                        "email_verified": true, "nonce": body["nonce"]}),
                )
                .into(),
            "in-call-otp-verify.json" => {
                body["otp"] = spoken(&code_texted_to(app, PHONE_EVENT_NUMBER).await).into()
            }
            _ => {}
        }
        if !body.is_null() {
            e["body"] = body.to_string().into();
        }
        if file == "livekit-webhook.json" {
            let auth = livekit_webhook_auth(
                e["body"].as_str().unwrap(),
                crate::LOCAL_LIVEKIT_SECRET,
                300,
            )
            .await;
            e["headers"]["authorization"] = auth.into();
        }
        e["headers"]
            .as_object_mut()
            .unwrap()
            .remove("content-length");
        let resp = invoke(*function, file, e.to_string(), env.clone()).await;
        assert_eq!(
            resp["statusCode"], expected,
            "{file} via {}: {resp}",
            function.name
        );
        match file {
            "voice-session-open.json" => {
                session_id = body_of(&resp)["session_id"].as_str().unwrap().to_owned()
            }
            "oauth-token.json" => {
                tool_token = body_of(&resp)["access_token"].as_str().unwrap().to_owned()
            }
            "oauth-introspect.json" => assert_eq!(body_of(&resp)["active"], true),
            "passkey-register-start.json" | "passkey-login-start.json" => ceremony = body_of(&resp),
            "passkeys.json" => {
                passkey_id = body_of(&resp)["passkeys"][0]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
            "passkey-login-finish.json" => {
                assert_eq!(body_of(&resp)["user"]["user_id"], JOHN.user_id)
            }
            _ => {}
        }
    }
}

/// The number events/phone.json moves John to.
const PHONE_EVENT_NUMBER: &str = "+15555550199";

async fn code_texted_to(app: &TestApp, phone: &str) -> String {
    let sms = app.sms_to_phone(phone).await;
    sms.last().expect("an SMS to the number")[..6].to_owned()
}

/// The session id the agent's sample events name, replaced by a real one.
const SAMPLE_SESSION_ID: &str = "vs_0000000000000000";
