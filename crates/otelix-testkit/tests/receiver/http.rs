//! OTLP/HTTP: protobuf bodies, plain and gzip, and the refusals of anything else.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use otelix_testkit::Transport;
use prost::Message;

use super::*;

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
    response = super::http_client_builder()
        .build()
        .expect("client")
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
