//! The metrics table of `docs/observability/metrics.md` is generated from `otelix::names`: this
//! test renders it and fails when the file says anything else. `OTELIX_BLESS=1 cargo test -p
//! otelix --test metrics_doc` writes the rendered table into the file instead.

use std::path::PathBuf;

use otelix::names::{self, Metric, MetricKind};

const START: &str = "<!-- metrics-table: generated from otelix::names by crates/otelix/tests/metrics_doc.rs; OTELIX_BLESS=1 rewrites it -->";
const END: &str = "<!-- metrics-table end -->";

fn metrics_doc() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/observability/metrics.md")
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

fn series(metric: &Metric) -> String {
    match metric.kind {
        MetricKind::Histogram => format!("`{}_bucket`, `_sum`, `_count`", metric.prometheus),
        _ => code(metric.prometheus),
    }
}

fn kind(metric: &Metric) -> &'static str {
    match metric.kind {
        MetricKind::Histogram => "histogram",
        MetricKind::UpDownCounter => "gauge (up-down counter)",
        MetricKind::Gauge => "gauge",
        MetricKind::Counter => "counter",
        MetricKind::ObservableCounter => "counter (observed at collection)",
        other => panic!("a kind the table does not describe yet: {other:?}"),
    }
}

fn labels(metric: &Metric) -> String {
    metric
        .attributes
        .iter()
        .map(|attribute| {
            let mut notes: Vec<String> = Vec::new();
            if !attribute.values.is_empty() {
                let values: Vec<String> = attribute.values.iter().map(|v| code(v)).collect();
                notes.push(values.join(", "));
            }
            notes.extend(attribute.when.map(str::to_owned));
            let label = code(&attribute.prometheus_label());
            if notes.is_empty() {
                label
            } else {
                format!("{label} ({})", notes.join("; "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn render() -> String {
    let mut table = String::from(
        "| Metric | Instrument (unit) | Type | Labels | Meaning |\n|---|---|---|---|---|\n",
    );
    for metric in names::METRICS {
        table.push_str(&format!(
            "| {} | `{}` (`{}`) | {} | {} | {} |\n",
            series(metric),
            metric.name,
            metric.unit,
            kind(metric),
            labels(metric),
            metric.description.trim_end_matches('.'),
        ));
    }
    table
}

#[test]
fn the_metrics_table_is_generated_from_the_names_module() {
    otelix_testkit::generated::check_section(
        &metrics_doc(),
        START,
        END,
        &render(),
        "OTELIX_BLESS=1 cargo test -p otelix --test metrics_doc",
    );
}

#[test]
fn labels_show_their_values_and_when_they_are_present() {
    assert_eq!(
        labels(&names::DB_SLOW_QUERIES),
        "`severity` (`warning`, `critical`), `db_system_name`, \
         `db_collection_name` (when known), `db_operation_name` (when known)"
    );
    assert_eq!(
        series(&names::JOB_DURATION),
        "`otelix_job_duration_seconds_bucket`, `_sum`, `_count`"
    );
    assert!(render().contains(
        "| `otelix_slow_query_dropped_total` | `otelix.slow_query.dropped` (`{record}`) |"
    ));
}
