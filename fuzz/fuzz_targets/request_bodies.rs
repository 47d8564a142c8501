//! Request bodies as the edge parses them (serde with the typed fields,
//! errors that name the field and never echo the value), and the API Gateway
//! event parser the Lambdas run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use voicegate::edge::error::ApiError;
use voicegate::edge::request::parse_json;
use voicegate::types::{Email, FullName, LoginPassword, NewPassword, OtpCode, Phone, Platform, UserId};

#[allow(dead_code)]
#[derive(Deserialize)]
struct Register {
    email: Email,
    password: NewPassword,
    full_name: FullName,
    phone_number: Option<Phone>,
    platform: Option<Platform>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Login {
    email: Email,
    password: LoginPassword,
    otp_code: Option<OtpCode>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Verify {
    user_id: UserId,
    otp: OtpCode,
}

const MARKER: &str = "ZQZQZQZQZQZQZQZQ";

/// The detail of a refused body, if it was refused for its content.
fn detail(data: &[u8]) -> Option<String> {
    let results = [
        parse_json::<Register>(data).err(),
        parse_json::<Login>(data).err(),
        parse_json::<Verify>(data).err(),
    ];
    results.into_iter().flatten().find_map(|e| match e {
        ApiError::InvalidRequest(d) => Some(d),
        _ => None,
    })
}

/// A refusal names a rule, never a value: with any one string value of the
/// body replaced by a marker, the marker never shows in the detail.
fn never_echoes(data: &[u8]) {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for key in map.keys() {
        if !map[key].is_string() {
            continue;
        }
        let mut marked = map.clone();
        marked.insert(key.clone(), serde_json::Value::String(MARKER.into()));
        let bytes = serde_json::to_vec(&marked).expect("a map serialises");
        if let Some(d) = detail(&bytes) {
            assert!(!d.contains(MARKER), "detail echoes the value of {key}: {d}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = detail(data);
    never_echoes(data);
    let _ = parse_json::<serde_json::Value>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lambda_http::request::from_str(text);
    }
});
