//! Text people read: display names.

use const_format::formatcp;
use serde::{Deserialize, Serialize};

use super::text;
use super::{text_rule, ParseError, HIDDEN_RULE};

/// Text a person will read or hear (a name, a payee): refused if it has
/// invisible or format characters, then NFKC, trimmed, inner whitespace
/// collapsed to single spaces, 1 to `max_chars` characters (else
/// `length_rule`), no word mixing scripts.
pub(crate) fn display_text(
    input: &str,
    max_chars: usize,
    length_rule: &'static str,
) -> Result<String, ParseError> {
    if input.chars().any(text::is_hidden) {
        return Err(ParseError(HIDDEN_RULE));
    }
    let s = text::nfkc(input)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let n = s.chars().count();
    if n == 0 || n > max_chars {
        return Err(ParseError(length_rule));
    }
    text::check(&s, &[]).map_err(text_rule)?;
    Ok(s)
}

/// A person's display name as the voice agent will read it: NFKC, trimmed,
/// inner whitespace collapsed to single spaces, 1 to [`FullName::MAX_CHARS`] characters, no
/// invisible or format characters, no word mixing scripts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FullName(String);

impl FullName {
    pub const MAX_CHARS: usize = 100;
    const LENGTH_RULE: &str = formatcp!("must be 1 to {} characters", FullName::MAX_CHARS);

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        display_text(input, Self::MAX_CHARS, Self::LENGTH_RULE).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FullName {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<FullName> for String {
    fn from(n: FullName) -> String {
        n.0
    }
}
