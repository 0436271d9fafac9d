//! The receiver's behaviours (reject, hang, delay) and a fixed address already in use.

use std::time::Instant;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otelix_testkit::{Behavior, TestkitError};
use prost::Message;

use super::*;

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

    let http = super::http_client_builder()
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
