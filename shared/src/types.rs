//! Typed values parsed once at the HTTP edge ("parse, don't validate").
//!
//! Each type can only be built through its parser, so a handler holding an
//! `Email` or an `OtpCode` knows it is well formed. Types that carry secrets
//! redact themselves in `Debug` so they cannot leak into a log line.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::{self, TextProblem};

/// Why a value was refused. The message names the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub &'static str);

const HIDDEN_RULE: &str = "must not contain invisible, control or format characters";

/// The rule a [`TextProblem`] breaks, as a parse error.
pub fn text_rule(p: TextProblem) -> ParseError {
    ParseError(match p {
        TextProblem::Hidden => HIDDEN_RULE,
        TextProblem::MixedScript => "must not mix writing systems within a word",
        TextProblem::StackedMarks => "must not stack combining marks",
    })
}

/// Spoken number words accepted in user IDs and one-time codes.
fn spoken_digit(word: &str) -> Option<char> {
    Some(match word {
        "zero" | "oh" | "o" => '0',
        "one" => '1',
        "two" => '2',
        "three" => '3',
        "four" => '4',
        "five" => '5',
        "six" => '6',
        "seven" => '7',
        "eight" => '8',
        "nine" => '9',
        _ => return None,
    })
}

/// Splits speech-to-text output into lower-case words; spaces, hyphens,
/// commas and dots all separate.
fn words(input: &str) -> impl Iterator<Item = String> + '_ {
    input
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | ',' | '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// A user ID: `u` followed by 1 to 20 digits.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    const MAX_DIGITS: usize = 20;

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

/// A new password: 12 to 128 characters, kept exactly as given (no trimming,
/// no normalisation), redacted in `Debug`.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(s: String) -> Result<Self, ParseError> {
        let n = s.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(ParseError("must be 12 to 128 characters"));
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
            return Err(ParseError("must be 1 to 128 characters"));
        }
        Ok(Self(s))
    }
}

impl fmt::Debug for LoginPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginPassword(<redacted>)")
    }
}

/// An E.164 phone number (`+` then 2 to 15 digits, no leading zero).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let digits = input.strip_prefix('+').unwrap_or("");
        let ok = (2..=15).contains(&digits.len())
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

/// A person's display name as the voice agent will read it: NFKC, trimmed,
/// inner whitespace collapsed to single spaces, 1 to 100 characters, no
/// invisible or format characters, no word mixing scripts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FullName(String);

impl FullName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.chars().any(text::is_hidden) {
            return Err(ParseError(HIDDEN_RULE));
        }
        let s = text::nfkc(input)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let n = s.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(ParseError("must be 1 to 100 characters"));
        }
        text::check(&s, &[]).map_err(text_rule)?;
        Ok(Self(s))
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

/// A 6-digit one-time code, leading zeros kept. Redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct OtpCode(String);

impl OtpCode {
    pub const LEN: usize = 6;

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
                return Err(ParseError("must be a 6-digit code"));
            }
        }
        if out.len() != Self::LEN {
            return Err(ParseError("must be a 6-digit code"));
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

/// The client platform named at login; it travels in the tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Web,
    Mobile,
    Voice,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Web => "web",
            Platform::Mobile => "mobile",
            Platform::Voice => "voice",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web" => Some(Platform::Web),
            "mobile" => Some(Platform::Mobile),
            "voice" => Some(Platform::Voice),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_typed_and_spoken_forms() {
        for input in [
            "u001",
            "U001",
            "u 0 0 1",
            "u zero zero one",
            "you zero zero one",
            "You Zero Zero One",
            "u oh oh one",
            " u-0-0-1 ",
        ] {
            assert_eq!(UserId::parse(input).unwrap().as_str(), "u001", "{input}");
        }
    }

    #[test]
    fn user_id_rejects_garbage() {
        for input in [
            "",
            "u",
            "001",
            "x001",
            "u00a",
            "u 0 0 banana",
            "you",
            "u001; drop",
            &format!("u{}", "1".repeat(21)),
        ] {
            assert!(UserId::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn otp_code_forms() {
        for (input, want) in [
            ("123456", "123456"),
            ("123 456", "123456"),
            ("one two three four five six", "123456"),
            ("oh one two three four five", "012345"),
            ("o 1 2 3 4 5", "012345"),
            ("000000", "000000"),
            ("Zero Zero Nine-Nine 9 9", "009999"),
        ] {
            assert_eq!(OtpCode::parse(input).unwrap().expose(), want, "{input}");
        }
        for bad in ["", "12345", "1234567", "12a456", "one two", "12345６"] {
            assert!(OtpCode::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(OtpCode::from_number(42).expose(), "000042");
        assert_eq!(
            format!("{:?}", OtpCode::from_number(42)),
            "OtpCode(<redacted>)"
        );
    }

    #[test]
    fn phone_e164_and_mask() {
        let p = Phone::parse("+15555550100").unwrap();
        assert_eq!(p.masked(), "+1******0100");
        assert_eq!(format!("{p:?}"), "Phone(+1******0100)");
        for bad in [
            "15555550100",
            "+0555",
            "+1",
            "+1234567890123456",
            "+1555-555",
            "",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Phone::parse("+44").unwrap().masked(), "+4*");
    }

    #[test]
    fn email_normalised_and_checked() {
        assert_eq!(
            Email::parse(" John@Example.COM ").unwrap().as_str(),
            "john@example.com"
        );
        for bad in [
            "",
            "john",
            "john@",
            "@example.com",
            "john@example",
            "jo hn@example.com",
            "a@b..c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_bounded_in_characters_and_redacted() {
        assert!(NewPassword::parse("short".into()).is_err());
        assert!(NewPassword::parse("x".repeat(129)).is_err());
        // 12 multi-byte characters are 12 characters, not 36 bytes.
        assert!(NewPassword::parse("ñ".repeat(12)).is_ok());
        // Kept exactly as given: surrounding spaces are part of the password.
        let p = NewPassword::parse("  twelve chars  ".into()).unwrap();
        assert_eq!(p.expose(), "  twelve chars  ");
        assert_eq!(format!("{p:?}"), "NewPassword(<redacted>)");
    }
}

/// Properties of every parser over generated input: no input panics, what is
/// accepted is canonical (parsing it again gives the same value), and the
/// forms a voice or a keyboard produces parse to the same value.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const WORDS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];

    fn spoken(digits: &str) -> String {
        digits
            .bytes()
            .map(|b| WORDS[(b - b'0') as usize])
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Characters that render as nothing or steer layout.
    fn hidden() -> impl Strategy<Value = char> {
        prop::sample::select(vec![
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{00ad}', '\u{202e}',
            '\u{2066}', '\u{061c}', '\u{180e}', '\u{fe0f}', '\u{1160}', '\u{0000}', '\u{001b}',
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn no_parser_panics_on_any_text(s in "\\PC*") {
            let _ = UserId::parse(&s);
            let _ = OtpCode::parse(&s);
            let _ = Phone::parse(&s);
            let _ = Email::parse(&s);
            let _ = FullName::parse(&s);
            let _ = NewPassword::parse(s.clone());
            let _ = LoginPassword::try_from(s.clone());
            let _ = crate::tokens::CompactHeader::parse(&s);
            let _ = crate::auth::refresh_token_sid(&s);
        }

        #[test]
        fn user_ids_typed_or_spoken_are_the_same_id(digits in "[0-9]{1,20}", upper in any::<bool>()) {
            let canonical = format!("u{digits}");
            let typed = if upper { canonical.to_uppercase() } else { canonical.clone() };
            let voiced = format!("you {}", spoken(&digits));
            let spaced: String = digits.chars().map(|c| format!(" {c}")).collect();
            for form in [typed, voiced, format!("u{spaced}")] {
                let parsed = UserId::parse(&form).unwrap().to_string();
                prop_assert_eq!(parsed, canonical.clone());
            }
        }

        #[test]
        fn accepted_user_ids_are_canonical(s in "\\PC{0,40}") {
            if let Ok(id) = UserId::parse(&s) {
                let digits = id.as_str().strip_prefix('u').unwrap();
                prop_assert!(!digits.is_empty() && digits.len() <= 20);
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(UserId::parse(id.as_str()).unwrap(), id);
            }
        }

        #[test]
        fn codes_in_every_spoken_form_are_the_same_code(n in 0u32..1_000_000) {
            let code = OtpCode::from_number(n);
            let digits = code.expose().to_owned();
            for form in [
                digits.clone(),
                format!("{} {}", &digits[..3], &digits[3..]),
                spoken(&digits),
                spoken(&digits).replace("zero", "oh"),
                spoken(&digits).to_uppercase(),
                digits.chars().map(String::from).collect::<Vec<_>>().join("-"),
            ] {
                let parsed = OtpCode::parse(&form).unwrap().expose().to_owned();
                prop_assert_eq!(parsed, digits.clone());
            }
        }

        #[test]
        fn accepted_codes_are_six_ascii_digits(s in "\\PC{0,60}") {
            if let Ok(code) = OtpCode::parse(&s) {
                prop_assert_eq!(code.expose().len(), 6);
                prop_assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn e164_numbers_parse_and_their_mask_hides_at_least_half(cc in "[1-9]", rest in "[0-9]{1,14}") {
            let number = format!("+{cc}{rest}");
            prop_assume!(number.len() <= 16);
            let phone = Phone::parse(&number).unwrap();
            let masked = phone.masked();
            let digits = number.len() - 1;
            let shown = masked.bytes().filter(u8::is_ascii_digit).count();
            prop_assert!(shown * 2 <= digits + 1, "{masked} shows {shown} of {digits}");
            prop_assert_eq!(masked.len(), number.len());
            let debug = format!("{:?}", phone);
            prop_assert!(!debug.contains(&number[1..]));
        }

        #[test]
        fn accepted_emails_are_normalised_and_stable(local in "[a-zA-Z0-9._%+-]{1,20}", domain in "[a-zA-Z0-9-]{1,20}\\.[a-zA-Z]{2,6}") {
            let raw = format!(" {local}@{domain} ");
            if let Ok(email) = Email::parse(&raw) {
                let lowered = email.as_str().to_lowercase();
                prop_assert_eq!(email.as_str(), lowered.trim());
                prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email.clone());
                // Full-width forms are the same address.
                let wide: String = format!("{local}@{domain}")
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c })
                    .collect();
                prop_assert_eq!(Email::parse(&wide).unwrap(), email);
            }
        }

        #[test]
        fn a_hidden_character_anywhere_refuses_an_email_or_a_name(local in "[a-z]{1,10}", at in 0usize..12, c in hidden()) {
            let email = format!("{local}@example.com");
            let mut chars: Vec<char> = email.chars().collect();
            let at = at.min(chars.len());
            chars.insert(at, c);
            let with_hidden: String = chars.into_iter().collect();
            prop_assert!(Email::parse(&with_hidden).is_err(), "{:?}", with_hidden);
            let name: String = format!("Ada {local}").chars().take(at).chain([c]).chain(format!("Ada {local}").chars().skip(at)).collect();
            prop_assert!(FullName::parse(&name).is_err(), "{:?}", name);
        }

        #[test]
        fn accepted_names_are_canonical_and_bounded(s in "\\PC{0,120}") {
            if let Ok(name) = FullName::parse(&s) {
                let n = name.as_str().chars().count();
                prop_assert!((1..=FullName::MAX_CHARS).contains(&n));
                prop_assert!(!name.as_str().chars().any(crate::text::is_hidden));
                prop_assert_eq!(FullName::parse(name.as_str()).unwrap(), name.clone());
                prop_assert!(!name.as_str().contains("  "));
            }
        }

        #[test]
        fn passwords_are_bounded_in_characters_and_kept_exactly(s in "\\PC{0,140}") {
            let n = s.chars().count();
            match NewPassword::parse(s.clone()) {
                Ok(p) => {
                    prop_assert!((NewPassword::MIN_CHARS..=NewPassword::MAX_CHARS).contains(&n));
                    prop_assert_eq!(p.expose(), s.as_str());
                    let debug = format!("{:?}", p);
                    prop_assert!(!debug.contains(&s));
                }
                Err(_) => prop_assert!(!(NewPassword::MIN_CHARS..=NewPassword::MAX_CHARS).contains(&n)),
            }
        }
    }
}
