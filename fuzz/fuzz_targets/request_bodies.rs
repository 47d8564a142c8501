//! Request bodies as the edge parses them (serde with the typed fields,
//! errors that name the field and never echo the value), and the API Gateway
//! event parser the Lambdas run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use voicegate::error::ApiError;
use voicegate::http::parse_json;
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

/// A refusal names a rule, never the input it refused.
fn check(result: Result<impl Sized, ApiError>, input: &[u8]) {
    if let Err(ApiError::InvalidRequest(detail)) = result {
        if let Ok(text) = std::str::from_utf8(input) {
            for secret in text.split('"').filter(|s| s.len() >= 12) {
                assert!(!detail.contains(secret), "detail echoes input: {detail}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(parse_json::<Register>(data), data);
    check(parse_json::<Login>(data), data);
    check(parse_json::<Verify>(data), data);
    let _ = parse_json::<serde_json::Value>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lambda_http::request::from_str(text);
    }
});
