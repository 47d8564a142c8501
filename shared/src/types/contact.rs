//! How a person is reached: email address and phone number.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::text;
use super::{text_rule, ParseError, HIDDEN_RULE};

/// An email address: NFKC-normalised, trimmed and lower-cased, so
/// `ＪＯＨＮ@example.com` is `john@example.com`. Invisible or format characters
/// and words mixing scripts are refused (see [`crate::text`]).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const RULE: &str = "must be an email address";
        if input.chars().any(text::is_hidden) {
            return Err(ParseError(HIDDEN_RULE));
        }
        let s = text::nfkc(input).trim().to_lowercase();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError(RULE));
        }
        let (local, domain) = s.split_once('@').ok_or(ParseError(RULE))?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(ParseError(RULE));
        }
        text::check(&s, &['@', '.', '+', '-', '_']).map_err(text_rule)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The confusable skeleton: two emails that look alike share it.
    pub fn skeleton(&self) -> String {
        text::skeleton(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// An E.164 phone number: `+` then [`Phone::DIGITS`] digits, no leading zero.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// E.164 allows at most 15 digits; 2 is the shortest a country code and
    /// subscriber number can make.
    pub const DIGITS: std::ops::RangeInclusive<usize> = 2..=15;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let digits = input.strip_prefix('+').unwrap_or("");
        let ok = Self::DIGITS.contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !ok {
            return Err(ParseError(
                "must be an E.164 phone number like +15555550100",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// The full number, for SNS only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `+1******0100`: country prefix digit and last four, the rest starred.
    pub fn masked(&self) -> String {
        let s = &self.0;
        // Short numbers show less, so at least half of the digits stay hidden.
        let keep_tail = 4.min((s.len() - 2) / 2);
        let head = &s[..2];
        let tail = &s[s.len() - keep_tail..];
        format!("{head}{}{tail}", "*".repeat(s.len() - 2 - keep_tail))
    }
}

impl TryFrom<String> for Phone {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// A keyed hash of a phone number (HMAC-SHA256 under a secret), which names
/// the number in keys without storing it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneIndex(String);

impl PhoneIndex {
    pub fn from_hex(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
