//! What a `/metrics` scrape costs: `TelemetryHandle::render_prometheus` (gather the bridge's
//! registry and encode the text format) with about 500 series, the size of a large service's scrape.
//!
//! `cargo bench -p otelix --bench metrics_render -- --warm-up-time 1 --measurement-time 3`

// A benchmark that cannot set itself up should stop loudly.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::KeyValue;
use otelix::{Config, Exporters, Telemetry};

/// HTTP duration histograms for `routes` routes x 2 status codes (each 15 buckets + `+Inf`,
/// `_sum` and `_count`: 18 series) plus `counters` counter series.
fn telemetry(routes: usize, counters: usize) -> Telemetry {
    let config = Config::builder()
        .with_service_name("metrics-render-bench")
        .with_traces_exporter(Exporters::NONE)
        .with_metrics_exporter(Exporters::NONE)
        .with_logs_exporter(Exporters::NONE)
        .build_from_vars(Vec::<(String, String)>::new())
        .expect("configuration");
    let telemetry = Telemetry::builder(config)
        .with_log_writer(std::io::sink)
        .build()
        .expect("telemetry");
    let meter = telemetry.handle().meter().clone();
    let duration = meter
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .build();
    for route in 0..routes {
        for status in [200_i64, 404] {
            duration.record(
                0.012,
                &[
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("http.route", format!("/resource{route}/{{id}}")),
                    KeyValue::new("http.response.status_code", status),
                    KeyValue::new("url.scheme", "http"),
                ],
            );
        }
    }
    let counter = meter.u64_counter("bench.items").with_unit("{item}").build();
    for i in 0..counters {
        counter.add(1, &[KeyValue::new("item", i as i64)]);
    }
    telemetry
}

fn series(text: &str) -> usize {
    text.lines().filter(|l| !l.starts_with('#')).count()
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render_prometheus");
    // 10 routes x 2 statuses x 18 = 360 histogram series + 140 counters: 500, plus otelix's own.
    for (name, routes, counters) in [("500 series", 10, 140), ("2000 series", 40, 560)] {
        let telemetry = telemetry(routes, counters);
        let handle = telemetry.handle();
        let text = handle.render_prometheus().expect("render");
        println!(
            "{name}: {} series, {} bytes per scrape",
            series(&text),
            text.len()
        );
        group.bench_function(name, |b| {
            b.iter(|| black_box(handle.render_prometheus().expect("render")))
        });
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
