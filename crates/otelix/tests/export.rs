//! Traces, metrics and logs reach a real OTLP receiver over gRPC and over HTTP/protobuf, and
//! log lines written inside a span carry that span's IDs in stdout JSON and in the export.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{current_ids, no_env, CapturedLines};
use opentelemetry::KeyValue;
use otelix::{Config, LogFormat, Protocol, Telemetry};
use otelix_testkit::{Receiver, Transport};

const WAIT: Duration = Duration::from_secs(15);

fn roundtrip(protocol: Protocol) {
    let receiver = Receiver::start().expect("the OTLP receiver starts");
    let endpoint = match protocol {
        Protocol::Grpc => receiver.grpc_endpoint(),
        Protocol::HttpProtobuf => receiver.http_endpoint(),
    };
    let config = Config::builder()
        .with_service_name("export-test")
        .with_otlp_protocol(protocol)
        .with_otlp_endpoint(endpoint)
        .with_log_format(LogFormat::Json)
        .with_bsp_schedule_delay(Duration::from_millis(100))
        .build_from_vars(no_env())
        .expect("a valid configuration");
    let lines = CapturedLines::default();
    let telemetry = Telemetry::builder(config)
        .with_log_writer(lines.clone())
        .build()
        .expect("telemetry builds");

    let histogram = telemetry
        .handle()
        .meter()
        .f64_histogram("test.work.duration")
        .with_unit("s")
        .build();
    histogram.record(0.042, &[KeyValue::new("outcome", "ok")]);

    let (trace_id, span_id) = tracing::dispatcher::with_default(telemetry.dispatch(), || {
        let span = tracing::info_span!("unit-of-work", job = "export");
        let _entered = span.enter();
        tracing::info!(answer = 42, "inside the span");
        current_ids()
    });
    assert_eq!(trace_id.len(), 32);
    assert_ne!(
        trace_id,
        "0".repeat(32),
        "the tracing span became an OTel span"
    );

    telemetry.force_flush().expect("telemetry flushes");
    let expected_transport = match protocol {
        Protocol::Grpc => Transport::Grpc,
        Protocol::HttpProtobuf => Transport::Http,
    };

    let span = receiver
        .wait_for_span_blocking(|s| s.name() == "unit-of-work", WAIT)
        .expect("the unit-of-work span is exported");
    assert_eq!(span.trace_id(), trace_id);
    assert_eq!(span.span_id(), span_id);
    assert_eq!(span.transport, expected_transport);
    assert_eq!(
        span.resource_attr("service.name").as_deref(),
        Some("export-test")
    );

    let metric = receiver
        .wait_for_metric_blocking(|m| m.name() == "test.work.duration", WAIT)
        .expect("the test.work.duration histogram is exported");
    assert_eq!(metric.unit(), "s");
    assert_eq!(metric.histogram_counts(), 1);
    assert_eq!(metric.transport, expected_transport);

    let log = receiver
        .wait_for_log_blocking(|l| l.body().as_deref() == Some("inside the span"), WAIT)
        .expect("the log record inside the span is exported");
    assert_eq!(log.trace_id().as_deref(), Some(trace_id.as_str()));
    assert_eq!(log.span_id().as_deref(), Some(span_id.as_str()));
    assert_eq!(log.transport, expected_transport);

    let json = lines.json_lines();
    let line = json
        .iter()
        .find(|l| l["message"] == "inside the span")
        .unwrap_or_else(|| panic!("no JSON line for the event in {json:?}"));
    assert_eq!(line["trace_id"], trace_id.as_str());
    assert_eq!(line["span_id"], span_id.as_str());
    assert_eq!(line["answer"], 42);
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["span"], "unit-of-work");

    telemetry.shutdown().expect("telemetry shuts down");
}

#[test]
fn span_metric_and_log_arrive_over_grpc() {
    roundtrip(Protocol::Grpc);
}

#[test]
fn span_metric_and_log_arrive_over_http_protobuf() {
    roundtrip(Protocol::HttpProtobuf);
}

/// The temporality a counter arrives with, under `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`.
fn counter_temporality(preference: Option<&str>) -> i32 {
    let receiver = Receiver::start().expect("the OTLP receiver starts");
    let vars: Vec<(&str, &str)> = preference
        .map(|p| ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", p))
        .into_iter()
        .collect();
    let config = Config::builder()
        .with_otlp_endpoint(receiver.grpc_endpoint())
        .build_from_vars(vars)
        .expect("a valid configuration");
    let telemetry = Telemetry::builder(config)
        .build()
        .expect("telemetry builds");
    let meter = telemetry.handle().meter().clone();
    meter.u64_counter("a.count").build().add(3, &[]);
    telemetry.force_flush().expect("telemetry flushes");
    let m = receiver
        .wait_for_metric_blocking(|m| m.name() == "a.count", WAIT)
        .expect("the counter is exported");
    match m.metric.data {
        Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) => {
            sum.aggregation_temporality
        }
        other => panic!("a.count is not a sum: {other:?}"),
    }
}

#[test]
fn metrics_temporality_follows_the_preference() {
    use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
    assert_eq!(
        counter_temporality(None),
        AggregationTemporality::Cumulative as i32
    );
    assert_eq!(
        counter_temporality(Some("delta")),
        AggregationTemporality::Delta as i32
    );
    assert_eq!(
        counter_temporality(Some("lowmemory")),
        AggregationTemporality::Delta as i32,
        "lowmemory: synchronous counters are delta"
    );
}

#[test]
fn duration_histograms_use_second_buckets() {
    let receiver = Receiver::start().expect("the OTLP receiver starts");
    let config = Config::builder()
        .with_otlp_endpoint(receiver.grpc_endpoint())
        .build_from_vars(no_env())
        .expect("a valid configuration");
    let telemetry = Telemetry::builder(config)
        .build()
        .expect("telemetry builds");
    let meter = telemetry.handle().meter().clone();
    meter
        .f64_histogram("a.duration")
        .with_unit("s")
        .build()
        .record(0.3, &[]);
    meter
        .f64_histogram("a.size")
        .with_unit("By")
        .build()
        .record(300.0, &[]);
    telemetry.force_flush().expect("telemetry flushes");

    let bounds = |name: &'static str| {
        let m = receiver
            .wait_for_metric_blocking(|m| m.name() == name, WAIT)
            .expect("the metric is exported");
        match m.metric.data {
            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Histogram(h)) => {
                h.data_points[0].explicit_bounds.clone()
            }
            other => panic!("{name} is not a histogram: {other:?}"),
        }
    };
    assert_eq!(bounds("a.duration"), otelix::DURATION_BUCKETS_SECONDS);
    assert_ne!(
        bounds("a.size"),
        otelix::DURATION_BUCKETS_SECONDS,
        "only unit s is rebucketed"
    );
}

#[test]
fn nothing_is_exported_when_the_sdk_is_disabled_but_ids_still_exist() {
    let receiver = Receiver::start().expect("the OTLP receiver starts");
    let config = Config::builder()
        .with_otlp_endpoint(receiver.grpc_endpoint())
        .with_sdk_disabled(true)
        .build_from_vars(no_env())
        .expect("a valid configuration");
    let telemetry = Telemetry::builder(config)
        .build()
        .expect("telemetry builds");
    let (trace_id, _) = tracing::dispatcher::with_default(telemetry.dispatch(), || {
        let span = tracing::info_span!("disabled");
        let _entered = span.enter();
        current_ids()
    });
    assert_ne!(
        trace_id,
        "0".repeat(32),
        "request IDs need trace IDs even when nothing is exported"
    );
    telemetry.shutdown().expect("telemetry shuts down");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.counts().export_requests, 0);
}

#[test]
fn exporter_diagnostics_are_not_exported_as_log_records() {
    let receiver = Receiver::start().expect("the OTLP receiver starts");
    let config = Config::builder()
        .with_otlp_endpoint(receiver.grpc_endpoint())
        .with_rust_log("trace")
        .build_from_vars(no_env())
        .expect("a valid configuration");
    let lines = CapturedLines::default();
    let telemetry = Telemetry::builder(config)
        .with_log_writer(lines.clone())
        .build()
        .expect("telemetry builds");
    tracing::dispatcher::with_default(telemetry.dispatch(), || {
        // What the SDK, tonic and hyper say about an export must not become an export.
        tracing::error!(target: "opentelemetry_sdk", "export failed");
        tracing::warn!(target: "opentelemetry-otlp", "channel closed");
        tracing::debug!(target: "h2::codec", "frame");
        let span = tracing::info_span!(target: "tonic::transport", "connect");
        let _entered = span.enter();
        tracing::info!(target: "app", "application event");
    });
    telemetry.force_flush().expect("telemetry flushes");
    receiver
        .wait_for_log_blocking(|l| l.body().as_deref() == Some("application event"), WAIT)
        .expect("the application event's log record is exported");
    let bodies: Vec<String> = receiver.logs().iter().filter_map(|l| l.body()).collect();
    assert_eq!(
        bodies,
        ["application event"],
        "only the application's record is exported"
    );
    assert!(
        receiver.spans().iter().all(|s| s.name() != "connect"),
        "transport spans are not bridged"
    );
    // On stdout the diagnostics are still visible, for the operator.
    assert!(lines.text().contains("export failed"));
}
