//! W3C Trace Context propagation: `traceparent` and `tracestate` headers, read and written exactly
//! as [W3C Trace Context Level 1] says, plus adapters between OpenTelemetry's carrier traits and
//! [`http::HeaderMap`], and the sanitizer for client-supplied `X-Request-ID` values.
//!
//! The SDK ships a `TraceContextPropagator`, but it reads only the first `traceparent` value (so a
//! duplicated header is silently accepted) and takes any `tracestate` the `TraceState` type lets
//! through, with neither the list limits nor the full key and value grammar enforced. A service that
//! sits at the edge continues traces from untrusted callers, so this module applies the whole
//! specification instead; [`W3CTraceContextPropagator`] documents every decision and the section it
//! comes from.
//!
//! # Example
//!
//! ```
//! use http::HeaderMap;
//! use opentelemetry::propagation::TextMapPropagator;
//! use opentelemetry::trace::TraceContextExt;
//! use otelix::{HeaderExtractor, HeaderInjector, W3CTraceContextPropagator};
//!
//! let propagator = W3CTraceContextPropagator::new();
//!
//! let mut incoming = HeaderMap::new();
//! incoming.insert(
//!     "traceparent",
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse()?,
//! );
//! incoming.insert("tracestate", "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE".parse()?);
//!
//! let cx = propagator.extract(&HeaderExtractor(&incoming));
//! let parent = cx.span().span_context().clone();
//! assert!(parent.is_remote() && parent.is_sampled());
//! assert_eq!(parent.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//!
//! let mut outgoing = HeaderMap::new();
//! propagator.inject_context(&cx, &mut HeaderInjector(&mut outgoing));
//! assert_eq!(outgoing["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//! assert_eq!(outgoing["tracestate"], "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [W3C Trace Context Level 1]: https://www.w3.org/TR/trace-context-1/

use std::sync::LazyLock;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

const TRACEPARENT_HEADER: &str = "traceparent";
const TRACESTATE_HEADER: &str = "tracestate";

/// `00-` + 32 + `-` + 16 + `-` + 2: the whole of a version 00 value, and the part of a later
/// version's value that version 00 knows how to read.
const TRACEPARENT_LEN: usize = 55;
/// The only version this implementation writes ("Versioning of traceparent": downgrade to the
/// highest version known).
const SUPPORTED_VERSION: u8 = 0x00;
/// "Version ff is invalid."
const FORBIDDEN_VERSION: u8 = 0xff;

/// "There can be a maximum of 32 list-members in a list."
const MAX_LIST_MEMBERS: usize = 32;
/// "Vendors SHOULD propagate at least 512 characters of a combined header": we propagate exactly
/// that much and document it, as "tracestate Limits" asks of anyone capping the size.
const MAX_TRACESTATE_LEN: usize = 512;
/// "Entries larger than 128 characters long SHOULD be removed first."
const LARGE_MEMBER_LEN: usize = 128;
/// Key grammar bounds: `lcalpha 0*255(...)`, `(lcalpha / DIGIT) 0*240(...) "@" lcalpha 0*13(...)`.
const MAX_SIMPLE_KEY_LEN: usize = 256;
const MAX_TENANT_ID_LEN: usize = 241;
const MAX_SYSTEM_ID_LEN: usize = 14;
/// Value grammar bound: `0*255(chr) nblk-chr`.
const MAX_VALUE_LEN: usize = 256;

/// Longest client-supplied request ID kept by [`sanitize_request_id`].
const MAX_REQUEST_ID_LEN: usize = 128;

static FIELDS: LazyLock<[String; 2]> =
    LazyLock::new(|| [TRACEPARENT_HEADER.to_owned(), TRACESTATE_HEADER.to_owned()]);

/// Propagates span contexts in the `traceparent` and `tracestate` headers of
/// [W3C Trace Context Level 1](https://www.w3.org/TR/trace-context-1/).
///
/// Extraction yields a remote parent only from a `traceparent` that is valid in every respect;
/// otherwise the context passed in is returned unchanged and the request starts a new trace.
/// `tracestate` is read only after a valid `traceparent`, and a bad `tracestate` is dropped on its
/// own without costing the parent.
///
/// Decisions, with the part of the specification each follows:
///
/// - *traceparent Header Field Values*: every field is lowercase hex (`HEXDIGLC`); an all-zero
///   `trace-id` or `parent-id` is invalid; version `ff` is invalid; a version 00 value is exactly
///   55 characters. Leading and trailing optional whitespace (spaces and horizontal tabs) around
///   the value is tolerated: the ABNF describes the field value, and HTTP field parsing
///   (RFC 7230 section 3.2.4) does not count surrounding OWS as part of it, which is also what the
///   W3C test suite (`test_traceparent_ows_handling`) expects. Any other whitespace, or whitespace
///   inside the value, makes it invalid.
/// - *trace-flags*: only the `sampled` bit is interpreted and kept; "Other Flags" are reserved
///   and vendors MUST set them to zero, so they never reach the span context or the next hop.
/// - *Versioning of traceparent*: a higher version (01 to fe) must be at least 55 characters, and
///   if longer its 56th character must be `-`; only the first 55 characters are read, unknown
///   fields are ignored, and injection writes version 00.
/// - Duplicated `traceparent`: `traceparent` is not a list, so RFC 7230 section 3.2.2 forbids
///   sending it more than once; more than one value, or one value holding a comma (how
///   intermediaries combine duplicates), is treated as invalid, as the W3C test suite's
///   `test_traceparent_duplicated` expects.
/// - *tracestate Header Field Values*: several `tracestate` headers are combined in order, as if
///   joined with `,`. Members are trimmed of spaces and tabs; empty and whitespace-only members
///   are skipped and do not count towards the 32-member limit. Keys and values follow the Level 1
///   ABNF exactly (a value's leading spaces are part of it, trailing ones are OWS). A member
///   without `=`, an invalid key or value, a duplicated key ("Only one entry per key is allowed")
///   or more than 32 members makes the whole `tracestate` invalid, and it is dropped.
/// - *tracestate Limits*: the propagated `tracestate` is at most 512 characters, measured as it is
///   written back (`key=value` pairs joined by `,`, without OWS). When it is longer, entries over
///   128 characters are removed first, rightmost first, then entries from the end, until it fits.
///   The same normalisation applies on injection, so a `TraceState` edited in code never produces
///   a header that this propagator would refuse.
/// - `opentelemetry`'s `TraceState` rejects a multi-tenant key whose system part is the full 14
///   characters the grammar allows; it cannot hold such an entry, so that entry alone is left out
///   and the rest of the list is kept (deleting an entry is an allowed mutation).
#[derive(Clone, Copy, Debug, Default)]
pub struct W3CTraceContextPropagator {
    _private: (),
}

impl W3CTraceContextPropagator {
    /// Creates the propagator. It holds no state, so one instance can serve every request.
    pub const fn new() -> Self {
        Self { _private: () }
    }

    fn extract_span_context(extractor: &dyn Extractor) -> Result<SpanContext, TraceparentError> {
        let traceparent = extractor.get_all(TRACEPARENT_HEADER).unwrap_or_default();
        let (trace_id, span_id, trace_flags) = parse_traceparent(&traceparent)?;

        // "If the vendor failed to parse traceparent, it MUST NOT attempt to parse tracestate",
        // hence only here; and a failure below must not cost the parent, hence no `?`.
        let trace_state = extractor
            .get_all(TRACESTATE_HEADER)
            .and_then(|values| parse_tracestate(&values).ok())
            .map_or(TraceState::NONE, into_trace_state);

        Ok(SpanContext::new(
            trace_id,
            span_id,
            trace_flags,
            true,
            trace_state,
        ))
    }
}

impl TextMapPropagator for W3CTraceContextPropagator {
    /// Writes `traceparent` (version 00, only the `sampled` flag) and, when it has members,
    /// `tracestate`, for the span in `cx`; writes nothing when that span context is invalid.
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        injector.set(
            TRACEPARENT_HEADER,
            format!(
                "{SUPPORTED_VERSION:02x}-{}-{}-{:02x}",
                span_context.trace_id(),
                span_context.span_id(),
                span_context.trace_flags() & TraceFlags::SAMPLED,
            ),
        );
        // "Vendors ... SHOULD avoid sending" empty tracestate headers.
        if let Some(tracestate) = tracestate_header(span_context.trace_state()) {
            injector.set(TRACESTATE_HEADER, tracestate);
        }
    }

    /// Returns `cx` with the remote parent described by the carrier's `traceparent` and
    /// `tracestate`, or `cx` unchanged when there is no valid `traceparent`.
    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match Self::extract_span_context(extractor) {
            Ok(span_context) => cx.with_remote_span_context(span_context),
            Err(_) => cx.clone(),
        }
    }

    /// `traceparent` and `tracestate`.
    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(FIELDS.as_slice())
    }
}

/// Why a `traceparent` was not used. Never shown to anyone: it exists so that tests can tell
/// which rule rejected a value, not merely that something did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
enum TraceparentError {
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

/// Why a `tracestate` was dropped; like [`TraceparentError`], for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
enum TracestateError {
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

/// Parses the `traceparent` values of one carrier into the parent's IDs and flags.
fn parse_traceparent(values: &[&str]) -> Result<(TraceId, SpanId, TraceFlags), TraceparentError> {
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

/// Strips HTTP optional whitespace (RFC 7230 section 3.2.3: spaces and horizontal tabs).
fn trim_ows(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// Parses the `tracestate` values of one carrier, in order, into validated `(key, value)` pairs
/// borrowed from the carrier.
fn parse_tracestate<'a>(values: &[&'a str]) -> Result<Vec<(&'a str, &'a str)>, TracestateError> {
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
fn header_len(members: &[(&str, &str)]) -> usize {
    let pairs: usize = members.iter().map(|&member| member_len(member)).sum();
    pairs + members.len().saturating_sub(1)
}

/// Applies "tracestate Limits": whole entries go, those over 128 characters first (rightmost
/// first), then from the end, until the header fits in 512 characters.
fn truncate_to_limit(members: &mut Vec<(&str, &str)>) {
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
fn into_trace_state(mut members: Vec<(&str, &str)>) -> TraceState {
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
fn tracestate_header(trace_state: &TraceState) -> Option<String> {
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

/// Reads propagation headers from an [`http::HeaderMap`].
///
/// Header names are matched case-insensitively, as the specification requires ("Vendors MUST
/// expect the header name in any case").
#[derive(Clone, Copy, Debug)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    /// The first value of `key`, or `None` when it is absent or not visible ASCII (which
    /// includes any value that is not valid UTF-8).
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    /// The names of all headers present.
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    /// Every value of `key`, in order, or `None` when it is absent or when any of its values is
    /// not visible ASCII. An unreadable value spoils the whole field rather than being skipped:
    /// skipping it would hide a duplicated `traceparent` or an invalid `tracestate` part.
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values = self
            .0
            .get_all(key)
            .iter()
            .map(|value| value.to_str().ok())
            .collect::<Option<Vec<&str>>>()?;
        (!values.is_empty()).then_some(values)
    }
}

/// Writes propagation headers into an [`http::HeaderMap`].
///
/// Each [`Injector::set`] replaces any value already present, so injecting twice never leaves
/// two `traceparent` headers. A name or value that is not a valid header is skipped: propagation
/// is best effort and must never fail or panic the request carrying it.
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    /// Sets `key` to `value`, replacing earlier values; skips invalid names and values.
    fn set(&mut self, key: &str, value: String) {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::try_from(value),
        ) else {
            return;
        };
        self.0.insert(name, value);
    }

    /// Reserves room for `additional` more headers when the map can grow that far.
    fn reserve(&mut self, additional: usize) {
        // Only a hint: when the map cannot grow, `set` still works until it is full.
        let _ = self.0.try_reserve(additional);
    }
}

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

/// The propagator otelix installs globally and uses for incoming and outgoing requests:
/// [`W3CTraceContextPropagator`] and the SDK's W3C Baggage propagator.
pub fn propagator() -> opentelemetry::propagation::TextMapCompositePropagator {
    opentelemetry::propagation::TextMapCompositePropagator::new(vec![
        Box::new(W3CTraceContextPropagator::new()),
        Box::new(opentelemetry_sdk::propagation::BaggagePropagator::new()),
    ])
}

#[cfg(test)]
mod tests;
