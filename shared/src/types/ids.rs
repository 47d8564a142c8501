//! Identifiers: of users, auth sessions, voice sessions and request sources.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{spoken_digit, words, ParseError};

/// A user ID: `u` followed by 1 to [`UserId::MAX_DIGITS`] digits.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub const MAX_DIGITS: usize = 20;

    /// Parses a typed or spoken user ID: `u001`, `U001`, `u 0 0 1`,
    /// `u zero zero one`, `you zero zero one`.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let mut out = String::new();
        for word in words(input) {
            if out.is_empty() && (word == "you" || word == "u") {
                out.push('u');
            } else if let Some(d) = spoken_digit(&word) {
                out.push(d);
            } else if word.chars().all(|c| c.is_ascii_alphanumeric()) {
                out.push_str(&word);
            } else {
                return Err(ParseError("must be a user ID like u001"));
            }
        }
        Self::from_canonical(out)
    }

    fn from_canonical(s: String) -> Result<Self, ParseError> {
        let digits = s.strip_prefix('u').unwrap_or("");
        if digits.is_empty()
            || digits.len() > Self::MAX_DIGITS
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ParseError("must be a user ID like u001"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<UserId> for String {
    fn from(u: UserId) -> String {
        u.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

/// An auth session's id: 32 lower-case hex digits (a UUIDv4 without dashes).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AuthSessionId(String);

impl AuthSessionId {
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self(s.to_owned()))
            .ok_or(ParseError("must be a session id"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AuthSessionId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<AuthSessionId> for String {
    fn from(id: AuthSessionId) -> String {
        id.0
    }
}

impl fmt::Display for AuthSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AuthSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthSessionId({})", self.0)
    }
}

/// A voice session's id, `vs_` and 16 hex digits: the random part of its room's name.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VoiceSessionId(String);

impl VoiceSessionId {
    /// A fresh id for a session not named after its room (agent-opened).
    pub fn new_random() -> Self {
        Self(format!(
            "vs_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        ))
    }

    /// The id for the random part of a room name.
    pub fn from_random_part(hex16: &str) -> Result<Self, ParseError> {
        Self::parse(&format!("vs_{hex16}"))
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = s.strip_prefix("vs_").is_some_and(|hex| {
            hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        ok.then(|| Self(s.to_owned()))
            .ok_or(ParseError("must be a voice session id"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for VoiceSessionId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<VoiceSessionId> for String {
    fn from(id: VoiceSessionId) -> String {
        id.0
    }
}

impl fmt::Display for VoiceSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for VoiceSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VoiceSessionId({})", self.0)
    }
}

/// The caller's address as API Gateway saw it (`requestContext.http.sourceIp`),
/// the key of every per-source limit. Never taken from `X-Forwarded-For`,
/// which the client controls.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceIp(String);

impl SourceIp {
    pub fn from_addr(ip: Option<std::net::IpAddr>) -> Self {
        Self(ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
