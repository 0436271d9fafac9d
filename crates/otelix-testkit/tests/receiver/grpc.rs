//! OTLP/gRPC: traces, gzip-compressed metrics and logs, through the generated tonic clients.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otelix_testkit::{AttrValue, Transport};
use tonic::codec::CompressionEncoding;

use super::*;

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
