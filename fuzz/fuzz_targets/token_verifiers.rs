//! The token verifiers on arbitrary tokens: access tokens (ES256 against
//! derived keys), LiveKit webhook signatures (HS256), refresh token shapes.
//! Nothing the fuzzer makes without the keys may verify.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use voicegate::adapters::secrets::{LiveKitCredentials, Secrets};

fn secrets() -> &'static Secrets {
    static S: OnceLock<Secrets> = OnceLock::new();
    S.get_or_init(|| {
        voicegate::adapters::secrets::install_crypto_provider();
        Secrets::parse(r#"{"signing_kid":"k1","seed":"0123456789abcdef0123456789abcdef"}"#)
        .expect("fixed test secrets parse")
    })
}

fuzz_target!(|token: &str| {
    let s = secrets();
    assert!(voicegate::domain::access_tokens::verify(s, "voicegate", "voicegate-api", 1_700_000_000, token).is_err());
    let creds = LiveKitCredentials {
        api_key: "devkey".into(),
        api_secret: "secret".into(),
    };
    assert!(voicegate::domain::livekit::verify_webhook(&creds, token, token.as_bytes()).is_err());
    let _ = voicegate::domain::auth_sessions::RefreshToken::parse(token);
});
