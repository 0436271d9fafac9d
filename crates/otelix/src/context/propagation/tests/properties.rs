//! Properties over generated input: no panics, the limits kept, round trips exact.

use proptest::prelude::*;

use super::*;

/// Near-grammar text, so that the properties reach deep into the parsers, not only their
/// first check.
fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-fA-F\\-]{0,70}",
        "(0[0-9a-f]|cc|ff)-[0-9a-f]{30,34}-[0-9a-f]{14,18}-[0-9a-f]{1,3}[-.x]{0,2}",
        "[ \t]{0,2}[a-z0-9@_*/=, \t-]{0,600}",
    ]
}

fn tracestate_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_*/-]{0,20}",
        // System IDs of 14 characters are left out: `TraceState` cannot hold them.
        "[a-z0-9][a-z0-9_*/-]{0,10}@[a-z][a-z0-9_*/-]{0,12}",
    ]
}

fn tracestate_value() -> impl Strategy<Value = String> {
    "[ \\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,20}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]"
}

proptest! {
    #[test]
    fn extract_never_panics_and_keeps_its_limits(
        traceparents in proptest::collection::vec(header_text(), 0..3),
        tracestates in proptest::collection::vec(header_text(), 0..4),
    ) {
        let mut pairs: Vec<(&str, &str)> =
            traceparents.iter().map(|value| ("traceparent", value.as_str())).collect();
        pairs.extend(tracestates.iter().map(|value| ("tracestate", value.as_str())));
        if let Some(parent) = extract(&pairs) {
            prop_assert_eq!(traceparents.len(), 1);
            let header = parent.trace_state().header();
            prop_assert!(header.len() <= MAX_TRACESTATE_LEN);
            prop_assert!(header.is_empty() || header.split(',').count() <= MAX_LIST_MEMBERS);
            // Whatever was accepted is written back in a form that is accepted again.
            let carrier = inject(parent.clone());
            let again: Vec<(&str, &str)> =
                carrier.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
            prop_assert_eq!(extract(&again), Some(parent));
        }
    }

    #[test]
    fn header_extraction_never_panics_on_bytes(
        traceparent in proptest::collection::vec(any::<u8>(), 0..80),
        tracestate in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut map = HeaderMap::new();
        for (name, bytes) in [("traceparent", &traceparent), ("tracestate", &tracestate)] {
            if let Ok(value) = HeaderValue::from_bytes(bytes) {
                map.append(name, value);
            }
        }
        let _ = extract_from_map(&map);
    }

    #[test]
    fn inject_of_extract_round_trips(
        trace_id in 1..=u128::MAX,
        span_id in 1..=u64::MAX,
        flags in any::<u8>(),
        version in 0_u8..=0xfe,
        future in "(-[a-z0-9]{0,8}){0,3}",
        ows in "[ \t]{0,2}",
        members in proptest::collection::btree_map(tracestate_key(), tracestate_value(), 0..=8),
        separator in prop_oneof![Just(","), Just(", "), Just(" ,\t"), Just(",,")],
        split_headers in any::<bool>(),
    ) {
        let future = if version == 0 { "" } else { future.as_str() };
        let incoming = format!(
            "{ows}{version:02x}-{trace_id:032x}-{span_id:016x}-{flags:02x}{future}{ows}"
        );
        let written: Vec<String> =
            members.iter().map(|(key, value)| format!("{key}={value}")).collect();
        let joined = written.join(separator);
        let mut pairs = vec![("traceparent", incoming.as_str())];
        if split_headers {
            pairs.extend(written.iter().map(|member| ("tracestate", member.as_str())));
        } else {
            pairs.push(("tracestate", joined.as_str()));
        }

        let Some(parent) = extract(&pairs) else {
            return Err(TestCaseError::fail(format!("{incoming:?} rejected")));
        };
        let carrier = inject(parent);
        let expected = format!("00-{trace_id:032x}-{span_id:016x}-{:02x}", flags & 1);
        prop_assert_eq!(carrier.get("traceparent"), Some(&expected));
        let expected_state = (!written.is_empty()).then(|| written.join(","));
        prop_assert_eq!(carrier.get("tracestate"), expected_state.as_ref());
    }

    #[test]
    fn truncation_keeps_an_in_order_subset_within_limits(
        members in proptest::collection::btree_map(
            tracestate_key(),
            "[a-z]{1,200}",
            0..=32,
        ),
    ) {
        let written: Vec<String> =
            members.iter().map(|(key, value)| format!("{key}={value}")).collect();
        let headers: Vec<&str> = written.iter().map(String::as_str).collect();
        let kept = extracted_tracestate(&headers);
        prop_assert!(kept.len() <= MAX_TRACESTATE_LEN);
        let mut remaining = written.iter();
        for member in kept.split(',').filter(|member| !member.is_empty()) {
            prop_assert!(remaining.any(|written| written == member), "{} out of order", member);
        }
        if written.join(",").len() <= MAX_TRACESTATE_LEN {
            prop_assert_eq!(kept, written.join(","));
        }
    }

    #[test]
    fn sanitize_request_id_never_panics_and_keeps_only_visible_ascii(
        raw in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        if let Some(id) = sanitize_request_id(&raw) {
            prop_assert!((1..=MAX_REQUEST_ID_LEN).contains(&id.len()));
            prop_assert!(id.bytes().all(|byte| (0x21..=0x7e).contains(&byte)));
        }
    }
}
