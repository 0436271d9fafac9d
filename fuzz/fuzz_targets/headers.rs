//! The request headers otelix reads from every client: `traceparent`, `tracestate`, `baggage`
//! and `X-Request-ID`, as arbitrary bytes through the same extraction the middleware does.
//! Nothing may panic, and what comes out is bounded: a valid or no span context, at most 32
//! `tracestate` entries, at most 64 baggage entries, a request ID of at most 128 visible ASCII
//! characters.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use otelix::HeaderExtractor;

fuzz_target!(|data: &[u8]| {
    // Four values separated by 0xFF, a byte no header value may contain.
    let mut parts = data.split(|b| *b == 0xff);
    let mut headers = HeaderMap::new();
    for name in ["traceparent", "tracestate", "baggage", "x-request-id"] {
        let Some(raw) = parts.next() else { break };
        if let Ok(value) = HeaderValue::from_bytes(raw) {
            headers.append(name, value);
        }
        if name == "x-request-id" {
            if let Some(id) = otelix::sanitize_request_id(raw) {
                assert!(!id.is_empty() && id.len() <= 128, "{id:?}");
                assert!(id.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{id:?}");
            }
        }
    }
    let cx = otelix::propagator().extract(&HeaderExtractor(&headers));
    let span = cx.span();
    let span_context = span.span_context();
    if span_context.is_valid() {
        assert!(span_context.is_remote());
        let header = span_context.trace_state().header();
        assert!(header.split(',').filter(|e| !e.is_empty()).count() <= 32, "{header}");
    }
    assert!(cx.baggage().len() <= 64, "{}", cx.baggage().len());
    // What was extracted can be injected again without panicking.
    let mut out = HeaderMap::new();
    otelix::propagator().inject_context(&cx, &mut otelix::HeaderInjector(&mut out));
});
