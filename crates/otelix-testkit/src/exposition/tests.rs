use proptest::prelude::*;

use super::*;

/// What the Prometheus bridge serves: escaped help, `_total` counters, a histogram.
const PROMETHEUS_PAGE: &str = r#"# HELP otelix_cache_requests_total Cache requests by result, with a \\ and a\nnewline.
# TYPE otelix_cache_requests_total counter
otelix_cache_requests_total{cache_name="members",cache_result="hit",otel_scope_name="otelix"} 3
otelix_cache_requests_total{cache_name="members",cache_result="miss",otel_scope_name="otelix"} 1
# HELP http_server_request_duration_seconds Duration of HTTP server requests.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_route="/users/{id}",le="0.005"} 0
http_server_request_duration_seconds_bucket{http_route="/users/{id}",le="+Inf"} 2
http_server_request_duration_seconds_sum{http_route="/users/{id}"} 0.024
http_server_request_duration_seconds_count{http_route="/users/{id}"} 2
# A comment that is neither HELP nor TYPE.

# TYPE target_info gauge
target_info{service_name="otelix-test"} 1
"#;

const OPENMETRICS_PAGE: &str = r#"# HELP jobs Runs with \"quotes\"\nand a line
# TYPE jobs counter
jobs_total{job_name="a\\b\"c"} 3
jobs_created{job_name="a\\b\"c"} 1764240000.5
# TYPE request_duration_seconds histogram
# UNIT request_duration_seconds seconds
request_duration_seconds_bucket{le="0.005"} 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.004 1764240000.123
request_duration_seconds_bucket{le="+Inf"} 2 # {trace_id="00f067aa0ba902b7"} 3
request_duration_seconds_sum 3.004
request_duration_seconds_count 2
# EOF
"#;

fn parse_ok(text: &str) -> Exposition {
    Exposition::parse(text).expect("a valid page")
}

fn error(text: &str, format: Format) -> ParseError {
    match Exposition::parse_as(text, format) {
        Ok(parsed) => panic!("accepted as {format:?}: {parsed:#?}"),
        Err(error) => error,
    }
}

#[test]
fn prometheus_families_and_samples() {
    let page = parse_ok(PROMETHEUS_PAGE);
    assert_eq!(page.format(), Format::Prometheus);
    let names: Vec<&str> = page.families().iter().map(Family::name).collect();
    assert_eq!(
        names,
        [
            "otelix_cache_requests_total",
            "http_server_request_duration_seconds",
            "target_info"
        ]
    );

    let cache = page
        .family("otelix_cache_requests_total")
        .expect("the counter");
    assert_eq!(cache.metric_type(), MetricType::Counter);
    assert_eq!(
        cache.help(),
        Some("Cache requests by result, with a \\ and a\nnewline.")
    );
    assert_eq!(cache.unit(), None);
    assert_eq!(cache.samples().len(), 2);

    let histogram = page
        .family("http_server_request_duration_seconds")
        .expect("the histogram");
    assert_eq!(histogram.metric_type(), MetricType::Histogram);
    assert_eq!(histogram.samples().len(), 4);

    assert_eq!(
        page.value(
            "otelix_cache_requests_total",
            &[("cache_result", "hit"), ("cache_name", "members")]
        ),
        Some(3.0)
    );
    let inf = page
        .sample(
            "http_server_request_duration_seconds_bucket",
            &[("le", "+Inf")],
        )
        .expect("one +Inf bucket");
    assert_eq!(inf.value(), 2.0);
    assert_eq!(inf.label("http_route"), Some("/users/{id}"));
    assert_eq!(inf.line(), 8);
    assert_eq!(inf.timestamp(), None);
    assert_eq!(inf.exemplar(), None);
    assert_eq!(
        page.value("http_server_request_duration_seconds_sum", &[]),
        Some(0.024)
    );
}

#[test]
fn queries() {
    let page = parse_ok(PROMETHEUS_PAGE);
    // Two samples match: `sample` and `value` want exactly one.
    assert_eq!(page.find("otelix_cache_requests_total", &[]).len(), 2);
    assert_eq!(page.sample("otelix_cache_requests_total", &[]), None);
    assert_eq!(page.value("otelix_cache_requests_total", &[]), None);
    assert_eq!(page.value("no_such_metric", &[]), None);
    assert!(page
        .find("otelix_cache_requests_total", &[("cache_result", "error")])
        .is_empty());
    // An empty value matches an absent label, as in PromQL.
    assert_eq!(
        page.find(
            "http_server_request_duration_seconds_sum",
            &[("error_type", "")]
        )
        .len(),
        1
    );
    assert!(page
        .find(
            "http_server_request_duration_seconds_sum",
            &[("http_route", "")]
        )
        .is_empty());

    assert_eq!(
        page.sample_names().into_iter().collect::<Vec<_>>(),
        [
            "http_server_request_duration_seconds_bucket",
            "http_server_request_duration_seconds_count",
            "http_server_request_duration_seconds_sum",
            "otelix_cache_requests_total",
            "target_info",
        ]
    );
    assert_eq!(
        page.label_names("http_server_request_duration_seconds_bucket")
            .into_iter()
            .collect::<Vec<_>>(),
        ["http_route", "le"]
    );
    assert!(page.label_names("no_such_metric").is_empty());
    assert_eq!(page.samples().count(), 7);
}

#[test]
fn openmetrics_metadata_exemplars_and_timestamps() {
    let page = parse_ok(OPENMETRICS_PAGE);
    assert_eq!(page.format(), Format::OpenMetrics);

    let jobs = page.family("jobs").expect("the counter");
    assert_eq!(jobs.metric_type(), MetricType::Counter);
    assert_eq!(jobs.help(), Some("Runs with \"quotes\"\nand a line"));
    let names: Vec<&str> = jobs.samples().iter().map(Sample::name).collect();
    assert_eq!(names, ["jobs_total", "jobs_created"]);
    assert_eq!(jobs.samples()[0].label("job_name"), Some("a\\b\"c"));
    assert_eq!(jobs.samples()[1].value(), 1_764_240_000.5);

    let durations = page
        .family("request_duration_seconds")
        .expect("the histogram");
    assert_eq!(durations.unit(), Some("seconds"));
    assert_eq!(durations.samples().len(), 4);

    let first = page
        .sample("request_duration_seconds_bucket", &[("le", "0.005")])
        .expect("the first bucket");
    let exemplar = first.exemplar().expect("an exemplar");
    assert_eq!(
        exemplar.label("trace_id"),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(exemplar.labels().len(), 1);
    assert_eq!(exemplar.value(), 0.004);
    assert_eq!(exemplar.timestamp(), Some(1_764_240_000.123));

    let last = page
        .sample("request_duration_seconds_bucket", &[("le", "+Inf")])
        .expect("the +Inf bucket");
    let exemplar = last.exemplar().expect("an exemplar");
    assert_eq!(exemplar.value(), 3.0);
    assert_eq!(exemplar.timestamp(), None);
    assert_eq!(
        page.sample("request_duration_seconds_sum", &[])
            .map(Sample::exemplar),
        Some(None)
    );
}

#[test]
fn special_values_and_timestamps() {
    let page = parse_ok("a +Inf\nb -Inf\nc NaN\nd 1.5e3 1700000000000\ne -0.25\t\t-12\n");
    assert_eq!(page.value("a", &[]), Some(f64::INFINITY));
    assert_eq!(page.value("b", &[]), Some(f64::NEG_INFINITY));
    assert!(page.value("c", &[]).is_some_and(f64::is_nan));
    let d = page.sample("d", &[]).expect("d");
    assert_eq!(d.value(), 1500.0);
    assert_eq!(d.timestamp(), Some(1_700_000_000_000.0));
    assert_eq!(
        page.sample("e", &[]).and_then(Sample::timestamp),
        Some(-12.0)
    );
    // Prometheus timestamps are integer milliseconds; OpenMetrics ones are seconds.
    let fractional = "a 1 1700000000.5\n";
    assert_eq!(
        error(fractional, Format::Prometheus).kind(),
        &ParseErrorKind::InvalidTimestamp("1700000000.5".into())
    );
    let page = Exposition::parse_as(&format!("{fractional}# EOF\n"), Format::OpenMetrics)
        .expect("an OpenMetrics timestamp");
    assert_eq!(
        page.sample("a", &[]).and_then(Sample::timestamp),
        Some(1_700_000_000.5)
    );
}

#[test]
fn label_values_keep_what_is_escaped_or_quoted() {
    let page = parse_ok(concat!(
        r#"m{a="x\"y",b="back\\slash",c="line\nbreak",d="}, # {z=\"1\"} 2",e=""} 1"#,
        "\n",
        r#"m { f = "spaced" , } 2"#,
        "\n",
        "m{} 3\n",
        "m{g=\"ünïcödé ✓\"} 4\n",
    ));
    let first = page.find("m", &[("a", "x\"y")]);
    assert_eq!(first.len(), 1);
    let first = first[0];
    assert_eq!(first.label("b"), Some("back\\slash"));
    assert_eq!(first.label("c"), Some("line\nbreak"));
    assert_eq!(first.label("d"), Some("}, # {z=\"1\"} 2"));
    assert_eq!(first.label("e"), Some(""));
    assert_eq!(first.value(), 1.0);
    assert_eq!(page.value("m", &[("f", "spaced")]), Some(2.0));
    assert_eq!(page.find("m", &[]).len(), 4);
    assert_eq!(page.value("m", &[("g", "ünïcödé ✓")]), Some(4.0));
}

#[test]
fn samples_without_metadata_are_families_of_their_own() {
    let page =
        parse_ok("a_total 1\nb_bucket{le=\"1\"} 2\n# TYPE h histogram\nh_count 1\nh_total 2\n");
    let names: Vec<(&str, MetricType)> = page
        .families()
        .iter()
        .map(|f| (f.name(), f.metric_type()))
        .collect();
    assert_eq!(
        names,
        [
            ("a_total", MetricType::Unknown),
            ("b_bucket", MetricType::Unknown),
            ("h", MetricType::Histogram),
            // Not a histogram's suffix.
            ("h_total", MetricType::Unknown),
        ]
    );
}

#[test]
fn formats_are_detected_and_named() {
    assert_eq!(Format::detect(PROMETHEUS_PAGE), Format::Prometheus);
    assert_eq!(Format::detect(OPENMETRICS_PAGE), Format::OpenMetrics);
    assert_eq!(
        Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Some(Format::OpenMetrics)
    );
    assert_eq!(
        Format::from_content_type("text/plain; version=0.0.4; charset=utf-8"),
        Some(Format::Prometheus)
    );
    assert_eq!(Format::from_content_type("application/json"), None);
    assert_eq!(
        "up 1\n".parse::<Exposition>().map(|p| p.value("up", &[])),
        Ok(Some(1.0))
    );
}

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
fn comments_and_other_formats_metadata_are_skipped() {
    // `# UNIT` and `# EOF` mean nothing in Prometheus text: comments there.
    let page = Exposition::parse_as("# UNIT a seconds\n#\n# EOF\na 1\n", Format::Prometheus)
        .expect("comments");
    assert_eq!(page.family("a").and_then(Family::unit), None);
    assert_eq!(page.value("a", &[]), Some(1.0));
}

#[test]
fn long_lines_are_cut_in_errors() {
    let long = format!("a{{x=\"{}", "é".repeat(1000));
    let error = error(&long, Format::Prometheus);
    assert_eq!(error.text().chars().count(), 203);
    assert!(error.text().ends_with("..."));
}

#[test]
fn samples_print_as_lines_that_read_back() {
    let page = parse_ok(OPENMETRICS_PAGE);
    let first = page.samples().next().expect("a sample");
    assert_eq!(first.to_string(), r#"jobs_total{job_name="a\\b\"c"} 3"#);
    let bucket = page
        .sample("request_duration_seconds_bucket", &[("le", "0.005")])
        .expect("a bucket");
    assert_eq!(
        bucket.to_string(),
        r#"request_duration_seconds_bucket{le="0.005"} 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.004 1764240000.123"#
    );
}

/// A label value with the characters that need escaping and some that only look special.
fn label_value() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("\\".to_owned()),
            Just("\"".to_owned()),
            Just("\n".to_owned()),
            Just("}".to_owned()),
            Just(",".to_owned()),
            Just(" # ".to_owned()),
            Just("=".to_owned()),
            "\\PC{0,4}",
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        any::<f64>().prop_filter("NaN never equals itself", |v| !v.is_nan()),
        (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
    ]
}

fn sample() -> impl Strategy<Value = Sample> {
    let labels = proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", label_value(), 0..4);
    let exemplar_labels = proptest::collection::btree_map("[a-z_]{1,8}", label_value(), 0..3);
    let exemplar =
        proptest::option::of((exemplar_labels, number(), proptest::option::of(0.0..2e9f64)))
            .prop_map(|exemplar| {
                exemplar.map(|(labels, value, timestamp)| Exemplar {
                    labels,
                    value,
                    timestamp,
                })
            });
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}",
        labels,
        number(),
        proptest::option::of(-1_000_000_000i64..2_000_000_000_000),
        exemplar,
    )
        .prop_map(|(name, labels, value, timestamp, exemplar)| Sample {
            name,
            labels,
            value,
            timestamp: timestamp.map(|t| t as f64),
            exemplar,
            line: 1,
        })
}

/// Fragments that steer random text into the parser's deeper states.
fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("# ".to_owned()),
            Just("HELP ".to_owned()),
            Just("TYPE ".to_owned()),
            Just("UNIT ".to_owned()),
            Just("EOF".to_owned()),
            Just("counter".to_owned()),
            Just("histogram".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("=\"".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just(",".to_owned()),
            Just(" ".to_owned()),
            Just("\n".to_owned()),
            Just("+Inf".to_owned()),
            Just("NaN".to_owned()),
            "[a-z_]{1,6}",
            "[0-9.e+-]{1,6}",
            "\\PC{1,3}",
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn any_text_parses_or_fails_without_panicking(text in "\\PC{0,300}|[ -~\\n\\t]{0,300}|(?s).{0,200}") {
        for format in [Format::Prometheus, Format::OpenMetrics] {
            if let Ok(page) = Exposition::parse_as(&text, format) {
                // Reading what was parsed must not panic either.
                for sample in page.samples() {
                    let _ = sample.to_string();
                    let _ = page.label_names(sample.name());
                }
            }
        }
        let _ = Exposition::parse(&text);
    }

    #[test]
    fn token_soup_parses_or_fails_without_panicking(text in token_soup()) {
        for format in [Format::Prometheus, Format::OpenMetrics] {
            match Exposition::parse_as(&text, format) {
                Ok(page) => {
                    for sample in page.samples() {
                        let _ = sample.to_string();
                    }
                }
                Err(error) => {
                    let lines = text.split('\n').count();
                    prop_assert!(error.line() >= 1 && error.line() <= lines + 1, "{}", error);
                    let _ = error.to_string();
                }
            }
        }
    }

    #[test]
    fn printed_samples_read_back_the_same(samples in proptest::collection::vec(sample(), 1..8)) {
        let page: String = samples
            .iter()
            .map(|sample| format!("{sample}\n"))
            .chain(std::iter::once("# EOF\n".to_owned()))
            .collect();
        let parsed = Exposition::parse_as(&page, Format::OpenMetrics)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{page}")))?;
        // Samples of one name are one family's, wherever they are: the lines keep the order.
        let mut read: Vec<&Sample> = parsed.samples().collect();
        read.sort_by_key(|sample| sample.line());
        prop_assert_eq!(read.len(), samples.len());
        for (index, (read, written)) in read.iter().zip(&samples).enumerate() {
            prop_assert_eq!(read.name(), written.name());
            prop_assert_eq!(read.labels(), written.labels());
            prop_assert_eq!(read.value(), written.value());
            prop_assert_eq!(read.timestamp(), written.timestamp());
            prop_assert_eq!(read.exemplar(), written.exemplar());
            prop_assert_eq!(read.line(), index + 1);
        }
    }
}
