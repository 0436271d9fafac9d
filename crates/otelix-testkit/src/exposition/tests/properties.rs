//! Samples that print as lines that read back, and properties over generated pages.

use proptest::prelude::*;

use super::*;

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
