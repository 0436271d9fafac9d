//! The `http::HeaderMap` adapters.

use super::*;

#[test]
fn header_extractor_reads_values_and_names() {
    let map = header_map(&[
        ("TraceParent", VALID.as_bytes()),
        ("tracestate", b"foo=1"),
        ("tracestate", b"bar=2"),
    ]);
    let extractor = HeaderExtractor(&map);
    assert_eq!(extractor.get("traceparent"), Some(VALID));
    assert_eq!(extractor.get("TRACEPARENT"), Some(VALID));
    assert_eq!(extractor.get("tracestate"), Some("foo=1"));
    assert_eq!(
        extractor.get_all("tracestate"),
        Some(vec!["foo=1", "bar=2"])
    );
    assert_eq!(extractor.get("missing"), None);
    assert_eq!(extractor.get_all("missing"), None);
    assert_eq!(extractor.get("not a header name"), None);
    let mut keys = extractor.keys();
    keys.sort_unstable();
    assert_eq!(keys, ["traceparent", "tracestate"]);

    let Some(parent) = extract_from_map(&map) else {
        panic!("traceparent from a HeaderMap rejected");
    };
    assert_eq!(parent.trace_state().header(), "foo=1,bar=2");
}

#[test]
fn header_extractor_refuses_values_that_are_not_visible_ascii() {
    let map = header_map(&[("x-bytes", b"caf\xc3\xa9"), ("x-latin1", b"\xff\xfe")]);
    let extractor = HeaderExtractor(&map);
    assert_eq!(extractor.get("x-bytes"), None);
    assert_eq!(extractor.get("x-latin1"), None);
    assert_eq!(extractor.get_all("x-latin1"), None);

    // An unreadable second traceparent must still count as a duplicate.
    let map = header_map(&[("traceparent", VALID.as_bytes()), ("traceparent", b"\xff")]);
    assert_eq!(HeaderExtractor(&map).get_all("traceparent"), None);
    assert_eq!(extract_from_map(&map), None);

    // An unreadable tracestate part spoils the tracestate, not the parent.
    let map = header_map(&[
        ("traceparent", VALID.as_bytes()),
        ("tracestate", b"foo=1"),
        ("tracestate", b"bar=\xff"),
    ]);
    let parent = extract_from_map(&map);
    assert!(parent.is_some_and(|parent| parent.trace_state() == &TraceState::NONE));
}

#[test]
fn header_extractor_handles_8_kib_headers() {
    let big = "x".repeat(8 * 1024);
    let map = header_map(&[("x-big", big.as_bytes())]);
    assert_eq!(
        HeaderExtractor(&map).get("x-big").map(str::len),
        Some(8 * 1024)
    );

    let long_00 = format!("{VALID}-{big}");
    let map = header_map(&[("traceparent", long_00.as_bytes())]);
    assert_eq!(extract_from_map(&map), None);

    let long_cc = format!("{}-{big}", traceparent("cc", TRACE_ID, PARENT_ID, "01"));
    let map = header_map(&[("traceparent", long_cc.as_bytes())]);
    assert!(extract_from_map(&map).is_some());

    let many: String = (0..1024).map(|index| format!("k{index}=v,")).collect();
    let separators = ", \t".repeat(2 * 1024);
    let huge_value = format!("k={big}");
    for tracestate in [&many, &separators, &huge_value] {
        let map = header_map(&[
            ("traceparent", VALID.as_bytes()),
            ("tracestate", tracestate.as_bytes()),
        ]);
        let parent = extract_from_map(&map);
        assert!(parent.is_some_and(|parent| parent.trace_state() == &TraceState::NONE));
    }
}

#[test]
fn header_injector_writes_lowercase_names_and_replaces_values() {
    let mut map = HeaderMap::new();
    let mut injector = HeaderInjector(&mut map);
    injector.reserve(2);
    injector.set("TraceParent", "first".to_owned());
    injector.set("traceparent", VALID.to_owned());
    assert_eq!(map.get_all("traceparent").iter().count(), 1);
    assert_eq!(
        map.get("traceparent").map(HeaderValue::as_bytes),
        Some(VALID.as_bytes())
    );
    assert_eq!(
        map.keys().map(HeaderName::as_str).collect::<Vec<_>>(),
        ["traceparent"]
    );

    let cx = Context::new().with_remote_span_context(span_context(
        TraceFlags::SAMPLED,
        trace_state(&[("foo", "1")]),
    ));
    let mut map = HeaderMap::new();
    W3CTraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut map));
    assert_eq!(
        map.get("traceparent").map(HeaderValue::as_bytes),
        Some(VALID.as_bytes())
    );
    assert_eq!(
        map.get("tracestate").map(HeaderValue::as_bytes),
        Some(&b"foo=1"[..])
    );
}

#[test]
fn header_injector_skips_invalid_names_and_values() {
    let mut map = HeaderMap::new();
    let mut injector = HeaderInjector(&mut map);
    injector.reserve(usize::MAX);
    injector.set("x-ok", "fine".to_owned());
    injector.set("not a name", "fine".to_owned());
    injector.set("x-newline", "a\r\nb".to_owned());
    injector.set("x-nul", "a\0b".to_owned());
    assert_eq!(map.len(), 1);
    assert_eq!(
        map.get("x-ok").map(HeaderValue::as_bytes),
        Some(&b"fine"[..])
    );
}
