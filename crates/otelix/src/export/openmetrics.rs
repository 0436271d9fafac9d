//! The OpenMetrics 1.0 text format, with exemplars, for the Prometheus bridge's registry.
//!
//! The `prometheus` crate's `TextEncoder` writes the Prometheus text format 0.0.4, which has no
//! exemplars. This encoder writes the same families in OpenMetrics, so that a scraper that
//! accepts `application/openmetrics-text` gets the trace IDs [`crate::exemplars`] keeps on the
//! `_bucket` lines of otelix's duration histograms:
//!
//! ```text
//! http_server_request_duration_seconds_bucket{...,le="0.005"} 12 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.0031 1764240000.123
//! ```
//!
//! Series names and label values are written exactly as the text format writes them (bucket
//! bounds included), so a Prometheus switching between the formats keeps the same series. A
//! counter whose name lacks the `_total` suffix OpenMetrics requires is written as `unknown`
//! rather than renamed.

use std::fmt::Write as _;

use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType};

use super::exemplars::{Exemplar, ExemplarRegistry};

/// The content type of an OpenMetrics 1.0 text exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether an `Accept` header value asks for OpenMetrics (as Prometheus does when it may).
pub fn accepts_openmetrics(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let mut params = part.split(';');
        let media = params.next().unwrap_or_default().trim();
        let refused = params.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f64>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
    })
}

/// `families` in the OpenMetrics text format, with the exemplars of `exemplars` on the bucket
/// lines of the histograms it keeps them for.
pub fn encode(families: &[MetricFamily], exemplars: Option<&ExemplarRegistry>) -> String {
    let mut out = String::with_capacity(families.len() * 512);
    for family in families {
        let name = family.name();
        let kind = family.get_field_type();
        metadata(&mut out, family);
        let exemplars =
            exemplars.filter(|registry| kind == MetricType::HISTOGRAM && registry.has_family(name));
        for metric in family.get_metric() {
            match kind {
                MetricType::COUNTER => {
                    let value = metric.get_counter().get_value();
                    sample(&mut out, name, "", metric, None, value);
                }
                MetricType::GAUGE => {
                    let value = metric.get_gauge().get_value();
                    sample(&mut out, name, "", metric, None, value);
                }
                // The bridge never writes untyped metrics (the text encoder panics on them).
                MetricType::UNTYPED => {}
                MetricType::SUMMARY => summary(&mut out, name, metric),
                MetricType::HISTOGRAM => histogram(&mut out, name, metric, exemplars),
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// The family's `# HELP` and `# TYPE` lines. A counter is named without its `_total`
/// suffix, as OpenMetrics asks; one whose name lacks it is written as `unknown`.
fn metadata(out: &mut String, family: &MetricFamily) {
    let name = family.name();
    let (base, type_name) = match family.get_field_type() {
        MetricType::COUNTER => match name.strip_suffix("_total") {
            Some(base) => (base, "counter"),
            None => (name, "unknown"),
        },
        MetricType::GAUGE => (name, "gauge"),
        MetricType::HISTOGRAM => (name, "histogram"),
        MetricType::SUMMARY => (name, "summary"),
        MetricType::UNTYPED => (name, "unknown"),
    };
    let help = family.help();
    if !help.is_empty() {
        let _ = writeln!(out, "# HELP {base} {}", escape(help));
    }
    let _ = writeln!(out, "# TYPE {base} {type_name}");
}

fn summary(out: &mut String, name: &str, metric: &Metric) {
    let summary = metric.get_summary();
    for q in summary.get_quantile() {
        let quantile = number(q.quantile());
        sample(
            out,
            name,
            "",
            metric,
            Some(("quantile", &quantile)),
            q.value(),
        );
    }
    sample(out, name, "_sum", metric, None, summary.sample_sum());
    let count = summary.sample_count() as f64;
    sample(out, name, "_count", metric, None, count);
}

/// A histogram's bucket lines, each followed by its exemplar when `exemplars` keeps one, then
/// `_sum` and `_count`.
fn histogram(out: &mut String, name: &str, metric: &Metric, exemplars: Option<&ExemplarRegistry>) {
    let histogram = metric.get_histogram();
    // The series' exemplars, found once for all its buckets.
    let series = exemplars.and_then(|registry| {
        registry.series(
            name,
            metric.get_label().iter().map(|l| (l.name(), l.value())),
        )
    });
    let exemplar = |bound: f64| series.as_ref().and_then(|s| s.get(bound));
    let mut infinity_seen = false;
    for bucket in histogram.get_bucket() {
        let bound = bucket.upper_bound();
        infinity_seen |= bound == f64::INFINITY;
        let le = number(bound);
        let count = bucket.cumulative_count() as f64;
        sample(out, name, "_bucket", metric, Some(("le", &le)), count);
        with_exemplar(out, exemplar(bound));
    }
    let count = histogram.get_sample_count() as f64;
    if !infinity_seen {
        sample(out, name, "_bucket", metric, Some(("le", "+Inf")), count);
        with_exemplar(out, exemplar(f64::INFINITY));
    }
    sample(out, name, "_sum", metric, None, histogram.get_sample_sum());
    sample(out, name, "_count", metric, None, count);
}

/// One sample line, without its line end (an exemplar may follow).
fn sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    metric: &Metric,
    extra: Option<(&str, &str)>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    labels(out, metric.get_label(), extra);
    out.push(' ');
    out.push_str(&number(value));
    let timestamp = metric.timestamp_ms();
    if timestamp != 0 {
        // OpenMetrics timestamps are seconds.
        let _ = write!(out, " {}", number(timestamp as f64 / 1000.0));
    }
    out.push('\n');
}

/// Ends the line `sample` wrote with ` # {trace_id="..."} value timestamp`.
fn with_exemplar(out: &mut String, exemplar: Option<Exemplar>) {
    let Some(exemplar) = exemplar else { return };
    out.pop();
    let _ = writeln!(
        out,
        " # {{trace_id=\"{}\"}} {} {:.3}",
        exemplar.trace_id,
        number(exemplar.value),
        exemplar.timestamp
    );
}

fn labels(out: &mut String, pairs: &[LabelPair], extra: Option<(&str, &str)>) {
    if pairs.is_empty() && extra.is_none() {
        return;
    }
    let mut separator = '{';
    for (name, value) in pairs.iter().map(|l| (l.name(), l.value())).chain(extra) {
        out.push(separator);
        out.push_str(name);
        out.push_str("=\"");
        out.push_str(&escape(value));
        out.push('"');
        separator = ',';
    }
    out.push('}');
}

/// A number as both text formats write it, with OpenMetrics' names for the infinities.
fn number(value: f64) -> String {
    if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        value.to_string()
    }
}

/// Escapes `\`, `"` and line ends, as OpenMetrics requires in label values and help text.
fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\\', '"', '\n']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    std::borrow::Cow::Owned(escaped)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceId;
    use opentelemetry::KeyValue;
    use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};

    #[test]
    fn accept_headers() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(accepts_openmetrics(prometheus));
        assert!(accepts_openmetrics("Application/OpenMetrics-Text"));
        assert!(!accepts_openmetrics("text/plain;version=0.0.4"));
        assert!(!accepts_openmetrics("*/*"));
        assert!(!accepts_openmetrics("application/openmetrics-text;q=0"));
        assert!(!accepts_openmetrics(""));
    }

    #[test]
    fn families_exemplars_and_escaping() {
        let registry = Registry::new();
        let counter = IntCounterVec::new(
            Opts::new("jobs_total", "Runs with \"quotes\"\nand a line"),
            &["job_name"],
        )
        .unwrap();
        counter.with_label_values(&["a\\b\"c"]).inc_by(3);
        registry.register(Box::new(counter)).unwrap();
        let histogram = Histogram::with_opts(
            HistogramOpts::new("request_duration_seconds", "Durations").buckets(vec![0.005, 1.0]),
        )
        .unwrap();
        histogram.observe(0.004);
        histogram.observe(3.0);
        registry.register(Box::new(histogram)).unwrap();

        let exemplars = ExemplarRegistry::default();
        let sink = exemplars.sink("request_duration_seconds", &[0.005, 1.0]);
        let trace = TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128);
        sink.record(0.004, &[] as &[KeyValue], trace);
        sink.record(3.0, &[], trace);

        let text = encode(&registry.gather(), Some(&exemplars));
        let expected_start = "# HELP jobs Runs with \\\"quotes\\\"\\nand a line\n# TYPE jobs counter\njobs_total{job_name=\"a\\\\b\\\"c\"} 3\n# HELP request_duration_seconds Durations\n# TYPE request_duration_seconds histogram\nrequest_duration_seconds_bucket{le=\"0.005\"} 1 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 0.004 ";
        assert!(text.starts_with(expected_start), "{text}");
        assert!(
            text.contains("request_duration_seconds_bucket{le=\"1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("request_duration_seconds_bucket{le=\"+Inf\"} 2 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 3 "),
            "{text}"
        );
        assert!(
            text.contains(
                "request_duration_seconds_sum 3.004\nrequest_duration_seconds_count 2\n# EOF\n"
            ),
            "{text}"
        );

        // Without exemplars, the samples are those of the text format.
        let plain = encode(&registry.gather(), None);
        assert!(!plain.contains('#') || !plain.contains("trace_id"));
        let mut text_format = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&registry.gather(), &mut text_format)
            .unwrap();
        let samples = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(samples(&plain), samples(&text_format));
    }

    #[test]
    fn numbers() {
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(10.0), "10");
    }
}
