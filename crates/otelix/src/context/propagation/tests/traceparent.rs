//! Reading `traceparent`: what is accepted, what is rejected and by which rule.

use super::*;

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
