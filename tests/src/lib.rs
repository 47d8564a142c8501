//! Test harness: each test gets its own copy of the product — its own table
//! and secrets in the shared emulator, its own demo users with their own phone
//! numbers, its own clock — served over real HTTP by the local server, which
//! runs the same `App::handle` as the Lambdas.
//!
//! `make test` starts the emulator and sets `VOICEGATE_TEST_AWS_ENDPOINT`.

pub mod contract;
pub mod faults;
pub mod runtime_api;
pub mod sample_events;
pub mod soft_passkey;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;
use voicegate::adapters::store::voice_sessions::VoiceSession;
use voicegate::clock::ManualClock;
use voicegate::config::Config;
use voicegate::state::{AppState, AwsConfigs};
use voicegate::types::{PasswordHash, VoiceSessionId};
use voicegate::{App, Route};
use voicegate_local::seed::DEMO_USERS;

pub use faults::{Fault, FaultProxy};
use voicegate_local::{emulator_config, server, stage};

pub use voicegate_local::{
    LOCAL_AGENT_CLIENT_ID, LOCAL_AGENT_CLIENT_SECRET, LOCAL_LIVEKIT_KEY, LOCAL_LIVEKIT_SECRET,
    LOCAL_TOOL_SERVER, LOCAL_TOOL_SERVER_CLIENT_ID, LOCAL_TOOL_SERVER_SECRET,
};

/// A whole number from the environment (a bench's rounds, a load's clients), or `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where cargo puts the builds: `CARGO_TARGET_DIR` when set (a relative one is
/// from the repository root, where the make scripts run cargo), else `target/`.
pub fn target_dir() -> PathBuf {
    repo_root().join(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
}

pub fn emulator_endpoint() -> String {
    std::env::var("VOICEGATE_TEST_AWS_ENDPOINT")
        .expect("VOICEGATE_TEST_AWS_ENDPOINT is not set: run the tests with `make test`, which starts the emulator")
}

// ---------------------------------------------------------------------------
// Log capture: every line the product logs during the run, for the tests that
// prove no secret is ever written.

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged so far in this test process.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

fn init_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| voicegate::telemetry::init_with_writer(|| CaptureWriter));
}

// ---------------------------------------------------------------------------

/// Demo password hashes, computed once per process (argon2 is deliberately slow).
async fn demo_hashes() -> &'static Vec<PasswordHash> {
    static HASHES: OnceCell<Vec<PasswordHash>> = OnceCell::const_new();
    HASHES
        .get_or_init(|| async {
            let mut out = Vec::new();
            for d in &DEMO_USERS {
                out.push(
                    voicegate::adapters::password::hash(d.password.to_owned())
                        .await
                        .expect("hash"),
                );
            }
            out
        })
        .await
}

/// The API's routes, written out from the contract rather than imported from
/// the app, so a route the code renames fails the tests instead of following it.
pub mod path {
    pub const HEALTH: &str = "/health";
    pub const JWKS: &str = "/.well-known/jwks.json";
    pub const REGISTER: &str = "/auth/register";
    pub const LOGIN: &str = "/auth/login";
    pub const REFRESH: &str = "/auth/refresh";
    pub const LOGOUT: &str = "/auth/logout";
    pub const ME: &str = "/auth/me";
    pub const OTP_REQUEST: &str = "/auth/otp/request";
    pub const OTP_VERIFY: &str = "/auth/otp/verify";
    pub const PHONE: &str = "/auth/phone";
    pub const PHONE_VERIFY: &str = "/auth/phone/verify";
    pub const PHONE_VERIFY_RESEND: &str = "/auth/phone/verify/resend";
    pub const CONNECTION_DETAILS: &str = "/connection-details";
    pub const ADMIN_LIVEKIT_TOKENS: &str = "/admin/livekit-tokens";
    pub const LIVEKIT_WEBHOOK: &str = "/livekit/webhook";
    pub const VOICE_SESSIONS: &str = "/voice-sessions";
    pub const OAUTH_TOKEN: &str = "/oauth/token";
    pub const OAUTH_INTROSPECT: &str = "/oauth/introspect";
    pub const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";

    /// `/voice-sessions/{session_id}/{action}` (`otp`, `otp/verify`, `step-up`, `step-up/verify`).
    pub fn in_call(session_id: &str, action: &str) -> String {
        format!("/voice-sessions/{session_id}/{action}")
    }
}

/// The local stage's demo users (the contract's demo data).
pub use voicegate_local::seed::{DemoUser, ADA, JANE, JOHN};

/// The password `TestApp::register` gives new accounts.
pub const DEMO_TEST_PASSWORD: &str = "a long enough password";

/// A fresh number in the 555 range, so tests never share an SMS outbox.
pub fn random_phone() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000;
    format!("+1555{n:07}")
}

pub struct Builder {
    env: HashMap<String, String>,
}

impl Builder {
    /// Sets a configuration variable for this app.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    pub async fn start(self) -> TestApp {
        init_logging();
        let endpoint = emulator_endpoint();
        let id = &uuid::Uuid::new_v4().simple().to_string()[..12];
        let mut env = HashMap::from([
            // The emulator answers slowly while many tests run at once; the
            // fault tests set production-like timeouts themselves.
            ("AWS_ATTEMPT_TIMEOUT_MS".to_owned(), "10000".to_owned()),
            ("AWS_OPERATION_TIMEOUT_MS".to_owned(), "30000".to_owned()),
            ("TABLE_NAME".to_owned(), format!("vg-{id}")),
            ("APP_SECRET_ID".to_owned(), format!("vg-{id}/app")),
            ("LIVEKIT_SECRET_ID".to_owned(), format!("vg-{id}/livekit")),
            (
                "AGENT_CLIENTS_SECRET_ID".to_owned(),
                format!("vg-{id}/agent-clients"),
            ),
            ("LIVEKIT_URL".to_owned(), "ws://127.0.0.1:7880".to_owned()),
        ]);
        env.extend(self.env);
        let config = Config::from_env(&env).expect("test config");
        // Every AWS call of this app goes through its own fault proxy.
        let faults = FaultProxy::start(&endpoint).await;
        let aws = AwsConfigs::shared(emulator_config(&faults.endpoint).await);
        let clock = Arc::new(ManualClock::starting_now());
        let state = Arc::new(
            stage(aws, config, clock.clone())
                .await
                .expect("provision test stage"),
        );

        let mut phones = HashMap::new();
        for (demo, hash) in DEMO_USERS.iter().zip(demo_hashes().await) {
            let phone = random_phone();
            demo.seed(&state, hash.clone(), Some(&phone))
                .await
                .expect("seed demo user");
            phones.insert(demo.user_id.to_owned(), phone);
        }
        faults.reset_calls();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = App::new(state.clone(), &Route::ALL);
        tokio::spawn(server::serve(app, listener, async {
            let _ = stopped.await;
        }));
        TestApp {
            base,
            clock,
            state,
            http: reqwest::Client::new(),
            emulator: endpoint,
            faults,
            phones,
            _stop: stop,
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub state: Arc<AppState>,
    pub http: reqwest::Client,
    pub emulator: String,
    /// The proxy every AWS call of this app goes through: faults and call counts.
    pub faults: FaultProxy,
    /// This app's phone number for each demo user id.
    pub phones: HashMap<String, String>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem document's `code`, asserting the problem+json shape.
    pub fn problem_code(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let doc = self.json();
        for key in ["type", "title", "status", "detail", "code", "request_id"] {
            assert!(doc.get(key).is_some(), "problem lacks {key}: {doc}");
        }
        assert_eq!(doc["status"], self.status, "{doc}");
        assert_eq!(
            Some(doc["request_id"].as_str().unwrap()),
            self.header("x-request-id")
        );
        doc["code"].as_str().unwrap().to_owned()
    }

    /// Header names, sorted, without `date` (for comparing two answers).
    pub fn header_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .headers
            .keys()
            .map(|k| k.to_string())
            .filter(|k| k != "date")
            .collect();
        v.sort();
        v
    }

    /// The body without its per-request id, for comparing two answers.
    pub fn body_without_request_id(&self) -> Value {
        let mut v = self.json();
        if let Some(o) = v.as_object_mut() {
            o.remove("request_id");
        }
        v
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn builder() -> Builder {
        Builder {
            env: HashMap::new(),
        }
    }

    /// Another instance of this stage (same table, secrets, clock and fault
    /// proxy) as a cold container would start: nothing cached. Served on its
    /// own port; the returned app shares everything else with this one.
    pub async fn cold_instance(&self) -> TestApp {
        let aws = AwsConfigs::shared(emulator_config(&self.faults.endpoint).await);
        let state = Arc::new(AppState::new(
            self.state.config.clone(),
            aws,
            self.clock.clone(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server::serve(
            App::new(state.clone(), &Route::ALL),
            listener,
            async {
                let _ = stopped.await;
            },
        ));
        TestApp {
            base,
            clock: self.clock.clone(),
            state,
            http: reqwest::Client::new(),
            emulator: self.emulator.clone(),
            faults: self.faults.clone(),
            phones: self.phones.clone(),
            _stop: stop,
        }
    }

    /// Delivers `body` to the webhook as LiveKit does: signed with the local
    /// stage's LiveKit secret, valid for 5 minutes.
    pub async fn post_webhook(&self, body: &str) -> Resp {
        let auth = livekit_webhook_auth(body, LOCAL_LIVEKIT_SECRET, 300).await;
        self.post_raw(
            path::LIVEKIT_WEBHOOK,
            Some("application/webhook+json"),
            body.as_bytes().to_vec(),
            &[("authorization", &auth)],
        )
        .await
    }

    /// A Secrets Manager client on the emulator (past the fault proxy), to
    /// rotate or break this app's secrets as an operator would.
    pub async fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&emulator_config(&self.emulator).await)
    }

    /// What a tool server of `audience` does with a tool token of this app
    /// (docs/agents/verify_tool_token.py against this app's JWKS and issuer).
    pub async fn tool_server_verify(
        &self,
        token: &str,
        audience: &str,
        scope: &str,
    ) -> Result<Value, String> {
        let jwks = self.url(path::JWKS);
        tool_server_verify(
            token,
            &jwks,
            &self.state.config.token_issuer,
            audience,
            scope,
        )
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and reads the whole answer, which must be as
    /// docs/openapi.yaml documents it (see [`contract::check`]).
    async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let (client, req) = req.build_split();
        let req = req.expect("request");
        let (method, path) = (req.method().to_string(), req.url().path().to_owned());
        let resp = client.execute(req).await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        contract::check(&method, &path, status, &headers, &text);
        Resp {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Resp {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn delete(&self, path: &str, bearer: &str) -> Resp {
        self.send(self.http.delete(self.url(path)).bearer_auth(bearer))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    pub async fn post_auth(&self, path: &str, bearer: &str, body: Value) -> Resp {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(bearer)
                .json(&body),
        )
        .await
    }

    /// A POST with exactly these bytes, content type and extra headers.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.http.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// A form POST, with `authorization` when given.
    pub async fn post_form(
        &self,
        path: &str,
        authorization: Option<&str>,
        pairs: &[(&str, &str)],
    ) -> Resp {
        let headers: Vec<(&str, &str)> = authorization
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.post_raw(
            path,
            Some("application/x-www-form-urlencoded"),
            form_encode(pairs).into_bytes(),
            &headers,
        )
        .await
    }

    /// RFC 8693 token exchange at `/oauth/token`: the voice session `sid` as
    /// subject, for the tool server `resource`, with `scope` when given.
    pub async fn token_exchange(
        &self,
        authorization: &str,
        sid: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> Resp {
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT),
            ("subject_token", sid),
            ("subject_token_type", VOICE_SESSION_TOKEN_TYPE),
            ("resource", resource),
        ];
        form.extend(scope.map(|s| ("scope", s)));
        self.post_form(path::OAUTH_TOKEN, Some(authorization), &form)
            .await
    }

    /// A POST from another loopback address (127.0.0.2, ...), which the API
    /// sees as another source IP: for per-source limits.
    pub async fn post_from(&self, source: &str, path: &str, body: Value) -> Resp {
        let client = reqwest::Client::builder()
            .local_address(source.parse::<std::net::IpAddr>().expect("source address"))
            .build()
            .expect("client");
        self.send(client.post(self.url(path)).json(&body)).await
    }

    /// A JSON POST with exactly these extra headers (repeated names are sent
    /// as repeated headers).
    pub async fn post_with_headers(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Resp {
        let mut req = self.http.post(self.url(path)).json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// A GET with exactly these extra headers.
    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// Registers an account and returns its token response.
    pub async fn register(&self, email: &str, phone: Option<&str>) -> Value {
        let mut body =
            json!({"email": email, "password": DEMO_TEST_PASSWORD, "full_name": "Grace Hopper"});
        if let Some(p) = phone {
            body["phone_number"] = json!(p);
        }
        let r = self.post(path::REGISTER, body).await;
        assert_eq!(r.status, 201, "register {email}: {}", r.text);
        r.json()
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        let r = self
            .post(
                path::LOGIN,
                json!({"email": email, "password": password, "platform": "web"}),
            )
            .await;
        assert_eq!(r.status, 200, "login {email}: {}", r.text);
        r.json()
    }

    /// Logs a demo user in with their password alone and returns the token
    /// response (for Jane, whose login asks for a code, use `login` steps).
    pub async fn login_as(&self, user: &DemoUser) -> Value {
        self.login(user.email, user.password).await
    }

    /// A demo user's access token, from a fresh password login.
    pub async fn access_token(&self, user: &DemoUser) -> String {
        self.login_as(user).await["access_token"]
            .as_str()
            .expect("a token response has access_token")
            .to_owned()
    }

    /// SMS messages sent to this app's phone for `user_id`, oldest first.
    pub async fn sms_to_user(&self, user_id: &str) -> Vec<String> {
        let phone = self.phones.get(user_id).expect("demo user").clone();
        self.sms_to_phone(&phone).await
    }

    pub async fn sms_to_phone(&self, phone: &str) -> Vec<String> {
        let data = self.emulator_data().await;
        // moto lists sent SMS in order, all regions merged.
        data["sns"]["SMS"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|msg| msg["phone_number"] == phone)
                    .filter_map(|msg| msg["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// moto's `/moto-api/data.json`. moto serialises its models while other
    /// tests change them, so a read can fail mid-way (a 500 that is not JSON):
    /// the status is checked and a failed read retried.
    async fn emulator_data(&self) -> Value {
        let url = format!("{}/moto-api/data.json", self.emulator);
        let mut last = String::new();
        for attempt in 0..20u64 {
            match self.http.get(&url).send().await {
                Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                    Ok(bytes) => match serde_json::from_slice(&bytes) {
                        Ok(v) => return v,
                        Err(e) => last = format!("not JSON: {e}"),
                    },
                    Err(e) => last = format!("body: {e}"),
                },
                Ok(resp) => last = format!("status {}", resp.status()),
                Err(e) => last = format!("request: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 * (attempt + 1))).await;
        }
        panic!("the emulator's data.json could not be read: {last}");
    }

    /// The code in the latest SMS to `user_id`.
    pub async fn latest_code(&self, user_id: &str) -> String {
        let sms = self.sms_to_user(user_id).await;
        let last = sms.last().unwrap_or_else(|| panic!("no SMS to {user_id}"));
        last[..6].to_owned()
    }

    /// A voice session as stored; panics if there is none.
    pub async fn voice_session(&self, id: &str) -> VoiceSession {
        let id = VoiceSessionId::parse(id).expect("a voice session id");
        self.state
            .db
            .voice_session(&id)
            .await
            .expect("read voice session")
            .unwrap_or_else(|| panic!("no voice session {id}"))
    }

    /// A raw item of this app's table.
    pub async fn item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Option<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.state.db.get(pk, sk).await.expect("get item")
    }

    /// The environment a deployed function of this app would get (template.yaml's
    /// variables), pointed at the emulator.
    pub fn lambda_env(&self) -> Vec<(String, String)> {
        let c = &self.state.config;
        // The emulator is slow under a full parallel run: the functions get
        // the same patient timeouts as the in-process app.
        let attempt_ms = c.aws_attempt_timeout.as_millis().to_string();
        let operation_ms = c.aws_operation_timeout.as_millis().to_string();
        let agent_clients = c.agent_clients_secret_id.as_deref().unwrap_or("");
        [
            ("AGENT_CLIENTS_SECRET_ID", agent_clients),
            ("AWS_ATTEMPT_TIMEOUT_MS", attempt_ms.as_str()),
            ("AWS_OPERATION_TIMEOUT_MS", operation_ms.as_str()),
            ("TABLE_NAME", c.table_name.as_str()),
            ("APP_SECRET_ID", c.app_secret_id.as_str()),
            ("LIVEKIT_SECRET_ID", c.livekit_secret_id.as_str()),
            ("LIVEKIT_URL", c.livekit_url.as_str()),
            ("AWS_ENDPOINT_URL", self.emulator.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("RUST_LOG", "info"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Every item of this app's table whose partition key starts with `prefix`
    /// (`SESSION#`, `USER#`, ...), all pages of the scan.
    pub async fn items(
        &self,
        prefix: &str,
    ) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .state
                .db
                .client
                .scan()
                .table_name(&self.state.db.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            out.extend(
                page.items()
                    .iter()
                    .filter(|i| {
                        i.get("pk")
                            .and_then(|v| v.as_s().ok())
                            .is_some_and(|pk| pk.starts_with(prefix))
                    })
                    .cloned(),
            );
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return out;
            }
        }
    }

    /// Every item of this app's table, as debug text (for "never stored in clear" checks).
    pub async fn table_dump(&self) -> String {
        format!("{:?}", self.items("").await)
    }
}

// ---------------------------------------------------------------------------
// LiveKit's own SDKs, run as the tools `make test` installs.

fn tool(path: &str) -> PathBuf {
    let p = repo_root().join(path);
    assert!(
        p.exists(),
        "{} is missing: run `make test`, which installs it",
        p.display()
    );
    p
}

async fn run_json(program: PathBuf, script: &str, input: &Value) -> Result<Value, String> {
    let mut child = tokio::process::Command::new(program)
        .arg(tool(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn SDK script");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(input.to_string().as_bytes())
        .await
        .expect("write stdin");
    drop(stdin);
    let out = child.wait_with_output().await.expect("SDK script output");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let value: Value = serde_json::from_str(&stdout).unwrap_or_else(
        |_| json!({"error": format!("{stdout} {}", String::from_utf8_lossy(&out.stderr))}),
    );
    if out.status.success() {
        Ok(value)
    } else {
        Err(value["error"].as_str().unwrap_or("failed").to_owned())
    }
}

fn python() -> PathBuf {
    tool(".tools/livekit/bin/python")
}

/// Runs docs/agents/verify_tool_token.py, the tool-server verifier agents.md
/// shows, as is: the verified claims, or why it refused.
pub async fn tool_server_verify(
    token: &str,
    jwks_uri: &str,
    issuer: &str,
    audience: &str,
    scope: &str,
) -> Result<Value, String> {
    run_json(
        python(),
        "docs/agents/verify_tool_token.py",
        &json!({"token": token, "jwks_uri": jwks_uri, "issuer": issuer,
                "audience": audience, "scope": scope}),
    )
    .await
}

/// Digits as speech-to-text hands them to the agent: "one two three ...".
pub fn spoken(code: &str) -> String {
    const WORDS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    code.chars()
        .map(|c| WORDS[c.to_digit(10).expect("a digit") as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 8693's grant type, and the subject token type of a voice session.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const VOICE_SESSION_TOKEN_TYPE: &str = "urn:voicegate:token-type:voice-session";

/// `Authorization: Basic` for a client (RFC 6749 §2.3.1).
pub fn basic_auth(client_id: &str, secret: &str) -> String {
    use base64::Engine;
    let encode = |s: &str| form_encode(&[("", s)])[1..].to_owned();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(client_id),
            encode(secret)
        ))
    )
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Verifies a LiveKit token with the Python `livekit-api` SDK's TokenVerifier.
pub async fn livekit_python_verify(token: &str, key: &str, secret: &str) -> Result<Value, String> {
    run_json(
        python(),
        "tests/livekit/verify_token.py",
        &json!({"api_key": key, "api_secret": secret, "token": token}),
    )
    .await
}

/// Claims of a token minted with the local LiveKit credentials, as the Python
/// SDK verifies them; panics if the SDK refuses the token.
pub async fn livekit_verified(token: &str) -> Value {
    livekit_python_verify(token, LOCAL_LIVEKIT_KEY, LOCAL_LIVEKIT_SECRET)
        .await
        .unwrap_or_else(|e| panic!("LiveKit's Python SDK refused our token: {e}"))
}

/// Verifies a LiveKit token with the Node `livekit-server-sdk` TokenVerifier.
pub async fn livekit_node_verify(token: &str, key: &str, secret: &str) -> Result<Value, String> {
    run_json(
        "node".into(),
        "tests/livekit/verify_token.mjs",
        &json!({"api_key": key, "api_secret": secret, "token": token}),
    )
    .await
}

/// Fetches connection details with the LiveKit client SDK's `TokenSource.endpoint`.
pub async fn livekit_token_source(
    url: &str,
    headers: Value,
    request: Value,
) -> Result<Value, String> {
    run_json(
        "node".into(),
        "tests/livekit/token_source.mjs",
        &json!({"url": url, "headers": headers, "request": request}),
    )
    .await
}

/// The `Authorization` value LiveKit would send for `body` (Python SDK).
pub async fn livekit_webhook_auth(body: &str, secret: &str, ttl_seconds: i64) -> String {
    let v = run_json(
        python(),
        "tests/livekit/sign_webhook.py",
        &json!({"api_key": LOCAL_LIVEKIT_KEY, "api_secret": secret, "body": body, "ttl_seconds": ttl_seconds, "json": true}),
    )
    .await
    .expect("sign webhook");
    v["authorization"]
        .as_str()
        .expect("authorization")
        .to_owned()
}

/// Decodes a JWT's payload without verifying it (to build forgeries).
pub fn jwt_payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).expect("jwt payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("b64"),
    )
    .expect("json")
}

/// Starts `n` calls of `f` on the runtime's threads, releases them together
/// from a barrier (so they really race), and collects their outputs in order.
pub async fn race<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, call) = (barrier.clone(), f(i));
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("racing task panicked"));
    }
    out
}

/// Runs futures concurrently on the runtime's threads and collects their outputs in order.
pub async fn spawn_all<F, T>(futs: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task panicked"));
    }
    out
}
