//! Rules for text that people (and the voice agent) read: emails, names, and
//! anything an admin puts into a LiveKit token.
//!
//! Following Unicode TS #39 with the unicode-rs crates:
//! - text is normalised to NFKC, so full-width `ｊｏｈｎ` and ligatures become
//!   what they look like;
//! - control, format and other invisible characters (zero-width space and
//!   joiner, soft hyphen, bidi controls, Hangul fillers, variation selectors:
//!   General_Category Cc/Cf/Co/Cn/Zl/Zp and Default_Ignorable_Code_Point) are
//!   refused rather than stripped, so nothing hides inside a name;
//! - a word mixing scripts (`jоhn` with a Cyrillic `о`) is refused;
//! - the confusable skeleton lets whole-script lookalikes (`аррӏе` for
//!   `apple`) be found as the same string.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::general_security_profile::IdentifierType;
use unicode_security::{GeneralSecurityProfile, MixedScript};

/// Combining marks allowed on one base character; more is "Zalgo" text that
/// can draw over its neighbours.
const MAX_COMBINING_MARKS: usize = 3;

/// NFKC of `s`.
pub fn nfkc(s: &str) -> String {
    s.nfkc().collect()
}

/// A character that controls layout or renders as nothing.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Surrogate
    ) || c.identifier_type() == Some(IdentifierType::Default_Ignorable)
}

/// Why a text was refused (the rule, never the text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextProblem {
    Hidden,
    MixedScript,
    StackedMarks,
}

/// Checks `s` (already NFKC) for hidden characters, stacked combining marks,
/// and words that mix scripts. Words are split on whitespace and, when
/// `separators` is given, on those characters too (an email splits on `@` and `.`).
pub fn check(s: &str, separators: &[char]) -> Result<(), TextProblem> {
    if s.chars().any(is_hidden) {
        return Err(TextProblem::Hidden);
    }
    // Counted on the decomposed form, where `ó` is `o` plus a mark.
    let mut marks = 0;
    for c in s.nfd() {
        if c.general_category() == GeneralCategory::NonspacingMark {
            marks += 1;
            if marks > MAX_COMBINING_MARKS {
                return Err(TextProblem::StackedMarks);
            }
        } else {
            marks = 0;
        }
    }
    let mixed = s
        .split(|c: char| c.is_whitespace() || separators.contains(&c))
        .any(|word| !word.is_single_script());
    if mixed {
        return Err(TextProblem::MixedScript);
    }
    Ok(())
}

/// The UTS #39 confusable skeleton: two strings that look alike share it.
/// For comparison only, never for display.
pub fn skeleton(s: &str) -> String {
    unicode_security::skeleton(s).collect()
}

/// The skeleton of `s` lower-cased with separators dropped, for "does this
/// text claim to be X" checks that must see through `User-ID` and `usеr_id`.
pub fn compact_skeleton(s: &str) -> String {
    skeleton(&nfkc(s).to_lowercase())
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_format_characters_are_hidden() {
        for c in [
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{00ad}', '\u{202e}', '\u{2066}', '\u{feff}',
            '\u{1160}', '\u{fe0f}', '\u{0007}', '\u{2028}', '\u{e000}',
        ] {
            assert!(is_hidden(c), "U+{:04X}", c as u32);
        }
        for c in ['a', 'é', 'ж', '李', ' ', '-', '@', '.'] {
            assert!(!is_hidden(c), "{c}");
        }
    }

    #[test]
    fn mixed_scripts_within_a_word_are_refused() {
        assert_eq!(check("j\u{43e}hn", &[]), Err(TextProblem::MixedScript));
        assert_eq!(check("John Doe", &[]), Ok(()));
        assert_eq!(check("Иван Petrov", &[]), Ok(()));
        assert_eq!(check("李 Wei", &[]), Ok(()));
        assert_eq!(
            check("a\u{301}\u{301}\u{301}\u{301}", &[]),
            Err(TextProblem::StackedMarks)
        );
        assert_eq!(check("e\u{301}", &[]), Ok(()));
    }

    #[test]
    fn skeletons_see_through_lookalikes() {
        assert_eq!(
            skeleton("\u{430}\u{440}\u{440}\u{4cf}\u{435}"),
            skeleton("apple")
        );
        assert_eq!(skeleton(&nfkc("ｊｏｈｎ")), skeleton("john"));
        assert_eq!(compact_skeleton("User-ID"), compact_skeleton("user_id"));
        assert_eq!(
            compact_skeleton("us\u{435}r_id"),
            compact_skeleton("userid")
        );
    }
}
