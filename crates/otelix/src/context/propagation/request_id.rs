//! The sanitizer for client-supplied `X-Request-ID` values.

/// Longest client-supplied request ID kept by [`sanitize_request_id`].
pub(super) const MAX_REQUEST_ID_LEN: usize = 128;

/// Keeps a client-supplied `X-Request-ID` only when it is safe to record: after trimming
/// surrounding spaces and tabs (HTTP optional whitespace), 1 to 128 bytes of visible ASCII
/// (`0x21..=0x7E`). Returns `None` for anything else.
///
/// The value is recorded as a span attribute, never echoed back, so bounding its length and
/// alphabet is enough to keep it from bloating spans or smuggling control characters into logs.
///
/// ```
/// use otelix::sanitize_request_id;
///
/// assert_eq!(sanitize_request_id(b"  req-42 ").as_deref(), Some("req-42"));
/// assert_eq!(sanitize_request_id(b"two words"), None);
/// assert_eq!(sanitize_request_id(b"\xffbad"), None);
/// ```
pub fn sanitize_request_id(raw: &[u8]) -> Option<String> {
    let is_ows = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let mut trimmed = raw;
    while let [first, rest @ ..] = trimmed {
        if !is_ows(first) {
            break;
        }
        trimmed = rest;
    }
    while let [rest @ .., last] = trimmed {
        if !is_ows(last) {
            break;
        }
        trimmed = rest;
    }
    if trimmed.is_empty()
        || trimmed.len() > MAX_REQUEST_ID_LEN
        || !trimmed.iter().all(|byte| (0x21..=0x7e).contains(byte))
    {
        return None;
    }
    // Visible ASCII is always valid UTF-8; `ok()` only avoids a conversion that could panic.
    std::str::from_utf8(trimmed).ok().map(str::to_owned)
}
