//! What proves who someone is, and what is kept of it: passwords, one-time
//! codes and their digests. All of them redact themselves in `Debug`.

use std::fmt;

use const_format::formatcp;
use serde::Deserialize;

use super::{spoken_digit, words, ParseError};

/// A new password: [`NewPassword::MIN_CHARS`] to [`NewPassword::MAX_CHARS`]
/// characters, kept exactly as given (no trimming,
/// no normalisation), redacted in `Debug`.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;
    const LENGTH_RULE: &str = formatcp!(
        "must be {} to {} characters",
        NewPassword::MIN_CHARS,
        NewPassword::MAX_CHARS
    );

    pub fn parse(s: String) -> Result<Self, ParseError> {
        let n = s.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(ParseError(Self::LENGTH_RULE));
        }
        Ok(Self(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NewPassword {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

const LOGIN_PASSWORD_RULE: &str = formatcp!("must be 1 to {} characters", NewPassword::MAX_CHARS);

/// A password presented at login. Only bounded in size (so a huge body cannot
/// make hashing expensive); whether it is right is the hash's business.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct LoginPassword(String);

impl LoginPassword {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LoginPassword {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        if s.is_empty() || s.chars().count() > NewPassword::MAX_CHARS {
            return Err(ParseError(LOGIN_PASSWORD_RULE));
        }
        Ok(Self(s))
    }
}

impl fmt::Debug for LoginPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginPassword(<redacted>)")
    }
}

/// A 6-digit one-time code, leading zeros kept. Redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct OtpCode(String);

impl OtpCode {
    pub const LEN: usize = 6;
    const RULE: &str = formatcp!("must be a {}-digit code", OtpCode::LEN);

    /// Accepts `123456`, `123 456`, `one two three four five six`, with
    /// `oh`/`o` for zero.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let mut out = String::with_capacity(Self::LEN);
        for word in words(input) {
            if let Some(d) = spoken_digit(&word) {
                out.push(d);
            } else if word.bytes().all(|b| b.is_ascii_digit()) {
                out.push_str(&word);
            } else {
                return Err(ParseError(OtpCode::RULE));
            }
        }
        if out.len() != Self::LEN {
            return Err(ParseError(Self::RULE));
        }
        Ok(Self(out))
    }

    /// Builds a code from a number below one million (the generator's output).
    pub fn from_number(n: u32) -> Self {
        debug_assert!(n < 1_000_000);
        Self(format!("{:06}", n % 1_000_000))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OtpCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

/// The SHA-256 (hex) of a refresh token: what is stored and compared, never
/// the token.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshHash(String);

impl RefreshHash {
    pub fn from_hex(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshHash(<redacted>)")
    }
}

/// An argon2id PHC string: what is kept of a password.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// The keyed MAC (hex) of a one-time code: what is kept of a code.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeMac(String);

impl CodeMac {
    pub fn from_hex(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CodeMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeMac(<redacted>)")
    }
}
