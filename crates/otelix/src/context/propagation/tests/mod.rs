//! Unit tests of W3C Trace Context propagation, one module per concern; the carrier and the
//! helpers they share live here.

mod headers;
mod inject;
mod properties;
mod request_id;
mod traceparent;
mod tracestate;

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::trace::{SpanId, TraceId};

use super::request_id::MAX_REQUEST_ID_LEN;
use super::tracestate::{
    header_len, truncate_to_limit, TracestateError, MAX_LIST_MEMBERS, MAX_TRACESTATE_LEN,
};
use super::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A carrier that, unlike `HashMap`, can hold a header several times and any string at all.
struct Carrier(Vec<(String, String)>);

impl Carrier {
    fn new(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|&(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        )
    }
}

impl Extractor for Carrier {
    fn get(&self, key: &str) -> Option<&str> {
        self.get_all(key).and_then(|values| values.first().copied())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// The remote parent extracted from `pairs`, if any.
fn extract(pairs: &[(&str, &str)]) -> Option<SpanContext> {
    let cx = W3CTraceContextPropagator::new().extract(&Carrier::new(pairs));
    let span_context = cx.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}

fn parse(traceparent: &str) -> Result<(TraceId, SpanId, TraceFlags), TraceparentError> {
    parse_traceparent(&[traceparent])
}

fn assert_rejected(traceparent: &str, expected: TraceparentError) {
    assert_eq!(parse(traceparent).err(), Some(expected), "{traceparent:?}");
    assert_eq!(
        extract(&[("traceparent", traceparent)]),
        None,
        "{traceparent:?}"
    );
}

/// The `tracestate` extracted next to the valid `traceparent`, as a header; `""` when dropped.
/// Also checks that the parent itself survived, whatever happened to `tracestate`.
fn extracted_tracestate(tracestates: &[&str]) -> String {
    let mut pairs = vec![("traceparent", VALID)];
    pairs.extend(tracestates.iter().map(|&value| ("tracestate", value)));
    let Some(parent) = extract(&pairs) else {
        panic!("traceparent lost next to tracestate {tracestates:?}");
    };
    assert_eq!(parent.trace_id().to_string(), TRACE_ID);
    parent.trace_state().header()
}

fn assert_tracestate_rejected(tracestates: &[&str], expected: TracestateError) {
    assert_eq!(
        parse_tracestate(tracestates).err(),
        Some(expected),
        "{tracestates:?}"
    );
    assert_eq!(extracted_tracestate(tracestates), "", "{tracestates:?}");
}

/// `traceparent` with the given parts, the rest taken from [`VALID`].
fn traceparent(version: &str, trace_id: &str, parent_id: &str, flags: &str) -> String {
    format!("{version}-{trace_id}-{parent_id}-{flags}")
}

/// A list member `key=vvv…` exactly `len` characters long.
fn member(key: &str, len: usize) -> String {
    format!("{key}={}", "v".repeat(len - key.len() - 1))
}

fn trace_state(pairs: &[(&str, &str)]) -> TraceState {
    match TraceState::from_key_value(pairs.iter().copied()) {
        Ok(state) => state,
        Err(error) => panic!("test trace state {pairs:?} rejected: {error}"),
    }
}

fn span_context(flags: TraceFlags, state: TraceState) -> SpanContext {
    SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
        SpanId::from(0x00f0_67aa_0ba9_02b7),
        flags,
        true,
        state,
    )
}

fn inject(span_context: SpanContext) -> HashMap<String, String> {
    let cx = Context::new().with_remote_span_context(span_context);
    let mut carrier = HashMap::new();
    W3CTraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier
}

fn header_value(bytes: &[u8]) -> HeaderValue {
    match HeaderValue::from_bytes(bytes) {
        Ok(value) => value,
        Err(error) => panic!("test header value {bytes:?} is invalid: {error}"),
    }
}

fn header_map(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for &(name, value) in pairs {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(name) => {
                map.append(name, header_value(value));
            }
            Err(error) => panic!("test header name {name:?} is invalid: {error}"),
        }
    }
    map
}

fn extract_from_map(map: &HeaderMap) -> Option<SpanContext> {
    let cx = W3CTraceContextPropagator::new().extract(&HeaderExtractor(map));
    let span_context = cx.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}
