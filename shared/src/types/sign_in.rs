//! Values of the passkey and federated sign-ins.

use std::fmt;

use const_format::formatcp;
use serde::{Deserialize, Serialize};

use super::names::display_text;
use super::ParseError;

/// A passkey ceremony's id: 32 lower-case hex digits, random. It finds the
/// ceremony's stored state; the challenge inside is what the authenticator signs.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CeremonyId(String);

impl CeremonyId {
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self(s.to_owned()))
            .ok_or(ParseError("must be a ceremony id"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CeremonyId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<CeremonyId> for String {
    fn from(id: CeremonyId) -> String {
        id.0
    }
}

impl fmt::Display for CeremonyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CeremonyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CeremonyId({})", self.0)
    }
}

/// A passkey's id: its WebAuthn credential id, unpadded base64url (as the
/// browser's `PublicKeyCredential.id`). Credential ids are at most 1023
/// bytes (WebAuthn Level 3 §5.8.3).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PasskeyId(String);

impl PasskeyId {
    /// 1023 bytes in unpadded base64url.
    pub const MAX_CHARS: usize = 1364;

    pub fn from_bytes(credential_id: &[u8]) -> Self {
        use base64::Engine;
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(credential_id))
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = (16..=Self::MAX_CHARS).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(s.to_owned()))
            .ok_or(ParseError("must be a passkey id"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PasskeyId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<PasskeyId> for String {
    fn from(id: PasskeyId) -> String {
        id.0
    }
}

impl fmt::Display for PasskeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PasskeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasskeyId({})", self.0)
    }
}

/// The label a user gives a passkey ("iPhone", "work laptop"), shown back in
/// their list: display text, 1 to [`PasskeyName::MAX_CHARS`] characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PasskeyName(String);

impl PasskeyName {
    pub const MAX_CHARS: usize = 64;
    const LENGTH_RULE: &str = formatcp!("must be 1 to {} characters", PasskeyName::MAX_CHARS);

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        display_text(input, Self::MAX_CHARS, Self::LENGTH_RULE).map(Self)
    }

    /// The name of a passkey registered without one.
    pub fn unnamed() -> Self {
        Self("passkey".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PasskeyName {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<PasskeyName> for String {
    fn from(n: PasskeyName) -> String {
        n.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_parse_by_their_rules() {
        let c = CeremonyId::new_random();
        assert_eq!(CeremonyId::parse(c.as_str()), Ok(c));
        for bad in ["", "ABCDEF0123456789abcdef0123456789", "x", &"a".repeat(33)] {
            assert!(CeremonyId::parse(bad).is_err(), "{bad}");
        }
        let p = PasskeyId::from_bytes(&[0xfb; 32]);
        assert_eq!(p.as_str(), "-_v7".repeat(10) + "-_s");
        assert_eq!(PasskeyId::parse(p.as_str()), Ok(p));
        for bad in [
            "short",
            "has+plus/slash=====",
            &"a".repeat(1365),
            "a b c d e f g h i j",
        ] {
            assert!(PasskeyId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PasskeyName::parse("  my   iPhone ").unwrap().as_str(),
            "my iPhone"
        );
        for bad in ["", "   ", &"x".repeat(65), "evil\u{202e}name"] {
            assert!(PasskeyName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
