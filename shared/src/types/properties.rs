//! Properties of every parser over generated input: no input panics, what is
//! accepted is canonical (parsing it again gives the same value), and the
//! forms a voice or a keyboard produces parse to the same value.

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
            prop_assert!(!name.as_str().chars().any(crate::types::text::is_hidden));
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
