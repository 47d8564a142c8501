//! Every field parser on arbitrary text: no panic, and what is accepted is
//! canonical (parsing the accepted value again gives the same value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voicegate::types::{Email, FullName, OtpCode, Phone, UserId};

fuzz_target!(|text: &str| {
    if let Ok(id) = UserId::parse(text) {
        assert_eq!(UserId::parse(id.as_str()).as_ref(), Ok(&id));
    }
    if let Ok(code) = OtpCode::parse(text) {
        assert!(code.expose().len() == 6 && code.expose().bytes().all(|b| b.is_ascii_digit()));
    }
    if let Ok(phone) = Phone::parse(text) {
        assert!(!phone.masked().contains(&phone.expose()[1..]));
    }
    if let Ok(email) = Email::parse(text) {
        assert_eq!(Email::parse(email.as_str()).as_ref(), Ok(&email));
        assert!(!email.as_str().chars().any(voicegate::types::text::is_hidden));
    }
    if let Ok(name) = FullName::parse(text) {
        assert_eq!(FullName::parse(name.as_str()).as_ref(), Ok(&name));
        assert!(!name.as_str().chars().any(voicegate::types::text::is_hidden));
    }
    let _ = voicegate::domain::access_tokens::CompactHeader::parse(text);
    let _ = voicegate::domain::auth_sessions::RefreshToken::parse(text);
});
