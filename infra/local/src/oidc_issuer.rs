//! A local OIDC identity provider for trying and testing `POST /auth/oidc`:
//! an ES256 key generated at start, its JWKS and discovery document served
//! on a loopback port, and ID tokens minted on request. Local stage and
//! tests only: it signs whatever claims it is asked to.
//!
//! - `GET /.well-known/openid-configuration`, `GET /jwks`: what a provider publishes.
//! - `POST /token` with a JSON object of claims: an ID token carrying them,
//!   with `iss`, `aud` (the local client id), `iat` and `exp` (10 minutes)
//!   filled in unless given.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use serde_json::{json, Value};

/// The client id the local issuer's tokens are for.
pub const LOCAL_OIDC_CLIENT_ID: &str = "voicegate-local-app";
/// The provider's name on the local stage.
pub const LOCAL_OIDC_PROVIDER: &str = "local";

struct Key {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl Key {
    fn generate() -> Self {
        let signing = SigningKey::random(&mut rand::rngs::OsRng);
        let point = signing.verifying_key().to_encoded_point(false);
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let kid = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        let der = signing.to_pkcs8_der().expect("PKCS#8 of a fresh key");
        Self {
            jwk: json!({
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                "x": b64(point.x().expect("x")), "y": b64(point.y().expect("y")),
            }),
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            kid,
        }
    }
}

/// The running issuer.
#[derive(Clone)]
pub struct LocalIssuer {
    /// `http://127.0.0.1:<port>`: its `iss`.
    pub issuer: String,
    /// Published keys; the last signs.
    keys: Arc<Mutex<Vec<Key>>>,
}

impl LocalIssuer {
    /// Serves on `127.0.0.1:<port>` (0 for any free port) until the process ends.
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let me = Self {
            issuer,
            keys: Arc::new(Mutex::new(vec![Key::generate()])),
        };
        let served = me.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let issuer = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let issuer = issuer.clone();
                        async move { Ok::<_, Infallible>(issuer.answer(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(me)
    }

    /// The `OIDC_PROVIDERS` entry that trusts this issuer.
    pub fn provider(&self) -> Value {
        json!({
            "name": LOCAL_OIDC_PROVIDER,
            "issuer": self.issuer,
            "jwks_uri": format!("{}/jwks", self.issuer),
            "audiences": [LOCAL_OIDC_CLIENT_ID],
            "algorithms": ["ES256"],
            "trust_email": true,
            "trust_mfa": true,
        })
    }

    /// The published key set.
    pub fn jwks(&self) -> Value {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// The id of the key that signs now.
    pub fn current_kid(&self) -> String {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.last().map(|k| k.kid.clone()).unwrap_or_default()
    }

    /// Replaces every key with a new one (a rotation that also withdraws the old key).
    pub fn rotate(&self) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        *keys = vec![Key::generate()];
    }

    /// An ID token with `claims`, `iss`/`aud`/`iat`/`exp` defaulted.
    pub fn mint(&self, claims: &Value) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let mut full = json!({
            "iss": self.issuer, "aud": LOCAL_OIDC_CLIENT_ID, "iat": now, "exp": now + 600,
        });
        if let (Some(full), Some(given)) = (full.as_object_mut(), claims.as_object()) {
            for (k, v) in given {
                full.insert(k.clone(), v.clone());
            }
        }
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let key = keys.last().expect("a key");
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &full, &key.encoding).expect("sign an ID token")
    }

    async fn answer(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<Full<Bytes>> {
        let reply = |status: u16, body: Value| {
            hyper::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
                .expect("a response")
        };
        match (req.method().as_str(), req.uri().path()) {
            ("GET", "/jwks") => reply(200, self.jwks()),
            ("GET", "/.well-known/openid-configuration") => reply(
                200,
                json!({
                    "issuer": self.issuer,
                    "jwks_uri": format!("{}/jwks", self.issuer),
                    "id_token_signing_alg_values_supported": ["ES256"],
                    "subject_types_supported": ["public"],
                    "response_types_supported": ["id_token"],
                }),
            ),
            ("POST", "/token") => {
                let body = Limited::new(req.into_body(), 16 * 1024).collect().await;
                let claims = body
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b.to_bytes()).ok())
                    .filter(Value::is_object);
                match claims {
                    Some(claims) => reply(200, json!({ "id_token": self.mint(&claims) })),
                    None => reply(400, json!({ "error": "send a JSON object of claims" })),
                }
            }
            _ => reply(404, json!({ "error": "not found" })),
        }
    }
}
