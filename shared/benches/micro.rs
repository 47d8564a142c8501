//! Micro-benchmarks of the per-request CPU work (criterion), on the same
//! inputs the endpoints see: `make bench` runs them and copies the figures
//! into docs/benchmarks.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use sha2::Digest;
use subtle::ConstantTimeEq;
use voicegate::adapters::password;
use voicegate::adapters::secrets::{LiveKitCredentials, Secrets};
use voicegate::clock::SystemClock;
use voicegate::config::Config;
use voicegate::domain::access_tokens::{self, AccessClaims};
use voicegate::domain::codes::code_mac;
use voicegate::domain::livekit::{self, ParticipantToken};
use voicegate::state::AwsConfigs;
use voicegate::types::{AuthMethod, Email, OtpCode, Platform, UserId};
use voicegate::AppState;

const NOW: i64 = 1_795_300_000;

fn secrets() -> Secrets {
    Secrets::parse(&format!(r#"{{"seed": "{}"}}"#, "n".repeat(64))).expect("app secret")
}

fn livekit_credentials() -> LiveKitCredentials {
    LiveKitCredentials {
        api_key: "devkey".into(),
        api_secret: "a-livekit-api-secret-of-realistic-length".into(),
    }
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "voicegate".into(),
        aud: "voicegate-api".into(),
        sub: "u001".into(),
        iat: NOW,
        nbf: NOW,
        exp: NOW + 900,
        jti: "0f8fad5bd9cb469fa16570867728950e".into(),
        sid: "8d3a1c2e4f5b6a7980c1d2e3f4a5b6c7".into(),
        email: "john@example.com".into(),
        name: "John Doe".into(),
        roles: vec!["customer".into()],
        permissions: vec!["read".into(), "transact".into(), "configure".into()],
        platform: Some(Platform::Mobile),
        amr: vec![AuthMethod::Pwd],
        two_factor_verified: false,
        biometric_verified: false,
        idp: None,
    }
}

/// The participant token `/connection-details` mints: the claims a caller's
/// token carries (identity, name, grants, metadata, attributes, agent dispatch).
fn participant_token() -> ParticipantToken<'static> {
    let room = "voice_assistant_room_1795300000_0f8fad5bd9cb469f";
    ParticipantToken {
        identity: "voice_assistant_user_u001",
        name: "John Doe",
        kind: None,
        grants: livekit::voice_caller_grants(room),
        metadata: r#"{"user_id":"u001","full_name":"John Doe","roles":["customer"],"permissions":["read","transact","configure"],"session_id":"vs_0f8fad5bd9cb469f","two_factor_verified":false,"platform":"mobile"}"#.into(),
        attributes: vec![
            ("user_id".into(), "u001".into()),
            ("session_id".into(), "vs_0f8fad5bd9cb469f".into()),
            ("two_factor_verified".into(), "false".into()),
        ],
        agents: vec![livekit_protocol::RoomAgentDispatch {
            agent_name: "banking-assistant".into(),
            ..Default::default()
        }],
        ttl: Duration::from_secs(900),
    }
}

fn tokens(c: &mut Criterion) {
    let secrets = secrets();
    let creds = livekit_credentials();
    let claims = claims();
    c.bench_function("livekit participant token (sign)", |b| {
        b.iter(|| livekit::sign(&creds, participant_token()).unwrap())
    });
    c.bench_function("access token sign (ES256)", |b| {
        b.iter(|| access_tokens::sign(&secrets, &claims).unwrap())
    });
    let token = access_tokens::sign(&secrets, &claims).unwrap();
    c.bench_function("access token verify (ES256)", |b| {
        b.iter(|| {
            access_tokens::verify(&secrets, "voicegate", "voicegate-api", NOW + 60, &token).unwrap()
        })
    });
}

fn codes(c: &mut Criterion) {
    let secrets = secrets();
    let code = OtpCode::from_number(123_456);
    let stored = code_mac(&secrets.otp_pepper, "challenge-id", "", &code);
    c.bench_function("otp code MAC and constant-time compare", |b| {
        b.iter(|| {
            let presented = code_mac(&secrets.otp_pepper, "challenge-id", "", &code);
            bool::from(
                presented
                    .as_str()
                    .as_bytes()
                    .ct_eq(stored.as_str().as_bytes()),
            )
        })
    });
}

fn webhooks(c: &mut Criterion) {
    let creds = livekit_credentials();
    let body = include_bytes!("../../events/livekit-webhook.json");
    let event: serde_json::Value = serde_json::from_slice(body).unwrap();
    let body = event["body"].as_str().unwrap().as_bytes().to_vec();
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&body));
    let auth =
        livekit_api::access_token::AccessToken::with_api_key(&creds.api_key, &creds.api_secret)
            .with_sha256(&sha)
            .to_jwt()
            .unwrap();
    c.bench_function("livekit webhook verification", |b| {
        b.iter(|| livekit::verify_webhook(&creds, &auth, &body).unwrap())
    });
}

fn parsing(c: &mut Criterion) {
    let event = include_str!("../../events/connection-details.json");
    c.bench_function("API Gateway event to request", |b| {
        b.iter(|| lambda_http::request::from_str(event).unwrap())
    });
    c.bench_function("typed fields (email, user id, spoken code)", |b| {
        b.iter(|| {
            (
                Email::parse("John.Doe@Example.com").unwrap(),
                UserId::parse("you zero zero one").unwrap(),
                OtpCode::parse("one two three four five six").unwrap(),
            )
        })
    });
}

fn argon2id(c: &mut Criterion) {
    let mut group = c.benchmark_group("argon2id (m=19 MiB, t=2, p=1)");
    group.sample_size(10);
    group.bench_function("hash", |b| {
        b.iter(|| password::hash_blocking("correct-horse-battery").unwrap())
    });
    group.finish();
}

/// An HTTP client that answers every request at once with one stored item:
/// what is left is the AWS SDK's own work per call (the operation's
/// configuration, interceptors, endpoint, SigV4 signing, the request and the
/// answer as JSON) and the store's reading of the item, without a network.
#[derive(Clone, Debug)]
struct CannedDynamoDb;

impl HttpConnector for CannedDynamoDb {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let answer = http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", "bench")
            .body(SdkBody::from(
                r#"{"Item":{"pk":{"S":"SESSION#8d3a1c2e"},"sk":{"S":"SESSION"},"user_id":{"S":"u001"},"expires_at":{"N":"1795390000"}}}"#,
            ))
            .expect("a canned answer");
        HttpConnectorFuture::ready(Ok(HttpResponse::try_from(answer).expect("an HTTP answer")))
    }
}

impl HttpClient for CannedDynamoDb {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// One DynamoDB `GetItem` through the client exactly as a function builds it
/// (`AppState::new`: timeouts, retries, the call recorder), answered by
/// [`CannedDynamoDb`].
fn aws_sdk(c: &mut Criterion) {
    let env: HashMap<String, String> = [
        ("TABLE_NAME", "bench"),
        ("APP_SECRET_ID", "bench/app"),
        ("LIVEKIT_SECRET_ID", "bench/livekit"),
        ("LIVEKIT_URL", "wss://bench.livekit.cloud"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = Config::from_env(&env).expect("a configuration");
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDBENCH",
            "bench",
            None,
            None,
            "bench",
        )))
        .http_client(SharedHttpClient::new(CannedDynamoDb))
        .build();
    let state = AppState::new(config, AwsConfigs::shared(sdk), Arc::new(SystemClock));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    c.bench_function("AWS SDK GetItem, network taken out (canned answer)", |b| {
        b.iter(|| {
            runtime
                .block_on(state.db.get("SESSION#8d3a1c2e", "SESSION"))
                .unwrap()
                .expect("the canned item")
        })
    });
}

criterion_group!(benches, tokens, codes, webhooks, parsing, argon2id, aws_sdk);
criterion_main!(benches);
