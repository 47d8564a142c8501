//! What an admin may put into a LiveKit token: identity, room and display
//! name, metadata and lifetime, each bounded and free of hidden text.

use std::time::Duration;

use const_format::formatcp;
use serde::Deserialize;

use super::text;
use super::{text_rule, ParseError};

/// An identity, room name or display name: 1 to [`TokenText::MAX_CHARS`]
/// characters, no invisible, control or format characters.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TokenText(String);

impl TokenText {
    pub const MAX_CHARS: usize = 128;
    const LENGTH_RULE: &str = formatcp!("must be 1 to {} characters", TokenText::MAX_CHARS);

    pub fn parse(s: String) -> Result<Self, ParseError> {
        bounded(&s, 1, Self::MAX_CHARS, Self::LENGTH_RULE)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TokenText {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

/// Participant metadata: at most [`TokenMetadata::MAX_CHARS`] characters, no
/// hidden ones. An empty string is no metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TokenMetadata(String);

impl TokenMetadata {
    pub const MAX_CHARS: usize = 4096;
    const LENGTH_RULE: &str = formatcp!("must be at most {} characters", TokenMetadata::MAX_CHARS);

    pub fn parse(s: String) -> Result<Self, ParseError> {
        bounded(&s, 0, Self::MAX_CHARS, Self::LENGTH_RULE)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TokenMetadata {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

fn bounded(s: &str, min: usize, max: usize, rule: &'static str) -> Result<(), ParseError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(ParseError(rule));
    }
    if s.chars().any(text::is_hidden) {
        return Err(text_rule(text::TextProblem::Hidden));
    }
    Ok(())
}

/// How long an admin-minted token lives: [`AdminTokenTtl::MIN_SECONDS`] to
/// [`AdminTokenTtl::MAX_SECONDS`] seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u64")]
pub struct AdminTokenTtl(u64);

impl AdminTokenTtl {
    pub const MIN_SECONDS: u64 = 60;
    pub const MAX_SECONDS: u64 = 86_400;
    const RULE: &str = formatcp!(
        "must be between {} and {} seconds",
        AdminTokenTtl::MIN_SECONDS,
        AdminTokenTtl::MAX_SECONDS
    );

    pub fn seconds(self) -> u64 {
        self.0
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl TryFrom<u64> for AdminTokenTtl {
    type Error = ParseError;
    fn try_from(seconds: u64) -> Result<Self, ParseError> {
        if (Self::MIN_SECONDS..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(ParseError(Self::RULE))
        }
    }
}
