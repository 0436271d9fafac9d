//! The `X-Request-ID` sanitizer.

use super::*;

#[test]
fn request_id_of_visible_ascii_is_kept() {
    assert_eq!(sanitize_request_id(b"abc-123").as_deref(), Some("abc-123"));
    assert_eq!(
        sanitize_request_id(b"!~{}\"'<>").as_deref(),
        Some("!~{}\"'<>")
    );
}

#[test]
fn request_id_surrounding_spaces_are_trimmed() {
    assert_eq!(sanitize_request_id(b"  abc  ").as_deref(), Some("abc"));
    assert_eq!(sanitize_request_id(b"\t abc \t").as_deref(), Some("abc"));
}

#[test]
fn request_id_length_is_bounded() {
    let longest = "r".repeat(128);
    assert_eq!(
        sanitize_request_id(longest.as_bytes()),
        Some(longest.clone())
    );
    let padded = format!("  {longest}  ");
    assert_eq!(sanitize_request_id(padded.as_bytes()), Some(longest));
    assert_eq!(sanitize_request_id("r".repeat(129).as_bytes()), None);
    assert_eq!(sanitize_request_id(b""), None);
    assert_eq!(sanitize_request_id(b"   "), None);
}

#[test]
fn request_id_with_other_bytes_is_refused() {
    for raw in [
        &b"two words"[..],
        b"tab\tinside",
        b"\nabc",
        b"abc\r\n",
        b"nul\0",
        b"del\x7f",
        "caf\u{e9}".as_bytes(),
        b"\xff\xfe",
    ] {
        assert_eq!(sanitize_request_id(raw), None, "{raw:?}");
    }
}
