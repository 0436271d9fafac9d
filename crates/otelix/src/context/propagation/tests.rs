use std::collections::HashMap;

use proptest::prelude::*;

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

// ---- traceparent ----

#[test]
fn valid_traceparent_is_extracted_as_remote_parent() {
    let Some(parent) = extract(&[("traceparent", VALID)]) else {
        panic!("valid traceparent rejected");
    };
    assert_eq!(parent.trace_id().to_string(), TRACE_ID);
    assert_eq!(parent.span_id().to_string(), PARENT_ID);
    assert!(parent.is_sampled());
    assert!(parent.is_remote());
    assert_eq!(parent.trace_state(), &TraceState::NONE);

    let unsampled = traceparent("00", TRACE_ID, PARENT_ID, "00");
    let Some(parent) = extract(&[("traceparent", &unsampled)]) else {
        panic!("unsampled traceparent rejected");
    };
    assert!(!parent.is_sampled());
}

#[test]
fn only_the_sampled_flag_is_kept() {
    for (flags, expected) in [
        ("01", TraceFlags::SAMPLED),
        ("09", TraceFlags::SAMPLED),
        ("ff", TraceFlags::SAMPLED),
        ("00", TraceFlags::NOT_SAMPLED),
        ("08", TraceFlags::NOT_SAMPLED),
        ("fe", TraceFlags::NOT_SAMPLED),
    ] {
        let value = traceparent("00", TRACE_ID, PARENT_ID, flags);
        assert_eq!(
            parse(&value).map(|(_, _, flags)| flags),
            Ok(expected),
            "{flags}"
        );
    }
}

#[test]
fn uppercase_hex_is_rejected() {
    use TraceparentError::*;
    assert_rejected(
        &traceparent("0A", TRACE_ID, PARENT_ID, "01"),
        InvalidVersion,
    );
    assert_rejected(
        &traceparent("00", "4BF92F3577B34DA6A3CE929D0E0E4736", PARENT_ID, "01"),
        InvalidTraceId,
    );
    assert_rejected(
        &traceparent("00", "4bf92f3577b34da6a3ce929d0e0e473A", PARENT_ID, "01"),
        InvalidTraceId,
    );
    assert_rejected(
        &traceparent("00", TRACE_ID, "00F067AA0BA902B7", "01"),
        InvalidParentId,
    );
    assert_rejected(&traceparent("00", TRACE_ID, PARENT_ID, "0B"), InvalidFlags);
    assert_rejected(
        &traceparent("CC", TRACE_ID, PARENT_ID, "01"),
        InvalidVersion,
    );
}

#[test]
fn non_hex_characters_are_rejected() {
    use TraceparentError::*;
    assert_rejected(
        &traceparent(".0", TRACE_ID, PARENT_ID, "01"),
        InvalidVersion,
    );
    assert_rejected(
        &traceparent("0g", TRACE_ID, PARENT_ID, "01"),
        InvalidVersion,
    );
    // A leading '+' is accepted by `from_str_radix`, which is why it is not used.
    assert_rejected(
        &traceparent("00", "+bf92f3577b34da6a3ce929d0e0e4736", PARENT_ID, "01"),
        InvalidTraceId,
    );
    assert_rejected(
        &traceparent("00", "4bf92f3577b34da6a3ce929d0e0e473.", PARENT_ID, "01"),
        InvalidTraceId,
    );
    assert_rejected(
        &traceparent("00", TRACE_ID, "+0f067aa0ba902b7", "01"),
        InvalidParentId,
    );
    assert_rejected(&traceparent("00", TRACE_ID, PARENT_ID, ".0"), InvalidFlags);
    assert_rejected(&traceparent("00", TRACE_ID, PARENT_ID, "+1"), InvalidFlags);
    assert_rejected(
        &traceparent(
            "00",
            "4bf92f3577b34da6a3ce929d0e0e47\u{e9}",
            PARENT_ID,
            "01",
        ),
        InvalidTraceId,
    );
}

#[test]
fn wrong_field_lengths_are_rejected() {
    use TraceparentError::*;
    let short_trace = &TRACE_ID[1..];
    let long_trace = format!("{TRACE_ID}0");
    let short_parent = &PARENT_ID[1..];
    let long_parent = format!("{PARENT_ID}0");
    assert_rejected("", InvalidVersion);
    assert_rejected("00", InvalidVersion);
    assert_rejected("00-", Length(3));
    assert_rejected(&traceparent("0", TRACE_ID, PARENT_ID, "01"), InvalidVersion);
    assert_rejected(
        &traceparent("000", TRACE_ID, PARENT_ID, "01"),
        InvalidVersion,
    );
    assert_rejected(&traceparent("00", short_trace, PARENT_ID, "01"), Length(54));
    assert_rejected(&traceparent("00", &long_trace, PARENT_ID, "01"), Length(56));
    assert_rejected(&traceparent("00", TRACE_ID, short_parent, "01"), Length(54));
    assert_rejected(&traceparent("00", TRACE_ID, &long_parent, "01"), Length(56));
    assert_rejected(&traceparent("00", TRACE_ID, PARENT_ID, "1"), Length(54));
    assert_rejected(&traceparent("00", TRACE_ID, PARENT_ID, "001"), Length(56));
    // Right total length, fields in the wrong places.
    assert_rejected(
        &traceparent("00", &long_trace, short_parent, "01"),
        MissingSeparator,
    );
    assert_rejected(&format!("{VALID}.")[..], Length(56));
}

#[test]
fn all_zero_ids_are_rejected() {
    use TraceparentError::*;
    let zero_trace = "0".repeat(32);
    let zero_parent = "0".repeat(16);
    assert_rejected(
        &traceparent("00", &zero_trace, PARENT_ID, "01"),
        ZeroTraceId,
    );
    assert_rejected(
        &traceparent("00", TRACE_ID, &zero_parent, "01"),
        ZeroParentId,
    );
    assert_rejected(
        &traceparent("00", &zero_trace, &zero_parent, "01"),
        ZeroTraceId,
    );
    assert_rejected(
        &traceparent("cc", &zero_trace, PARENT_ID, "01"),
        ZeroTraceId,
    );
}

#[test]
fn version_ff_is_rejected() {
    use TraceparentError::*;
    assert_rejected(
        &traceparent("ff", TRACE_ID, PARENT_ID, "01"),
        ForbiddenVersion,
    );
    assert_rejected(
        &format!("{}-future", traceparent("ff", TRACE_ID, PARENT_ID, "01")),
        ForbiddenVersion,
    );
}

#[test]
fn higher_version_without_extra_fields_is_accepted() {
    for version in ["01", "cc", "fe"] {
        let value = traceparent(version, TRACE_ID, PARENT_ID, "09");
        let Some(parent) = extract(&[("traceparent", &value)]) else {
            panic!("{value} rejected");
        };
        assert_eq!(parent.trace_id().to_string(), TRACE_ID);
        assert_eq!(parent.span_id().to_string(), PARENT_ID);
        assert_eq!(parent.trace_flags(), TraceFlags::SAMPLED);
    }
}

#[test]
fn higher_version_with_extra_fields_is_accepted() {
    let base = traceparent("cc", TRACE_ID, PARENT_ID, "01");
    for suffix in ["-what-the-future-will-be-like", "-", "-X\u{e9}Z-", "--"] {
        let value = format!("{base}{suffix}");
        let Some(parent) = extract(&[("traceparent", &value)]) else {
            panic!("{value:?} rejected");
        };
        assert_eq!(parent.trace_id().to_string(), TRACE_ID);
        assert!(parent.is_sampled());
    }
}

#[test]
fn higher_version_with_bad_layout_is_rejected() {
    use TraceparentError::*;
    let base = traceparent("cc", TRACE_ID, PARENT_ID, "01");
    assert_rejected(
        &format!("{base}.what-the-future-will-be-like"),
        UnknownFieldsSeparator,
    );
    assert_rejected(&format!("{base}0"), UnknownFieldsSeparator);
    assert_rejected(&traceparent("cc", TRACE_ID, PARENT_ID, "1"), Length(54));
    assert_rejected(
        &traceparent("cc", TRACE_ID, &format!("{PARENT_ID}0"), "1"),
        MissingSeparator,
    );
    assert_rejected(
        &traceparent("cc", "4bf92f3577b34da6a3ce929d0e0e473G", PARENT_ID, "01"),
        InvalidTraceId,
    );
}

#[test]
fn version_00_with_extra_fields_is_rejected() {
    use TraceparentError::*;
    assert_rejected(&format!("{VALID}-what-the-future-will-be-like"), Length(84));
    assert_rejected(&format!("{VALID}-"), Length(56));
}

#[test]
fn bad_separators_are_rejected() {
    use TraceparentError::*;
    let dashes_to = |separator: &str| VALID.replace('-', separator);
    assert_rejected(&dashes_to("_"), InvalidVersion);
    assert_rejected(&dashes_to(" "), InvalidVersion);
    assert_rejected(&format!("00-{TRACE_ID}_{PARENT_ID}-01"), MissingSeparator);
    assert_rejected(&format!("00-{TRACE_ID}-{PARENT_ID}_01"), MissingSeparator);
    assert_rejected(&format!("cc-{TRACE_ID}-{PARENT_ID}_01"), MissingSeparator);
    assert_rejected(&format!("00_{TRACE_ID}-{PARENT_ID}-01"), InvalidVersion);
}

#[test]
fn duplicated_traceparent_headers_are_rejected() {
    let other = traceparent("00", "12345678901234567890123456789012", PARENT_ID, "01");
    assert_eq!(
        parse_traceparent(&[VALID, &other]).err(),
        Some(TraceparentError::Duplicated)
    );
    assert_eq!(
        extract(&[("traceparent", VALID), ("traceparent", &other)]),
        None
    );
    // Even two identical copies: the header is malformed, whatever it says.
    assert_eq!(
        extract(&[("traceparent", VALID), ("traceparent", VALID)]),
        None
    );
}

#[test]
fn comma_joined_traceparent_is_rejected() {
    use TraceparentError::*;
    assert_rejected(&format!("{VALID},{VALID}"), Duplicated);
    assert_rejected(&format!("{VALID}, {VALID}"), Duplicated);
    assert_rejected(&format!("{VALID},"), Duplicated);
    assert_rejected(&format!(", {VALID}"), Duplicated);
}

#[test]
fn optional_whitespace_around_traceparent_is_tolerated() {
    for value in [
        format!(" {VALID}"),
        format!("\t{VALID}"),
        format!("{VALID} "),
        format!("{VALID}\t"),
        format!("\t {VALID} \t"),
    ] {
        let Some(parent) = extract(&[("traceparent", &value)]) else {
            panic!("{value:?} rejected");
        };
        assert_eq!(parent.trace_id().to_string(), TRACE_ID);
    }
}

#[test]
fn other_whitespace_in_traceparent_is_rejected() {
    use TraceparentError::*;
    assert_rejected(&format!("\n{VALID}"), InvalidVersion);
    assert_rejected(&format!("\u{a0}{VALID}"), InvalidVersion);
    assert_rejected(&format!("{VALID}\r\n"), Length(57));
    assert_rejected(&VALID.replacen('-', "- ", 1), Length(56));
}

#[test]
fn missing_traceparent_gives_no_parent() {
    assert_eq!(
        parse_traceparent(&[]).err(),
        Some(TraceparentError::Missing)
    );
    assert_eq!(extract(&[]), None);
    assert_eq!(extract(&[("tracestate", "foo=1")]), None);
    assert_eq!(extract(&[("trace-parent", VALID)]), None);
}

#[test]
fn invalid_traceparent_leaves_the_given_context_alone() {
    let propagator = W3CTraceContextPropagator::new();
    let existing = span_context(TraceFlags::NOT_SAMPLED, TraceState::NONE);
    let cx = Context::new().with_remote_span_context(existing.clone());

    let invalid = Carrier::new(&[("traceparent", "00-garbage")]);
    let kept = propagator.extract_with_context(&cx, &invalid);
    assert_eq!(kept.span().span_context(), &existing);

    let other = traceparent("00", "12345678901234567890123456789012", PARENT_ID, "01");
    let replaced = propagator.extract_with_context(&cx, &Carrier::new(&[("traceparent", &other)]));
    assert_eq!(
        replaced.span().span_context().trace_id().to_string(),
        "12345678901234567890123456789012"
    );
}

// ---- tracestate ----

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

// ---- injection ----

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

// ---- http::HeaderMap adapters ----

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

fn extract_from_map(map: &HeaderMap) -> Option<SpanContext> {
    let cx = W3CTraceContextPropagator::new().extract(&HeaderExtractor(map));
    let span_context = cx.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
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

// ---- sanitize_request_id ----

#[test]
fn request_id_of_visible_ascii_is_kept() {
    assert_eq!(sanitize_request_id(b"abc-123").as_deref(), Some("abc-123"));
    assert_eq!(
        sanitize_request_id(b"!~{}\"'<>").as_deref(),
        Some("!~{}\"'<>")
    );
}

#[test]
fn request_id_surrounding_spaces_are_trimmed() {
    assert_eq!(sanitize_request_id(b"  abc  ").as_deref(), Some("abc"));
    assert_eq!(sanitize_request_id(b"\t abc \t").as_deref(), Some("abc"));
}

#[test]
fn request_id_length_is_bounded() {
    let longest = "r".repeat(128);
    assert_eq!(
        sanitize_request_id(longest.as_bytes()),
        Some(longest.clone())
    );
    let padded = format!("  {longest}  ");
    assert_eq!(sanitize_request_id(padded.as_bytes()), Some(longest));
    assert_eq!(sanitize_request_id("r".repeat(129).as_bytes()), None);
    assert_eq!(sanitize_request_id(b""), None);
    assert_eq!(sanitize_request_id(b"   "), None);
}

#[test]
fn request_id_with_other_bytes_is_refused() {
    for raw in [
        &b"two words"[..],
        b"tab\tinside",
        b"\nabc",
        b"abc\r\n",
        b"nul\0",
        b"del\x7f",
        "caf\u{e9}".as_bytes(),
        b"\xff\xfe",
    ] {
        assert_eq!(sanitize_request_id(raw), None, "{raw:?}");
    }
}

// ---- properties ----

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
