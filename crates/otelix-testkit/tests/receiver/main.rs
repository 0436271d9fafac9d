//! Real OTLP requests against the receiver: gRPC through the generated tonic clients,
//! HTTP through reqwest, with and without gzip.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod behavior;
mod grpc;
mod http;
mod refusals;
mod waits;

use std::io::Write;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otelix_testkit::Receiver;

const TRACE_ID: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const TRACE_HEX: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: [u8; 8] = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];
const PARENT_HEX: &str = "00f067aa0ba902b7";
const CHILD_ID: [u8; 8] = [0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8];
const CHILD_HEX: &str = "53995c3f42cd8ad8";
const WAIT: Duration = Duration::from_secs(5);

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn string(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.to_owned())
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", string("wwmaa-backend"))],
        ..Default::default()
    })
}

fn scope(name: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.to_owned(),
        ..Default::default()
    })
}

fn trace_request() -> ExportTraceServiceRequest {
    let server = Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: PARENT_ID.to_vec(),
        name: "GET /users/{id}".to_owned(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 1_250_000_000,
        attributes: vec![
            kv("http.route", string("/users/{id}")),
            kv("http.response.status_code", any_value::Value::IntValue(200)),
        ],
        ..Default::default()
    };
    let client = Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: CHILD_ID.to_vec(),
        parent_span_id: PARENT_ID.to_vec(),
        name: "SELECT users".to_owned(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: 1_100_000_000,
        end_time_unix_nano: 1_200_000_000,
        attributes: vec![kv("db.system.name", string("postgresql"))],
        status: Some(Status {
            code: StatusCode::Error as i32,
            message: "boom".to_owned(),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope("otelix"),
                spans: vec![server, client],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics_request() -> ExportMetricsServiceRequest {
    let sum = Metric {
        name: "otelix.cache.requests".to_owned(),
        unit: "{request}".to_owned(),
        data: Some(metric::Data::Sum(Sum {
            data_points: vec![
                NumberDataPoint {
                    attributes: vec![kv("cache.result", string("hit"))],
                    value: Some(number_data_point::Value::AsInt(3)),
                    ..Default::default()
                },
                NumberDataPoint {
                    attributes: vec![kv("cache.result", string("miss"))],
                    value: Some(number_data_point::Value::AsInt(2)),
                    ..Default::default()
                },
            ],
            is_monotonic: true,
            ..Default::default()
        })),
        ..Default::default()
    };
    let histogram = Metric {
        name: "http.server.request.duration".to_owned(),
        unit: "s".to_owned(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: vec![kv("http.route", string("/users/{id}"))],
                count: 4,
                sum: Some(0.5),
                ..Default::default()
            }],
            ..Default::default()
        })),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope("otelix-meter"),
                metrics: vec![sum, histogram],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs_request(body: &str) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope("otelix-logs"),
                log_records: vec![
                    LogRecord {
                        severity_text: "INFO".to_owned(),
                        body: Some(AnyValue {
                            value: Some(string(body)),
                        }),
                        trace_id: TRACE_ID.to_vec(),
                        span_id: CHILD_ID.to_vec(),
                        attributes: vec![kv("user.id", any_value::Value::IntValue(42))],
                        event_name: "user.loaded".to_owned(),
                        ..Default::default()
                    },
                    LogRecord {
                        severity_text: "WARN".to_owned(),
                        trace_id: vec![0; 16],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// When the workspace builds reqwest with rustls and no provider of its own (the example does,
/// to keep ring the only one), building a client panics until one is installed.
fn http_client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("gzip into a Vec");
    encoder.finish().expect("gzip into a Vec")
}

async fn post(
    receiver: &Receiver,
    path: &str,
    content_type: &str,
    gzip_body: bool,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = http_client_builder()
        .build()
        .expect("client")
        .post(format!("{}{path}", receiver.http_endpoint()))
        .header("content-type", content_type);
    let body = if gzip_body {
        request = request.header("content-encoding", "gzip");
        gzip(&body)
    } else {
        body
    };
    request.body(body).send().await.expect("HTTP request")
}
