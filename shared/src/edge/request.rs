//! What the edge reads from a request: its metadata (request id, source IP),
//! the body rules (size, JSON content type, typed parsing that names the
//! failing field) and the one `Authorization` header.

use std::net::IpAddr;

use http::header::CONTENT_TYPE;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

use crate::edge::error::ApiError;
use crate::types::SourceIp;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What the edge knows about a request before any route runs.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    /// API Gateway's request id when there is one, else a fresh UUID.
    pub request_id: String,
    /// The caller's address from API Gateway's request context. Never taken
    /// from `X-Forwarded-For`, which the client controls.
    pub source_ip: SourceIp,
}

impl RequestMeta {
    pub fn of(req: &Request) -> Self {
        let ctx = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => Some(ctx),
            _ => None,
        };
        let request_id = ctx
            .and_then(|c| c.request_id.clone())
            .filter(|id| !id.is_empty() && id.len() <= 128)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let source_ip = SourceIp::from_addr(
            ctx.and_then(|c| c.http.source_ip.as_deref())
                .and_then(|ip| ip.parse::<IpAddr>().ok()),
        );
        Self {
            request_id,
            source_ip,
        }
    }
}

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(s) => s.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

fn is_json_content_type(req: &Request) -> bool {
    let Some(value) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The raw body after the size and content-type rules. An empty body is
/// allowed only when `allow_empty` (routes whose fields are all optional).
pub fn checked_body(req: &Request, allow_empty: bool) -> Result<&[u8], ApiError> {
    let body = body_bytes(req);
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        });
    }
    if body.is_empty() && allow_empty {
        return Ok(body);
    }
    if !is_json_content_type(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("The body must be a JSON object."));
    }
    Ok(body)
}

/// Parses a required JSON body into `T`.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    parse_json(checked_body(req, false)?)
}

/// Parses an optional JSON body: empty means `T::default()`.
pub fn json_body_or_default<T: DeserializeOwned + Default>(req: &Request) -> Result<T, ApiError> {
    let body = checked_body(req, true)?;
    if body.is_empty() {
        return Ok(T::default());
    }
    parse_json(body)
}

/// Deserialises, naming the failing field without echoing its value
/// (serde's own messages quote the offending input, which may be a password).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid("The body is not valid JSON.");
        }
        ApiError::invalid(describe_data_error(&path, &inner.to_string()))
    })
}

fn describe_data_error(path: &str, message: &str) -> String {
    // serde_json appends " at line L column C"; drop it.
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(field) = message.strip_prefix("missing field ") {
        let field = field.trim_matches('`');
        return if path == "." {
            format!("`{field}` is required.")
        } else {
            format!("`{path}.{field}` is required.")
        };
    }
    let field = if path == "." {
        "body".to_owned()
    } else {
        format!("`{path}`")
    };
    if message.starts_with("invalid type:") {
        let expected = message
            .rsplit(", expected ")
            .next()
            .unwrap_or("another type");
        return format!("{field} has the wrong type: expected {expected}.");
    }
    if message.starts_with("invalid value:") || message.starts_with("unknown variant") {
        let expected = message
            .rsplit(", expected ")
            .next()
            .unwrap_or("another value");
        return format!("{field} has an unexpected value: expected {expected}.");
    }
    // Our own parsers' messages name a rule and never the value.
    format!("{field} {message}.")
}

/// A form body (`application/x-www-form-urlencoded`), each field once.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    }

    /// The field as given, empty included.
    pub fn raw(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    pub fn required(&self, name: &str) -> Result<String, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::invalid(format!("`{name}` is required.")))
    }
}

/// Parses a form body under the size rule. A field given twice is refused
/// (RFC 6749 §3.2: parameters must not be repeated), naming the field only.
pub fn form_body(req: &Request) -> Result<Form, ApiError> {
    let body = body_bytes(req);
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        });
    }
    let essence = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if essence.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| ApiError::invalid("The body is not a valid form."))?;
    for (i, (name, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(n, _)| n == name) {
            return Err(ApiError::invalid("A field is given more than once."));
        }
    }
    Ok(Form(pairs))
}

/// The one `Authorization` value of a request. A request carrying several
/// (or one that API Gateway made by joining several with a comma) has none:
/// which of them would count is exactly what an attacker wants to choose.
pub fn single_authorization(req: &Request) -> Option<&str> {
    let mut values = req.headers().get_all(http::header::AUTHORIZATION).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() || value.contains(',') {
        return None;
    }
    Some(value.trim())
}

/// The bearer token from the single `Authorization` header, if there is one.
pub fn bearer_token(req: &Request) -> Option<&str> {
    let (scheme, token) = single_authorization(req)?.split_once(' ')?;
    let token = token.trim();
    let plain = !token.is_empty() && !token.contains(char::is_whitespace);
    (scheme.eq_ignore_ascii_case("bearer") && plain).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Email, NewPassword};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Register {
        email: Email,
        password: NewPassword,
        age: Option<u32>,
    }

    fn detail(body: &str) -> String {
        match parse_json::<Register>(body.as_bytes()) {
            Err(ApiError::InvalidRequest(d)) => d,
            other => panic!("expected invalid request, got {other:?}"),
        }
    }

    #[test]
    fn names_the_field_and_never_echoes_values() {
        assert_eq!(
            detail(r#"{"password":"correct-horse-battery"}"#),
            "`email` is required."
        );
        let d = detail(r#"{"email":"x@y.io","password":"tiny-secret"}"#);
        assert!(
            d.contains("`password`") && !d.contains("tiny-secret"),
            "{d}"
        );
        let d =
            detail(r#"{"email":"x@y.io","password":"long-enough-pass","age":"old-secret-value"}"#);
        assert!(
            d.contains("`age`") && !d.contains("old-secret-value"),
            "{d}"
        );
        let d = detail(r#"{"email":12345678,"password":"long-enough-pass"}"#);
        assert!(d.contains("`email`") && !d.contains("12345678"), "{d}");
        assert_eq!(detail("{not json"), "The body is not valid JSON.");
        assert!(detail("[]").contains("body"));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert!(parse_json::<Register>(
            br#"{"email":"x@y.io","password":"long-enough-pass","extra":1}"#
        )
        .is_ok());
    }
}
