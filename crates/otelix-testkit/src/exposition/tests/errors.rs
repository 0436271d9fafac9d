//! Invalid pages: the error names the line and the problem.

use super::*;

#[test]
fn errors_name_the_line_and_the_problem() {
    use ParseErrorKind as K;
    let cases: &[(&str, Format, usize, ParseErrorKind)] = &[
        (
            "a 1\nb{x=\"1} 2\n",
            Format::Prometheus,
            2,
            K::UnterminatedLabelValue("x".into()),
        ),
        (
            "a{x=\"\\t\"} 1\n",
            Format::Prometheus,
            1,
            K::InvalidEscape('t'),
        ),
        (
            "a{x=\"1\",x=\"2\"} 1\n",
            Format::Prometheus,
            1,
            K::DuplicateLabel("x".into()),
        ),
        (
            "a{x=1} 1\n",
            Format::Prometheus,
            1,
            K::MissingQuote("x".into()),
        ),
        (
            "a{x} 1\n",
            Format::Prometheus,
            1,
            K::MissingEquals("x".into()),
        ),
        ("a{1=\"x\"} 1\n", Format::Prometheus, 1, K::InvalidLabelName),
        (
            "a{x=\"1\" y=\"2\"} 1\n",
            Format::Prometheus,
            1,
            K::MissingCommaOrBrace,
        ),
        ("a{x=\"1\"\n", Format::Prometheus, 1, K::MissingCommaOrBrace),
        ("\n\na\n", Format::Prometheus, 3, K::MissingValue),
        (
            "a one\n",
            Format::Prometheus,
            1,
            K::InvalidValue("one".into()),
        ),
        (
            "a 1 2 3\n",
            Format::Prometheus,
            1,
            K::TrailingText("3".into()),
        ),
        ("1a 1\n", Format::Prometheus, 1, K::InvalidMetricName),
        ("{a=\"1\"} 1\n", Format::Prometheus, 1, K::InvalidMetricName),
        (
            "a 1 # {t=\"1\"} 1\n",
            Format::Prometheus,
            1,
            K::UnexpectedExemplar,
        ),
        (
            "a 1 # t 1\n# EOF\n",
            Format::OpenMetrics,
            1,
            K::MissingExemplarLabels,
        ),
        (
            "a 1 # {t=\"1\"}\n# EOF\n",
            Format::OpenMetrics,
            1,
            K::MissingValue,
        ),
        (
            "a 1 # {t=\"1\"} 1 inf\n# EOF\n",
            Format::OpenMetrics,
            1,
            K::InvalidTimestamp("inf".into()),
        ),
        ("a 1\n", Format::OpenMetrics, 2, K::MissingEof),
        ("", Format::OpenMetrics, 1, K::MissingEof),
        ("# EOF\na 1\n", Format::OpenMetrics, 2, K::ContentAfterEof),
        ("# EOF\n\n", Format::OpenMetrics, 2, K::ContentAfterEof),
        (
            "# EOF x\n",
            Format::OpenMetrics,
            1,
            K::TrailingText("x".into()),
        ),
        ("# TYPE a\n", Format::Prometheus, 1, K::MissingType),
        (
            "# TYPE a gaugehistogram\n",
            Format::Prometheus,
            1,
            K::UnknownType("gaugehistogram".into()),
        ),
        (
            "# TYPE a untyped\n# EOF\n",
            Format::OpenMetrics,
            1,
            K::UnknownType("untyped".into()),
        ),
        (
            "# TYPE a gauge extra\n",
            Format::Prometheus,
            1,
            K::TrailingText("extra".into()),
        ),
        (
            "# TYPE a{ gauge\n",
            Format::Prometheus,
            1,
            K::InvalidMetricName,
        ),
        ("# HELP\n", Format::Prometheus, 1, K::InvalidMetricName),
        (
            "# HELP a \\q\n",
            Format::Prometheus,
            1,
            K::InvalidEscape('q'),
        ),
        (
            "# HELP a say \\\"hi\\\"\n",
            Format::Prometheus,
            1,
            K::InvalidEscape('"'),
        ),
        (
            "# TYPE a gauge\n# TYPE a counter\n",
            Format::Prometheus,
            2,
            K::DuplicateMetadata {
                keyword: "TYPE",
                name: "a".into(),
            },
        ),
        (
            "# HELP a x\n# HELP a y\n",
            Format::Prometheus,
            2,
            K::DuplicateMetadata {
                keyword: "HELP",
                name: "a".into(),
            },
        ),
        (
            "a 1\n# TYPE a gauge\n",
            Format::Prometheus,
            2,
            K::MetadataAfterSamples {
                keyword: "TYPE",
                name: "a".into(),
            },
        ),
        (
            "# TYPE a gauge\na 1\n# TYPE b gauge\n# HELP a late\n",
            Format::Prometheus,
            4,
            K::MetadataAfterSamples {
                keyword: "HELP",
                name: "a".into(),
            },
        ),
        (
            "# UNIT a seconds\n# UNIT a bytes\n# EOF\n",
            Format::OpenMetrics,
            2,
            K::DuplicateMetadata {
                keyword: "UNIT",
                name: "a".into(),
            },
        ),
    ];
    for (text, format, line, kind) in cases {
        let error = error(text, *format);
        assert_eq!(
            (error.line(), error.kind()),
            (*line, kind),
            "{text:?}: {error}"
        );
        if *kind != K::MissingEof {
            let expected = text.split('\n').nth(line - 1).unwrap_or_default();
            assert_eq!(error.text(), expected, "{text:?}");
        }
    }
    let message = error("ok 1\nbad{x=\"1} 2\n", Format::Prometheus).to_string();
    assert_eq!(
        message,
        r#"line 2: the value of label x is not closed: "bad{x=\"1} 2""#
    );
    assert_eq!(
        error("a 1\n", Format::OpenMetrics).to_string(),
        "line 2: the OpenMetrics page does not end with # EOF"
    );
}

#[test]
fn long_lines_are_cut_in_errors() {
    let long = format!("a{{x=\"{}", "é".repeat(1000));
    let error = error(&long, Format::Prometheus);
    assert_eq!(error.text().chars().count(), 203);
    assert!(error.text().ends_with("..."));
}
