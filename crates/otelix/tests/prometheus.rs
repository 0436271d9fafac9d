//! The Prometheus bridge's text passes `promtool check metrics`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{no_env, required_tool};
use opentelemetry::KeyValue;
use otelix::{Config, Telemetry};
use otelix_testkit::exposition::{Family, MetricType};

#[test]
fn bridge_output_passes_promtool() {
    let config = Config::builder()
        .with_service_name("promtool-test")
        .with_metrics_exporter(otelix::Exporters::NONE)
        .with_traces_exporter(otelix::Exporters::NONE)
        .with_logs_exporter(otelix::Exporters::NONE)
        .build_from_vars(no_env())
        .expect("a valid configuration");
    let telemetry = Telemetry::builder(config)
        .build()
        .expect("telemetry builds");
    let handle = telemetry.handle();
    let meter = handle.meter();
    let duration = meter
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .with_description("Duration of HTTP server requests.")
        .build();
    let active = meter
        .i64_up_down_counter("http.server.active_requests")
        .with_unit("{request}")
        .with_description("Number of active HTTP server requests.")
        .build();
    let cache = meter
        .u64_counter("otelix.cache.requests")
        .with_unit("{request}")
        .with_description("Cache requests by result.")
        .build();
    for status in [200, 404, 500] {
        duration.record(
            0.012,
            &[
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.route", "/users/{id}"),
                KeyValue::new("http.response.status_code", status),
            ],
        );
    }
    active.add(1, &[KeyValue::new("http.request.method", "GET")]);
    cache.add(3, &[KeyValue::new("cache.result", "hit")]);

    let text = handle
        .render_prometheus()
        .expect("the Prometheus text renders");
    let page = common::exposition(&text);
    for (family, metric_type) in [
        (
            "http_server_request_duration_seconds",
            MetricType::Histogram,
        ),
        ("otelix_cache_requests_total", MetricType::Counter),
        ("http_server_active_requests", MetricType::Gauge),
    ] {
        assert_eq!(
            page.family(family).map(Family::metric_type),
            Some(metric_type),
            "{text}"
        );
    }

    let Some(promtool) = required_tool("promtool") else {
        return;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(text.as_bytes()))
        .transpose()
        .expect("writing the text to promtool");
    let out = child.wait_with_output().expect("promtool ends");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool: {report}\n{text}"
    );
}

#[test]
fn disabled_bridge_renders_an_error_not_an_empty_page() {
    let config = Config::builder()
        .with_prometheus_enabled(false)
        .with_metrics_exporter(otelix::Exporters::NONE)
        .build_from_vars(no_env())
        .expect("a valid configuration");
    let telemetry = Telemetry::builder(config)
        .build()
        .expect("telemetry builds");
    assert!(matches!(
        telemetry.handle().render_prometheus(),
        Err(otelix::RenderError::Disabled)
    ));
}
