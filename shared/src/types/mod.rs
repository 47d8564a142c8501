//! Typed values parsed once at the HTTP edge ("parse, don't validate").
//!
//! Each type can only be built through its parser, so a handler holding an
//! `Email` or an `OtpCode` knows it is well formed. Types that carry secrets
//! redact themselves in `Debug` so they cannot leak into a log line.

mod agents;
mod contact;
mod credentials;
mod ids;
mod kinds;
mod livekit_text;
mod names;
mod sign_in;
pub mod text;

pub use agents::{
    Amount, ClientId, Currency, Payee, Resource, Scope, Scopes, Transaction, TransactionKind,
};
pub use contact::{Email, Phone, PhoneIndex};
pub use credentials::{CodeMac, LoginPassword, NewPassword, OtpCode, PasswordHash, RefreshHash};
pub use ids::{AuthSessionId, SourceIp, UserId, VoiceSessionId};
pub use kinds::{
    AuthMethod, CallerProof, CodePurpose, Platform, RevocationReason, VoiceStatus, Window,
};
pub use livekit_text::{AdminTokenTtl, TokenMetadata, TokenText};
pub use names::FullName;
pub use sign_in::{CeremonyId, PasskeyId, PasskeyName};

use text::TextProblem;

/// Why a value was refused. The message names the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub &'static str);

pub(crate) const HIDDEN_RULE: &str = "must not contain invisible, control or format characters";

/// The rule a [`TextProblem`] breaks, as a parse error.
pub fn text_rule(p: TextProblem) -> ParseError {
    ParseError(match p {
        TextProblem::Hidden => HIDDEN_RULE,
        TextProblem::MixedScript => "must not mix writing systems within a word",
        TextProblem::StackedMarks => "must not stack combining marks",
    })
}

/// Spoken number words accepted in user IDs and one-time codes.
pub(crate) fn spoken_digit(word: &str) -> Option<char> {
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
pub(crate) fn words(input: &str) -> impl Iterator<Item = String> + '_ {
    input
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | ',' | '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Lower-case hex of `bytes` (MACs and hashes as stored).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
