//! What an agent deployment presents: its client id, the tool server it wants
//! a token for, the scopes it asks, and the transaction a caller confirms.

use std::collections::BTreeSet;
use std::fmt;

use const_format::formatcp;
use serde::{Deserialize, Serialize};

use super::names::display_text;
use super::text;
use super::ParseError;

/// An agent client's id: 1 to [`ClientId::MAX_CHARS`] of `a-z 0-9 - _ .`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub const MAX_CHARS: usize = 64;
    const RULE: &str = formatcp!(
        "must be 1 to {} characters of a-z, 0-9, '-', '_' or '.'",
        ClientId::MAX_CHARS
    );

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = (1..=Self::MAX_CHARS).contains(&s.len())
            && s.bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.'));
        ok.then(|| Self(s.to_owned())).ok_or(ParseError(Self::RULE))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<ClientId> for String {
    fn from(c: ClientId) -> String {
        c.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tool server's identifier (RFC 8707 `resource`): an absolute `https`
/// URI without a fragment (`http` only for loopback hosts, for local tests).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Resource(String);

impl Resource {
    pub const MAX_CHARS: usize = 256;
    const RULE: &str = formatcp!(
        "must be an absolute https URI without a fragment, at most {} characters",
        Resource::MAX_CHARS
    );

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let refuse = || ParseError(Self::RULE);
        if s.len() > Self::MAX_CHARS || s.contains('#') || s.chars().any(|c| c.is_whitespace()) {
            return Err(refuse());
        }
        let rest = if let Some(rest) = s.strip_prefix("https://") {
            rest
        } else {
            let rest = s.strip_prefix("http://").ok_or_else(refuse)?;
            let host = rest.split(['/', ':']).next().unwrap_or("");
            if host != "127.0.0.1" && host != "localhost" {
                return Err(refuse());
            }
            rest
        };
        let host = rest.split(['/', '?']).next().unwrap_or("");
        if host.is_empty() || s.chars().any(text::is_hidden) {
            return Err(refuse());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Resource {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<Resource> for String {
    fn from(r: Resource) -> String {
        r.0
    }
}

/// What a tool token lets the agent do with the caller's account; the same
/// words as a user's permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    /// Moves money: only with a confirmed step-up, once.
    Transact,
    Configure,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Transact, Scope::Configure];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Transact => "transact",
            Scope::Configure => "configure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A set of scopes, written space-separated on the wire (RFC 6749 §3.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// Parses `scope`: known words separated by single spaces. An unknown
    /// word is an error (the caller answers `invalid_scope`).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        s.split(' ')
            .map(|w| Scope::parse(w).ok_or(ParseError("names a scope that does not exist")))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// The scopes among `words` (a user's permissions); others are ignored.
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        Self(words.into_iter().filter_map(Scope::parse).collect())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.intersection(&other.0).copied().collect())
    }

    pub fn without(&self, scope: Scope) -> Scopes {
        Scopes(self.0.iter().copied().filter(|s| *s != scope).collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&words.join(" "))
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let words = Vec::<String>::deserialize(d)?;
        words
            .iter()
            .map(|w| Scope::parse(w).ok_or_else(|| serde::de::Error::custom("unknown scope")))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }
}

/// A money movement the caller confirms by code (PSD2 dynamic linking): the
/// code is bound to exactly this description, in its canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// What kind of movement: `transfer`, `payment`, ... (`a-z` and `_`).
    #[serde(rename = "type")]
    pub kind: TransactionKind,
    /// A decimal string with at most two decimals, kept canonical (`250.00`).
    pub amount: Amount,
    /// ISO 4217 code, upper case.
    pub currency: Currency,
    /// Who receives it, as the caller will hear and read it.
    pub payee: Payee,
}

impl Transaction {
    /// The one text the code is bound to and the token carries: field order
    /// fixed, every field already canonical.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("a transaction serialises")
    }

    /// Reads back what [`Transaction::canonical`] wrote.
    pub fn from_canonical(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }

    /// How the SMS and the agent say it: `250.00 EUR to ACME Ltd`.
    pub fn spoken(&self) -> String {
        format!(
            "{} {} to {}",
            self.amount.as_str(),
            self.currency.as_str(),
            self.payee.as_str()
        )
    }
}

macro_rules! text_newtype {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, ParseError> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransactionKind(String);
text_newtype!(TransactionKind);

impl TransactionKind {
    pub const MAX_CHARS: usize = 32;
    const RULE: &str = formatcp!(
        "must be 1 to {} characters of a-z and '_'",
        TransactionKind::MAX_CHARS
    );

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = (1..=Self::MAX_CHARS).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        ok.then(|| Self(s.to_owned())).ok_or(ParseError(Self::RULE))
    }
}

/// A positive amount, canonical with exactly two decimals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Amount(String);
text_newtype!(Amount);

impl Amount {
    pub const MAX_INTEGER_DIGITS: usize = 12;
    const RULE: &str = formatcp!(
        "must be a positive decimal string with up to {} digits and at most 2 decimals, like \"250.00\"",
        Amount::MAX_INTEGER_DIGITS
    );

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let refuse = || ParseError(Self::RULE);
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || int.len() > Self::MAX_INTEGER_DIGITS
            || frac.len() > 2
            || (s.contains('.') && frac.is_empty())
            || !digits(int)
            || !digits(frac)
        {
            return Err(refuse());
        }
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        let canonical = format!("{int}.{frac:0<2}");
        if canonical == "0.00" {
            return Err(refuse());
        }
        Ok(Self(canonical))
    }
}

/// An ISO 4217 alphabetic code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);
text_newtype!(Currency);

impl Currency {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase());
        ok.then(|| Self(s.to_owned())).ok_or(ParseError(
            "must be an ISO 4217 code of three capital letters",
        ))
    }
}

/// The payee's name as the caller hears it in the SMS: the display-text rules
/// of [`super::FullName`] (NFKC, no hidden characters, no mixed scripts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Payee(String);
text_newtype!(Payee);

impl Payee {
    pub const MAX_CHARS: usize = 70;
    const LENGTH_RULE: &str = formatcp!("must be 1 to {} characters", Payee::MAX_CHARS);

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        display_text(input, Self::MAX_CHARS, Self::LENGTH_RULE).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_canonical_and_positive() {
        assert_eq!(Amount::parse("250").unwrap().as_str(), "250.00");
        assert_eq!(Amount::parse("0250.5").unwrap().as_str(), "250.50");
        assert_eq!(Amount::parse("0.01").unwrap().as_str(), "0.01");
        for bad in [
            "", "0", "0.00", "-1", "1.", ".5", "1.234", "1e3", "1,00", " 1", "NaN",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad}");
        }
        assert!(Amount::parse(&"9".repeat(13)).is_err());
    }

    #[test]
    fn transactions_have_one_canonical_text() {
        let a: Transaction = serde_json::from_str(
            r#"{"payee":"ACME  Ltd","currency":"EUR","amount":"250","type":"transfer"}"#,
        )
        .unwrap();
        let b: Transaction = serde_json::from_str(
            r#"{"type":"transfer","amount":"250.00","currency":"EUR","payee":"ACME Ltd"}"#,
        )
        .unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(Transaction::from_canonical(&a.canonical()), Some(a.clone()));
        assert_eq!(a.spoken(), "250.00 EUR to ACME Ltd");
        assert!(serde_json::from_str::<Transaction>(
            r#"{"type":"transfer","amount":"1","currency":"EUR","payee":"x","memo":"y"}"#
        )
        .is_err());
    }

    #[test]
    fn scopes_parse_strictly_and_print_sorted() {
        let s = Scopes::parse("transact read").unwrap();
        assert_eq!(s.to_string(), "read transact");
        for bad in ["", "read  transact", "admin", "READ", " read"] {
            assert!(Scopes::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn resources_are_absolute_https() {
        assert!(Resource::parse("https://mcp.bank.example/").is_ok());
        assert!(Resource::parse("http://127.0.0.1:9000/").is_ok());
        for bad in [
            "mcp.bank.example",
            "http://mcp.bank.example/",
            "https://",
            "https://x/#frag",
            "https://x/ y",
            "ftp://x/",
        ] {
            assert!(Resource::parse(bad).is_err(), "{bad}");
        }
        assert!(ClientId::parse("banking-assistant").is_ok());
        assert!(ClientId::parse("Banking").is_err());
    }
}
