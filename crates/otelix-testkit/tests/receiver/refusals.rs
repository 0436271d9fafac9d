//! `Behavior::Refuse` and `Receiver::requests`: the statuses each refusal answers on both
//! transports, and the request list that tells a batch sent again from a new one and a
//! gzip-compressed body from a plain one.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otelix_testkit::{Behavior, ExportRequest, Refusal, Signal, Transport};
use prost::Message;
use tonic::codec::CompressionEncoding;

use super::*;

/// A trace request of `spans` spans, named after `name` so that two names make two batches.
fn traces(name: &str, spans: u8) -> ExportTraceServiceRequest {
    let spans = (0..spans)
        .map(|i| Span {
            trace_id: vec![7; 16],
            span_id: vec![i + 1; 8],
            name: format!("{name} {i}"),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs(records: usize) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default(); records],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// POSTs `body` to `/v1/traces`, gzip-compressed when asked.
async fn post_traces(receiver: &Receiver, body: Vec<u8>, gzip: bool) -> reqwest::Response {
    post(receiver, "/v1/traces", "application/x-protobuf", gzip, body).await
}

#[tokio::test]
async fn unavailable_answers_503_with_retry_after_and_records_nothing() {
    let unavailable = Refusal::Unavailable {
        retry_after_seconds: Some(7),
    };
    let receiver = Receiver::builder()
        .with_behavior(Behavior::Refuse(unavailable))
        .build()
        .expect("start receiver");
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect");
    let status = client.export(traces("a", 2)).await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::Unavailable);

    let response = post_traces(&receiver, traces("a", 2).encode_to_vec(), false).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert!(receiver.spans().is_empty());
    assert_eq!(receiver.counts().export_requests, 2);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests
        .iter()
        .all(|r| r.refused == Some(unavailable) && r.items == 2 && r.signal == Signal::Traces));
    // The same message over either transport is the same batch.
    assert_eq!(requests[0].digest, requests[1].digest);

    // Without a delay, the 503 carries no Retry-After.
    receiver.set_behavior(Behavior::Refuse(Refusal::Unavailable {
        retry_after_seconds: None,
    }));
    let response = post_traces(&receiver, traces("a", 2).encode_to_vec(), false).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn invalid_argument_answers_400_and_lists_each_batch() {
    let receiver = Receiver::builder()
        .with_behavior(Behavior::Refuse(Refusal::InvalidArgument))
        .build()
        .expect("start receiver");
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect");
    let status = client.export(traces("a", 3)).await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let response = post_traces(&receiver, traces("b", 1).encode_to_vec(), false).await;
    assert_eq!(response.status(), 400);

    receiver.set_behavior(Behavior::Accept);
    client.export(traces("c", 1)).await.expect("accepted now");
    let requests = receiver.requests();
    let summary: Vec<_> = requests
        .iter()
        .map(|r| (r.transport, r.items, r.refused))
        .collect();
    assert_eq!(
        summary,
        [
            (Transport::Grpc, 3, Some(Refusal::InvalidArgument)),
            (Transport::Http, 1, Some(Refusal::InvalidArgument)),
            (Transport::Grpc, 1, None),
        ]
    );
    assert!(requests[0].received_at <= requests[1].received_at);
    assert!(requests[1].received_at <= requests[2].received_at);
    // Three different batches.
    assert_ne!(requests[0].digest, requests[1].digest);
    assert_ne!(requests[1].digest, requests[2].digest);
    assert_eq!(receiver.spans().len(), 1);
}

#[tokio::test]
async fn requests_say_whether_they_came_gzip_compressed() {
    let receiver = Receiver::start().expect("start receiver");
    let mut plain = LogsServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect");
    plain.export(logs(2)).await.expect("plain gRPC");
    let mut gzip = LogsServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect")
        .send_compressed(CompressionEncoding::Gzip);
    gzip.export(logs(3)).await.expect("gzip gRPC");
    let body = traces("z", 1).encode_to_vec();
    assert!(post_traces(&receiver, body.clone(), false)
        .await
        .status()
        .is_success());
    assert!(post_traces(&receiver, body, true)
        .await
        .status()
        .is_success());

    let seen: Vec<_> = receiver
        .requests()
        .iter()
        .map(|r: &ExportRequest| (r.signal, r.transport, r.gzip, r.items))
        .collect();
    assert_eq!(
        seen,
        [
            (Signal::Logs, Transport::Grpc, false, 2),
            (Signal::Logs, Transport::Grpc, true, 3),
            (Signal::Traces, Transport::Http, false, 1),
            (Signal::Traces, Transport::Http, true, 1),
        ]
    );
    receiver.clear();
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn requests_are_not_kept_when_items_are_not() {
    let receiver = Receiver::builder()
        .with_keep_items(false)
        .build()
        .expect("start receiver");
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("connect");
    client.export(traces("a", 1)).await.expect("export");
    assert_eq!(receiver.counts().export_requests, 1);
    assert!(receiver.requests().is_empty());
}
