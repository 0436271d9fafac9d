//! Real OTLP requests against the receiver: gRPC through the generated tonic clients,
//! HTTP through reqwest, with and without gzip.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

use std::io::Write;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
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
use otelix_testkit::{AttrValue, Behavior, Receiver, TestkitError, Transport};
use prost::Message;
use tonic::codec::CompressionEncoding;

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
    let mut request = reqwest::Client::new()
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

#[tokio::test]
async fn grpc_traces_are_recorded_with_ids_attributes_resource_and_scope() {
    let receiver = Receiver::start().expect("start receiver");
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect");
    client.export(trace_request()).await.expect("export traces");

    let spans = receiver.spans();
    assert_eq!(spans.len(), 2);
    let server = &spans[0];
    assert_eq!(server.trace_id(), TRACE_HEX);
    assert_eq!(server.span_id(), PARENT_HEX);
    assert_eq!(server.parent_span_id(), None);
    assert_eq!(server.name(), "GET /users/{id}");
    assert_eq!(server.kind(), SpanKind::Server);
    assert_eq!(
        server.attr("http.response.status_code"),
        Some(AttrValue::Int(200))
    );
    assert_eq!(
        server.attr_str("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        server.attr_str("http.route").as_deref(),
        Some("/users/{id}")
    );
    assert_eq!(server.attr("missing"), None);
    assert_eq!(
        server.resource_attr("service.name").as_deref(),
        Some("wwmaa-backend")
    );
    assert_eq!(server.scope_name, "otelix");
    assert_eq!(server.transport, Transport::Grpc);
    assert_eq!(server.duration(), Duration::from_millis(250));
    assert_eq!(server.status_code(), StatusCode::Unset);

    let client_span = &spans[1];
    assert_eq!(client_span.parent_span_id().as_deref(), Some(PARENT_HEX));
    assert_eq!(client_span.span_id(), CHILD_HEX);
    assert_eq!(client_span.kind(), SpanKind::Client);
    assert_eq!(client_span.status_code(), StatusCode::Error);
    assert_eq!(client_span.status_message(), "boom");

    let counts = receiver.counts();
    assert_eq!((counts.spans, counts.export_requests), (2, 1));
}

#[tokio::test]
async fn grpc_gzip_metrics_are_recorded() {
    let receiver = Receiver::start().expect("start receiver");
    let mut client = MetricsServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect")
        .send_compressed(CompressionEncoding::Gzip);
    client
        .export(metrics_request())
        .await
        .expect("export metrics");

    let sum = receiver
        .wait_for_metric(|m| m.name() == "otelix.cache.requests", WAIT)
        .await
        .expect("sum metric");
    assert_eq!(sum.unit(), "{request}");
    assert_eq!(sum.sum_value(), 5.0);
    assert_eq!(sum.histogram_counts(), 0);
    let results: Vec<_> = sum
        .data_point_attributes()
        .into_iter()
        .map(|attrs| attrs.get("cache.result").cloned().unwrap_or_default())
        .collect();
    assert_eq!(results, ["hit", "miss"]);
    assert_eq!(sum.scope_name, "otelix-meter");
    assert_eq!(
        sum.resource_attr("service.name").as_deref(),
        Some("wwmaa-backend")
    );

    let histogram = receiver
        .wait_for_metric(|m| m.name() == "http.server.request.duration", WAIT)
        .await
        .expect("histogram");
    assert_eq!(histogram.histogram_counts(), 4);
    assert_eq!(histogram.histogram_sum(), 0.5);
    assert_eq!(histogram.sum_value(), 0.0);
    assert_eq!(receiver.counts().metric_data_points, 3);
}

#[tokio::test]
async fn grpc_logs_are_recorded_with_trace_context() {
    let receiver = Receiver::start().expect("start receiver");
    let mut client = LogsServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect");
    client
        .export(logs_request("user loaded"))
        .await
        .expect("export logs");

    let logs = receiver.logs();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].trace_id().as_deref(), Some(TRACE_HEX));
    assert_eq!(logs[0].span_id().as_deref(), Some(CHILD_HEX));
    assert_eq!(logs[0].body().as_deref(), Some("user loaded"));
    assert_eq!(logs[0].severity_text(), "INFO");
    assert_eq!(logs[0].attr_str("user.id").as_deref(), Some("42"));
    assert_eq!(logs[0].event_name(), Some("user.loaded"));
    assert_eq!(logs[0].scope_name, "otelix-logs");
    assert_eq!(logs[1].trace_id(), None, "all-zero trace id means none");
    assert_eq!(logs[1].span_id(), None);
    assert_eq!(logs[1].body(), None);
    assert_eq!(logs[1].event_name(), None);
    assert_eq!(receiver.counts().logs, 2);
}

#[tokio::test]
async fn http_protobuf_plain_and_gzip_are_recorded() {
    let receiver = Receiver::start().expect("start receiver");

    let response = post(
        &receiver,
        "/v1/traces",
        "application/x-protobuf",
        false,
        trace_request().encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/x-protobuf"[..])
    );
    let body = response.bytes().await.expect("response body");
    ExportTraceServiceResponse::decode(body).expect("protobuf response");

    let response = post(
        &receiver,
        "/v1/logs",
        "application/x-protobuf",
        true,
        logs_request("over http").encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = post(
        &receiver,
        "/v1/metrics",
        "application/x-protobuf",
        true,
        metrics_request().encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), 200);

    let span = receiver
        .wait_for_span(|s| s.span_id() == CHILD_HEX, WAIT)
        .await
        .expect("child span");
    assert_eq!(span.transport, Transport::Http);
    assert_eq!(
        span.attr_str("db.system.name").as_deref(),
        Some("postgresql")
    );
    let log = receiver
        .wait_for_log(|l| l.body().as_deref() == Some("over http"), WAIT)
        .await
        .expect("log");
    assert_eq!(log.transport, Transport::Http);
    assert_eq!(
        log.resource_attr("service.name").as_deref(),
        Some("wwmaa-backend")
    );
    let counts = receiver.counts();
    assert_eq!(
        (
            counts.spans,
            counts.logs,
            counts.metric_data_points,
            counts.export_requests
        ),
        (2, 2, 3, 3)
    );
}

#[tokio::test]
async fn http_refuses_json_and_garbage() {
    let receiver = Receiver::start().expect("start receiver");

    let response = post(
        &receiver,
        "/v1/traces",
        "application/json",
        false,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(response.status(), 415);
    let message = response.text().await.expect("body");
    assert!(message.contains("application/json"), "{message}");

    let response = post(
        &receiver,
        "/v1/traces",
        "application/x-protobuf",
        false,
        vec![0xff, 0xff, 0xff, 0xff],
    )
    .await;
    assert_eq!(response.status(), 400);

    let response = post(
        &receiver,
        "/v1/logs",
        "application/x-protobuf",
        false,
        b"not gzip".to_vec(),
    );
    let mut response = response.await;
    // Not gzip-labelled, so it is decoded as protobuf, and fails as such.
    assert_eq!(response.status(), 400);
    response = reqwest::Client::new()
        .post(format!("{}/v1/logs", receiver.http_endpoint()))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(b"not gzip".to_vec())
        .send()
        .await
        .expect("HTTP request");
    assert_eq!(response.status(), 400);
    let message = response.text().await.expect("body");
    assert!(message.contains("gzip"), "{message}");

    assert_eq!(receiver.counts().export_requests, 0);
    assert!(receiver.spans().is_empty());
}

#[tokio::test]
async fn wait_for_returns_items_arriving_later_and_times_out_with_context() {
    let receiver = Receiver::start().expect("start receiver");
    let endpoint = receiver.grpc_endpoint();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut client = TraceServiceClient::connect(endpoint)
            .await
            .expect("connect");
        client.export(trace_request()).await.expect("export");
    });
    let span = receiver
        .wait_for_span(|s| s.name() == "SELECT users", WAIT)
        .await
        .expect("span arrives later");
    assert_eq!(span.span_id(), CHILD_HEX);
    sender.await.expect("sender task");

    let error = receiver
        .wait_for_span(|s| s.name() == "never", Duration::from_millis(100))
        .await
        .expect_err("no such span");
    match &error {
        TestkitError::Timeout { what, after, seen } => {
            assert!(what.contains("span"), "{what}");
            assert_eq!(*after, Duration::from_millis(100));
            assert_eq!(*seen, 2);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("span") && message.contains("2 received"),
        "{message}"
    );

    receiver.clear();
    assert_eq!(receiver.counts(), otelix_testkit::Counts::default());
    assert!(receiver.spans().is_empty());
}

/// The blocking waits and the async waits outside any tokio runtime.
#[test]
fn blocking_and_executor_agnostic_waits() {
    let receiver = Receiver::start().expect("start receiver");
    let endpoint = receiver.grpc_endpoint();
    let sender = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("client runtime");
        runtime.block_on(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut client = LogsServiceClient::connect(endpoint).await.expect("connect");
            client.export(logs_request("late")).await.expect("export");
        });
    });
    let log = receiver
        .wait_for_log_blocking(|l| l.severity_text() == "WARN", WAIT)
        .expect("log arrives later");
    assert_eq!(log.trace_id(), None);
    sender.join().expect("sender thread");

    let error = receiver
        .wait_for_metric_blocking(|_| true, Duration::from_millis(50))
        .expect_err("no metrics were sent");
    assert!(
        matches!(error, TestkitError::Timeout { seen: 0, .. }),
        "{error}"
    );

    // No tokio context here: the async wait must still find items and time out.
    let found = block_on(receiver.wait_for_log(|l| l.body().as_deref() == Some("late"), WAIT));
    assert_eq!(found.expect("stored log").severity_text(), "INFO");
    let timed_out = block_on(receiver.wait_for_span(|_| true, Duration::from_millis(50)));
    assert!(matches!(
        timed_out,
        Err(TestkitError::Timeout { seen: 0, .. })
    ));
}

#[tokio::test]
async fn reject_answers_unavailable_and_503_and_records_nothing() {
    let receiver = Receiver::builder()
        .with_behavior(Behavior::Reject)
        .build()
        .expect("start receiver");
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect");
    let status = client.export(trace_request()).await.expect_err("rejected");
    assert_eq!(status.code(), tonic::Code::Unavailable);

    let response = post(
        &receiver,
        "/v1/traces",
        "application/x-protobuf",
        false,
        trace_request().encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), 503);
    assert!(receiver.spans().is_empty());
    let counts = receiver.counts();
    assert_eq!((counts.spans, counts.export_requests), (0, 2));

    receiver.set_behavior(Behavior::Accept);
    client.export(trace_request()).await.expect("accepted now");
    assert_eq!(receiver.spans().len(), 2);
}

#[tokio::test]
async fn hang_never_answers() {
    let receiver = Receiver::builder()
        .with_behavior(Behavior::Hang)
        .build()
        .expect("start receiver");
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect");
    let grpc =
        tokio::time::timeout(Duration::from_millis(300), client.export(trace_request())).await;
    assert!(grpc.is_err(), "gRPC export answered: {grpc:?}");

    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client")
        .post(format!("{}/v1/traces", receiver.http_endpoint()))
        .header("content-type", "application/x-protobuf")
        .body(trace_request().encode_to_vec())
        .send()
        .await;
    assert!(
        http.as_ref().is_err_and(reqwest::Error::is_timeout),
        "HTTP export answered: {http:?}"
    );

    // The items were accepted, only the answer is withheld.
    assert_eq!(receiver.counts().spans, 4);
    // Shutdown must not wait for the hung requests.
    receiver.shutdown();
}

#[tokio::test]
async fn delay_answers_after_the_delay() {
    let delay = Duration::from_millis(150);
    let receiver = Receiver::builder()
        .with_behavior(Behavior::Delay(delay))
        .build()
        .expect("start receiver");
    let mut client = LogsServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect");
    let started = Instant::now();
    client.export(logs_request("slow")).await.expect("export");
    assert!(started.elapsed() >= delay);
    assert_eq!(receiver.logs().len(), 2);
}

#[test]
fn fixed_address_in_use_is_a_bind_error() {
    let first = Receiver::start().expect("start receiver");
    let error = Receiver::builder()
        .with_http_addr(first.http_addr())
        .build()
        .expect_err("port is taken");
    assert!(matches!(error, TestkitError::Bind(_)), "{error}");
    assert!(
        error.to_string().contains(&first.http_addr().to_string()),
        "{error}"
    );
}

/// A minimal executor with no tokio context, to show the async waits need none.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}
