//! Examples of every parser: the forms it accepts and the ones it refuses.

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
