//! Writing `traceparent` and `tracestate`, and the round trip through extraction.

use super::*;

#[test]
fn inject_writes_version_00_traceparent() {
    let carrier = inject(span_context(TraceFlags::SAMPLED, TraceState::NONE));
    assert_eq!(carrier.get("traceparent").map(String::as_str), Some(VALID));
}

#[test]
fn inject_writes_sampled_and_unsampled_flags_only() {
    for (flags, expected) in [
        (TraceFlags::SAMPLED, "01"),
        (TraceFlags::NOT_SAMPLED, "00"),
        (TraceFlags::new(0xff), "01"),
        (TraceFlags::new(0xfe), "00"),
    ] {
        let carrier = inject(span_context(flags, TraceState::NONE));
        assert_eq!(
            carrier.get("traceparent").map(String::as_str),
            Some(traceparent("00", TRACE_ID, PARENT_ID, expected).as_str())
        );
    }
}

#[test]
fn inject_writes_nothing_for_an_invalid_span_context() {
    let mut carrier: HashMap<String, String> = HashMap::new();
    W3CTraceContextPropagator::new().inject_context(&Context::new(), &mut carrier);
    assert!(carrier.is_empty());
}

#[test]
fn inject_omits_empty_tracestate() {
    let carrier = inject(span_context(TraceFlags::SAMPLED, TraceState::NONE));
    assert_eq!(carrier.len(), 1);
    assert!(!carrier.contains_key("tracestate"));
}

#[test]
fn inject_writes_tracestate_in_order() {
    let state = trace_state(&[("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")]);
    let carrier = inject(span_context(TraceFlags::SAMPLED, state));
    assert_eq!(
        carrier.get("tracestate").map(String::as_str),
        Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
    );
}

#[test]
fn inject_leaves_out_members_the_grammar_forbids() {
    // `TraceState` accepts these; the next hop would have to drop the whole header.
    let state = trace_state(&[
        ("1abc", "x"),
        ("ok", "y"),
        ("v", ""),
        ("w", "caf\u{e9}"),
        ("ok", "z"),
    ]);
    let carrier = inject(span_context(TraceFlags::SAMPLED, state));
    assert_eq!(carrier.get("tracestate").map(String::as_str), Some("ok=y"));

    let only_invalid = trace_state(&[("1abc", "x")]);
    let carrier = inject(span_context(TraceFlags::SAMPLED, only_invalid));
    assert!(!carrier.contains_key("tracestate"));
}

#[test]
fn inject_applies_the_512_character_limit() {
    let values: Vec<String> = (0..6).map(|_| "v".repeat(97)).collect();
    let keys = ["k1", "k2", "k3", "k4", "k5", "k6"];
    let pairs: Vec<(&str, &str)> = keys
        .iter()
        .copied()
        .zip(values.iter().map(String::as_str))
        .collect();
    let carrier = inject(span_context(TraceFlags::SAMPLED, trace_state(&pairs)));
    let header = carrier.get("tracestate").cloned().unwrap_or_default();
    assert_eq!(header.len(), 504);
    assert_eq!(header.split(',').count(), 5);
}

#[test]
fn inject_downgrades_a_higher_version_to_00() {
    let incoming = format!("{}-future", traceparent("cc", TRACE_ID, PARENT_ID, "09"));
    let Some(parent) = extract(&[("traceparent", &incoming)]) else {
        panic!("{incoming} rejected");
    };
    assert_eq!(
        inject(parent).get("traceparent").map(String::as_str),
        Some(VALID)
    );
}

#[test]
fn extract_then_inject_round_trips() {
    let tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,a1@b2=  spaced value";
    let propagator = W3CTraceContextPropagator::new();
    let cx = propagator.extract(&Carrier::new(&[
        ("traceparent", VALID),
        ("tracestate", tracestate),
    ]));
    let mut carrier: HashMap<String, String> = HashMap::new();
    propagator.inject_context(&cx, &mut carrier);
    assert_eq!(carrier.get("traceparent").map(String::as_str), Some(VALID));
    assert_eq!(
        carrier.get("tracestate").map(String::as_str),
        Some(tracestate)
    );
}

#[test]
fn fields_are_the_two_header_names() {
    let propagator = W3CTraceContextPropagator::new();
    assert_eq!(
        propagator.fields().collect::<Vec<_>>(),
        ["traceparent", "tracestate"]
    );
}
