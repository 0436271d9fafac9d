//! Reading valid pages: families, samples, metadata, exemplars and the queries over them.

use super::*;

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
fn comments_and_other_formats_metadata_are_skipped() {
    // `# UNIT` and `# EOF` mean nothing in Prometheus text: comments there.
    let page = Exposition::parse_as("# UNIT a seconds\n#\n# EOF\na 1\n", Format::Prometheus)
        .expect("comments");
    assert_eq!(page.family("a").and_then(Family::unit), None);
    assert_eq!(page.value("a", &[]), Some(1.0));
}
