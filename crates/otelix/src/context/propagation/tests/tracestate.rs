//! Reading `tracestate`: grammar, list rules and the 512-character limit.

use super::*;

#[test]
fn tracestate_headers_are_combined_in_order() {
    assert_eq!(
        extracted_tracestate(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]),
        "foo=1,bar=2,rojo=1,congo=2,baz=3"
    );
}

#[test]
fn tracestate_is_ignored_without_a_valid_traceparent() {
    let cx = W3CTraceContextPropagator::new().extract(&Carrier::new(&[
        ("traceparent", "ff-bad"),
        ("tracestate", "foo=1"),
    ]));
    assert_eq!(cx.span().span_context().trace_state(), &TraceState::NONE);
    assert!(!cx.has_active_span());
}

#[test]
fn tracestate_with_an_invalid_key_is_dropped() {
    for invalid in [
        "FOO=1",
        "foo.bar=1",
        "foo =1",
        "1abc=1",
        "=1",
        "_foo=1",
        "foo@=1",
        "@foo=1",
        "foo@@bar=1",
        "foo@bar@baz=1",
        "foo@1bar=1",
        "foo@Bar=1",
        "_t@v=1",
        "f\u{e9}=1",
    ] {
        assert_tracestate_rejected(&[invalid, "bar=2"], TracestateError::InvalidKey);
        assert_tracestate_rejected(&["bar=2", invalid], TracestateError::InvalidKey);
    }
}

#[test]
fn tracestate_key_grammar_accepts_every_allowed_form() {
    let simple = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    let multi_tenant = format!("{simple}@a-z0-9_-*/");
    for key in [simple, &multi_tenant, "a", "0@a", "9t@v"] {
        let header = format!("{key}=1");
        assert_eq!(extracted_tracestate(&[&header]), header);
    }
}

#[test]
fn tracestate_key_length_limits_follow_the_grammar() {
    let longest_simple = format!("{}=1", "z".repeat(256));
    assert_eq!(
        extracted_tracestate(&["foo=1", &longest_simple]),
        format!("foo=1,{longest_simple}")
    );
    assert_tracestate_rejected(
        &["foo=1", &format!("{}=1", "z".repeat(257))],
        TracestateError::InvalidKey,
    );

    let longest_tenant = format!("{}@v=1", "t".repeat(241));
    assert_eq!(
        extracted_tracestate(&["foo=1", &longest_tenant]),
        format!("foo=1,{longest_tenant}")
    );
    assert_tracestate_rejected(
        &["foo=1", &format!("{}@v=1", "t".repeat(242))],
        TracestateError::InvalidKey,
    );

    let long_system = format!("t@{}=1", "v".repeat(13));
    assert_eq!(
        extracted_tracestate(&["foo=1", &long_system]),
        format!("foo=1,{long_system}")
    );
    assert_tracestate_rejected(
        &["foo=1", &format!("t@{}=1", "v".repeat(15))],
        TracestateError::InvalidKey,
    );
}

#[test]
fn longest_system_id_is_valid_but_left_out_because_trace_state_cannot_hold_it() {
    // The grammar allows 14 characters after '@'; opentelemetry 0.33's `TraceState` allows
    // 13. The list is valid, so the parent and every other entry are kept.
    let longest_system = format!("{}@{}=1", "t".repeat(241), "v".repeat(14));
    assert_eq!(
        parse_tracestate(&["foo=1", &longest_system, "bar=2"]).map(|members| members.len()),
        Ok(3)
    );
    assert_eq!(
        extracted_tracestate(&["foo=1", &longest_system, "bar=2"]),
        "foo=1,bar=2"
    );
    // If a later opentelemetry accepts it, this test fails and the docs need updating.
    assert!(TraceState::from_key_value([("t@vvvvvvvvvvvvvv", "1")]).is_err());
}

#[test]
fn tracestate_with_an_invalid_value_is_dropped() {
    for invalid in [
        "foo=",
        "foo=bar=baz",
        "foo=a\u{7f}",
        "foo=caf\u{e9}",
        "foo=a\tb",
        "foo=a\u{1}b",
        "foo=a\nb",
    ] {
        assert_tracestate_rejected(&[invalid, "bar=2"], TracestateError::InvalidValue);
    }
    assert_tracestate_rejected(&["foo=,bar=3"], TracestateError::InvalidValue);
}

#[test]
fn tracestate_value_grammar_accepts_every_allowed_character() {
    let value: String = (0x20_u8..=0x7e)
        .filter(|&byte| byte != b',' && byte != b'=')
        .map(char::from)
        .collect();
    let header = format!("foo={value}");
    assert_eq!(extracted_tracestate(&[&header]), header);
}

#[test]
fn tracestate_value_length_and_spaces_follow_the_grammar() {
    let longest = format!("k={}", "v".repeat(256));
    assert_eq!(extracted_tracestate(&[&longest]), longest);
    assert_tracestate_rejected(
        &[&format!("k={}", "v".repeat(257))],
        TracestateError::InvalidValue,
    );
    // Leading spaces belong to the value; trailing ones are optional whitespace.
    assert_eq!(extracted_tracestate(&["foo=  x y  "]), "foo=  x y");
    assert_tracestate_rejected(&["foo= "], TracestateError::InvalidValue);
}

#[test]
fn tracestate_member_without_equals_is_dropped() {
    assert_tracestate_rejected(&["foo=1,bar"], TracestateError::MissingEquals);
}

#[test]
fn tracestate_with_duplicate_keys_is_dropped() {
    use TracestateError::DuplicateKey;
    assert_tracestate_rejected(&["foo=1,foo=1"], DuplicateKey);
    assert_tracestate_rejected(&["foo=1,foo=2"], DuplicateKey);
    assert_tracestate_rejected(&["foo=1", "foo=1"], DuplicateKey);
    assert_tracestate_rejected(&["foo=1", "bar=2,foo=2"], DuplicateKey);
}

#[test]
fn tracestate_keeps_32_members_and_drops_33() {
    let members = |count: usize| -> String {
        (1..=count)
            .map(|index| format!("bar{index:02}={index:02}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let thirty_two = members(32);
    let extracted = extracted_tracestate(&[&thirty_two]);
    assert_eq!(extracted.split(',').count(), 32);
    assert_eq!(extracted, thirty_two);
    assert_tracestate_rejected(&[&members(33)], TracestateError::TooManyMembers);
    // Split across headers, as in the W3C test suite.
    let (first, rest) = thirty_two.split_at(thirty_two.len() / 2);
    assert_tracestate_rejected(&[first, rest, "bar33=33"], TracestateError::TooManyMembers);
}

#[test]
fn empty_tracestate_header_is_ignored() {
    assert_eq!(extracted_tracestate(&[""]), "");
    assert_eq!(extracted_tracestate(&[" \t "]), "");
    assert_eq!(extracted_tracestate(&["foo=1", ""]), "foo=1");
    assert_eq!(extracted_tracestate(&["", "foo=1"]), "foo=1");
}

#[test]
fn whitespace_and_empty_members_are_ignored() {
    assert_eq!(
        extracted_tracestate(&["foo=1 \t , \t bar=2, \t baz=3"]),
        "foo=1,bar=2,baz=3"
    );
    assert_eq!(
        extracted_tracestate(&["foo=1\t \t,\t \tbar=2,\t \tbaz=3"]),
        "foo=1,bar=2,baz=3"
    );
    assert_eq!(
        extracted_tracestate(&[",,foo=1,, ,\t,bar=2,"]),
        "foo=1,bar=2"
    );
    for value in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
        assert_eq!(extracted_tracestate(&[value]), "foo=1", "{value:?}");
    }
    // Empty members carry nothing, so they do not count towards the 32.
    let padded: String = (1..=32).map(|index| format!("k{index}=v, ,,")).collect();
    assert_eq!(extracted_tracestate(&[&padded]).split(',').count(), 32);
}

#[test]
fn tracestate_up_to_512_characters_is_kept_whole() {
    // 3 * 128 + 125 + 3 commas = 512 once normalised (more as written, with OWS); 128 is the
    // largest size that does not count as a large member.
    let members: Vec<String> = [("a", 128), ("b", 128), ("c", 128), ("d", 125)]
        .iter()
        .map(|&(key, len)| member(key, len))
        .collect();
    let normalised = members.join(",");
    assert_eq!(normalised.len(), 512);
    assert_eq!(extracted_tracestate(&[&members.join(" , ")]), normalised);

    // One character more, and with no member over 128 the last one goes.
    let over = [
        members[0].as_str(),
        &members[1],
        &members[2],
        &member("d", 126),
    ];
    assert_eq!(extracted_tracestate(&over), members[..3].join(","));

    // Truncation stops as soon as the header fits, at exactly 512 ...
    let mut one_more: Vec<&str> = members.iter().map(String::as_str).collect();
    one_more.push("e=123456789");
    assert_eq!(extracted_tracestate(&one_more), normalised);
    // ... and injection keeps a 512-character header whole.
    let pairs: Vec<(&str, &str)> = members.iter().filter_map(|m| m.split_once('=')).collect();
    let carrier = inject(span_context(TraceFlags::SAMPLED, trace_state(&pairs)));
    assert_eq!(carrier.get("tracestate"), Some(&normalised));
}

#[test]
fn tracestate_over_512_characters_drops_large_members_first() {
    // 100 + 200 + 200 + 100 + 3 commas = 603: dropping the rightmost large member (to 402)
    // is enough, so the other large one stays.
    let (k1, big_a, big_b, k2) = (
        member("k1", 100),
        member("biga", 200),
        member("bigb", 200),
        member("k2", 100),
    );
    assert_eq!(
        extracted_tracestate(&[&k1, &big_a, &big_b, &k2]),
        [k1.as_str(), &big_a, &k2].join(",")
    );
    let members = [k1.as_str(), &big_a, &big_b, &k2];
    let mut parsed = parse_tracestate(&members).unwrap_or_default();
    truncate_to_limit(&mut parsed);
    assert_eq!(header_len(&parsed), 402);
}

#[test]
fn tracestate_over_512_characters_then_drops_from_the_end() {
    // Six members of 100: 605; dropping the last gives 504.
    let members: Vec<String> = (1..=6)
        .map(|index| member(&format!("k{index}"), 100))
        .collect();
    let headers: Vec<&str> = members.iter().map(String::as_str).collect();
    assert_eq!(extracted_tracestate(&headers), members[..5].join(","));

    // A large member goes before any small one, even when it is not last.
    let mut with_large = members.clone();
    with_large.insert(0, member("big", 129));
    let headers: Vec<&str> = with_large.iter().map(String::as_str).collect();
    assert_eq!(extracted_tracestate(&headers), members[..5].join(","));
}

#[test]
fn single_member_longer_than_512_characters_is_dropped() {
    let huge = format!("{}={}", "k".repeat(256), "v".repeat(256));
    assert_eq!(
        parse_tracestate(&[&huge]).map(|members| members.len()),
        Ok(1)
    );
    assert_eq!(extracted_tracestate(&[&huge]), "");
}

#[test]
fn invalid_tracestate_keeps_the_parent() {
    let sampled = extract(&[("traceparent", VALID), ("tracestate", "FOO=1,foo=1,=,x")]);
    assert!(sampled.is_some_and(|parent| parent.is_sampled()
        && parent.span_id().to_string() == PARENT_ID
        && parent.trace_state() == &TraceState::NONE));
}
