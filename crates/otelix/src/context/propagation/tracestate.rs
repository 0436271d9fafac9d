//! Reading and writing `tracestate`: the Level 1 key and value grammar, the list rules and the
//! 512-character limit, applied both to what arrives and to what is sent on.

use opentelemetry::trace::TraceState;

use super::trim_ows;

/// "There can be a maximum of 32 list-members in a list."
pub(super) const MAX_LIST_MEMBERS: usize = 32;
/// "Vendors SHOULD propagate at least 512 characters of a combined header": we propagate exactly
/// that much and document it, as "tracestate Limits" asks of anyone capping the size.
pub(super) const MAX_TRACESTATE_LEN: usize = 512;
/// "Entries larger than 128 characters long SHOULD be removed first."
const LARGE_MEMBER_LEN: usize = 128;
/// Key grammar bounds: `lcalpha 0*255(...)`, `(lcalpha / DIGIT) 0*240(...) "@" lcalpha 0*13(...)`.
const MAX_SIMPLE_KEY_LEN: usize = 256;
const MAX_TENANT_ID_LEN: usize = 241;
const MAX_SYSTEM_ID_LEN: usize = 14;
/// Value grammar bound: `0*255(chr) nblk-chr`.
const MAX_VALUE_LEN: usize = 256;

/// Why a `tracestate` was dropped; like [`TraceparentError`](super::TraceparentError), for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum TracestateError {
    #[error("tracestate has more than 32 list members")]
    TooManyMembers,
    #[error("tracestate list member has no '='")]
    MissingEquals,
    #[error("tracestate key does not match the key grammar")]
    InvalidKey,
    #[error("tracestate value does not match the value grammar")]
    InvalidValue,
    #[error("tracestate key appears more than once")]
    DuplicateKey,
}

/// Parses the `tracestate` values of one carrier, in order, into validated `(key, value)` pairs
/// borrowed from the carrier.
pub(super) fn parse_tracestate<'a>(
    values: &[&'a str],
) -> Result<Vec<(&'a str, &'a str)>, TracestateError> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    // Splitting every value on ',' is the same as splitting the values joined with ','
    // (RFC 7230 section 3.2.2), without building the joined string.
    for member in values.iter().flat_map(|value| value.split(',')) {
        let member = trim_ows(member);
        if member.is_empty() {
            continue;
        }
        if members.len() == MAX_LIST_MEMBERS {
            return Err(TracestateError::TooManyMembers);
        }
        let (key, value) = member
            .split_once('=')
            .ok_or(TracestateError::MissingEquals)?;
        if !is_valid_key(key) {
            return Err(TracestateError::InvalidKey);
        }
        if !is_valid_value(value) {
            return Err(TracestateError::InvalidValue);
        }
        if members.iter().any(|&(seen, _)| seen == key) {
            return Err(TracestateError::DuplicateKey);
        }
        members.push((key, value));
    }
    Ok(members)
}

/// `key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )`
/// `key = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" ) "@" lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )`
fn is_valid_key(key: &str) -> bool {
    fn is_key_char(byte: u8) -> bool {
        matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/')
    }
    // '@' is not a key character, so a second '@' fails `is_key_char` in the system part.
    match key.split_once('@') {
        None => match key.as_bytes() {
            [first, rest @ ..] => {
                first.is_ascii_lowercase()
                    && rest.len() < MAX_SIMPLE_KEY_LEN
                    && rest.iter().all(|&byte| is_key_char(byte))
            }
            [] => false,
        },
        Some((tenant, system)) => {
            let tenant_ok = match tenant.as_bytes() {
                [first, rest @ ..] => {
                    (first.is_ascii_lowercase() || first.is_ascii_digit())
                        && rest.len() < MAX_TENANT_ID_LEN
                        && rest.iter().all(|&byte| is_key_char(byte))
                }
                [] => false,
            };
            let system_ok = match system.as_bytes() {
                [first, rest @ ..] => {
                    first.is_ascii_lowercase()
                        && rest.len() < MAX_SYSTEM_ID_LEN
                        && rest.iter().all(|&byte| is_key_char(byte))
                }
                [] => false,
            };
            tenant_ok && system_ok
        }
    }
}

/// `value = 0*255(chr) nblk-chr`, `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`, `chr = %x20 / nblk-chr`
fn is_valid_value(value: &str) -> bool {
    fn is_nblk_char(byte: u8) -> bool {
        matches!(byte, 0x21..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e)
    }
    match value.as_bytes() {
        [rest @ .., last] => {
            is_nblk_char(*last)
                && rest.len() < MAX_VALUE_LEN
                && rest.iter().all(|&byte| byte == b' ' || is_nblk_char(byte))
        }
        [] => false,
    }
}

/// Length of `key=value`.
fn member_len((key, value): (&str, &str)) -> usize {
    key.len() + 1 + value.len()
}

/// Length of the members written as a header: `key=value` pairs joined by `,`.
pub(super) fn header_len(members: &[(&str, &str)]) -> usize {
    let pairs: usize = members.iter().map(|&member| member_len(member)).sum();
    pairs + members.len().saturating_sub(1)
}

/// Applies "tracestate Limits": whole entries go, those over 128 characters first (rightmost
/// first), then from the end, until the header fits in 512 characters.
pub(super) fn truncate_to_limit(members: &mut Vec<(&str, &str)>) {
    while header_len(members) > MAX_TRACESTATE_LEN {
        match members
            .iter()
            .rposition(|&member| member_len(member) > LARGE_MEMBER_LEN)
        {
            Some(large) => {
                members.remove(large);
            }
            None => {
                members.pop();
            }
        }
    }
}

/// Turns validated members into a `TraceState` of at most 512 characters.
pub(super) fn into_trace_state(mut members: Vec<(&str, &str)>) -> TraceState {
    // Fast path: everything valid for us is normally valid for `TraceState` too.
    let state = match TraceState::from_key_value(members.iter().copied()) {
        Ok(state) => state,
        Err(_) => {
            // `TraceState` refuses some keys the grammar allows (see the type docs); its errors
            // are not nameable, so find the refused entries one by one and leave only them out,
            // before truncation so that they do not push valid entries out.
            members.retain(|&member| TraceState::from_key_value([member]).is_ok());
            match TraceState::from_key_value(members.iter().copied()) {
                Ok(state) => state,
                Err(_) => return TraceState::NONE,
            }
        }
    };
    if header_len(&members) <= MAX_TRACESTATE_LEN {
        return state;
    }
    truncate_to_limit(&mut members);
    TraceState::from_key_value(members.iter().copied()).unwrap_or_default()
}

/// The `tracestate` header for `trace_state`, or `None` when nothing is left to send.
///
/// `TraceState` accepts more than the grammar (from code: `from_key_value` and `insert` check
/// less than [`parse_tracestate`] does), so entries are checked again on the way out: invalid
/// ones and repeats of a key are left out, and the limits applied, rather than sending a header
/// the next hop must drop whole.
pub(super) fn tracestate_header(trace_state: &TraceState) -> Option<String> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for (key, value) in trace_state {
        if members.len() == MAX_LIST_MEMBERS {
            break;
        }
        if is_valid_key(key)
            && is_valid_value(value)
            && !members.iter().any(|&(seen, _)| seen == key)
        {
            members.push((key, value));
        }
    }
    truncate_to_limit(&mut members);
    if members.is_empty() {
        return None;
    }
    let mut header = String::with_capacity(header_len(&members));
    for (index, (key, value)) in members.iter().enumerate() {
        if index > 0 {
            header.push(',');
        }
        header.push_str(key);
        header.push('=');
        header.push_str(value);
    }
    Some(header)
}
