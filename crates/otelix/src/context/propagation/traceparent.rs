//! Reading `traceparent`: the version, the IDs and the flags, with every rule of "traceparent
//! Header Field Values" and "Versioning of traceparent" applied.

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

use super::trim_ows;

/// `00-` + 32 + `-` + 16 + `-` + 2: the whole of a version 00 value, and the part of a later
/// version's value that version 00 knows how to read.
const TRACEPARENT_LEN: usize = 55;
/// The only version this implementation writes ("Versioning of traceparent": downgrade to the
/// highest version known).
pub(super) const SUPPORTED_VERSION: u8 = 0x00;
/// "Version ff is invalid."
const FORBIDDEN_VERSION: u8 = 0xff;

/// Why a `traceparent` was not used. Never shown to anyone: it exists so that tests can tell
/// which rule rejected a value, not merely that something did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum TraceparentError {
    #[error("no traceparent header")]
    Missing,
    #[error("traceparent appears more than once")]
    Duplicated,
    #[error("traceparent version is not two lowercase hex digits followed by '-'")]
    InvalidVersion,
    #[error("traceparent version ff is forbidden")]
    ForbiddenVersion,
    #[error("traceparent is {0} characters long")]
    Length(usize),
    #[error("traceparent has data after the flags that does not start with '-'")]
    UnknownFieldsSeparator,
    #[error("traceparent fields are not separated by '-'")]
    MissingSeparator,
    #[error("traceparent trace-id is not 32 lowercase hex digits")]
    InvalidTraceId,
    #[error("traceparent parent-id is not 16 lowercase hex digits")]
    InvalidParentId,
    #[error("traceparent trace-flags are not 2 lowercase hex digits")]
    InvalidFlags,
    #[error("traceparent trace-id is all zeros")]
    ZeroTraceId,
    #[error("traceparent parent-id is all zeros")]
    ZeroParentId,
}

/// Parses the `traceparent` values of one carrier into the parent's IDs and flags.
pub(super) fn parse_traceparent(
    values: &[&str],
) -> Result<(TraceId, SpanId, TraceFlags), TraceparentError> {
    let raw = match values {
        [] => return Err(TraceparentError::Missing),
        [single] => *single,
        _ => return Err(TraceparentError::Duplicated),
    };
    // Duplicates folded into one field by an intermediary (RFC 7230 section 3.2.2). A comma can
    // never be part of a valid value, so this costs nothing for good input.
    if raw.contains(',') {
        return Err(TraceparentError::Duplicated);
    }
    let value = trim_ows(raw).as_bytes();

    let version = match value {
        [high, low, b'-', ..] => decode_lower_hex(&[*high, *low])
            .and_then(|version| u8::try_from(version).ok())
            .ok_or(TraceparentError::InvalidVersion)?,
        _ => return Err(TraceparentError::InvalidVersion),
    };
    if version == FORBIDDEN_VERSION {
        return Err(TraceparentError::ForbiddenVersion);
    }
    if value.len() < TRACEPARENT_LEN
        || (version == SUPPORTED_VERSION && value.len() != TRACEPARENT_LEN)
    {
        return Err(TraceparentError::Length(value.len()));
    }
    // A later version may append fields, each introduced by '-'; what they hold is unknown and
    // "Vendors MUST NOT parse or assume anything about unknown fields".
    if value.len() > TRACEPARENT_LEN && value.get(TRACEPARENT_LEN) != Some(&b'-') {
        return Err(TraceparentError::UnknownFieldsSeparator);
    }

    if value.get(35) != Some(&b'-') || value.get(52) != Some(&b'-') {
        return Err(TraceparentError::MissingSeparator);
    }
    let trace_id = value
        .get(3..35)
        .and_then(decode_lower_hex)
        .ok_or(TraceparentError::InvalidTraceId)?;
    let span_id = value
        .get(36..52)
        .and_then(decode_lower_hex)
        .and_then(|id| u64::try_from(id).ok())
        .ok_or(TraceparentError::InvalidParentId)?;
    let flags = value
        .get(53..55)
        .and_then(decode_lower_hex)
        .and_then(|flags| u8::try_from(flags).ok())
        .ok_or(TraceparentError::InvalidFlags)?;
    if trace_id == 0 {
        return Err(TraceparentError::ZeroTraceId);
    }
    if span_id == 0 {
        return Err(TraceparentError::ZeroParentId);
    }

    Ok((
        TraceId::from(trace_id),
        SpanId::from(span_id),
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
    ))
}

/// Decodes lowercase hex digits. `u128::from_str_radix` is not used because it also takes
/// uppercase digits and a leading `+`, both invalid here. Callers pass at most 32 digits.
fn decode_lower_hex(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0_u128, |value, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some(value << 4 | u128::from(nibble))
    })
}
