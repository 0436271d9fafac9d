use std::time::Duration;

use tonic_types::{ErrorDetails, StatusExt as _};

use super::*;
use crate::export::otlp::test_support::{
    self, grpc_message, grpc_ok, grpc_status, plain, send, Collector, Pki, BODY, SECRET,
};
use crate::export::otlp::transport::{Retry, Transport};

fn transport(vars: &[(&str, String)]) -> Transport {
    test_support::transport("grpc", Signal::Traces, vars)
}

#[tokio::test]
async fn plaintext_http2_carries_the_request_the_headers_and_the_user_agent() {
    let collector = Collector::start(None, |_| grpc_ok(b"\x0a\x00")).await;
    let transport = transport(&[plain(&collector)]);
    let answer = send(&transport).await.expect("delivered");
    assert_eq!(&answer[..], b"\x0a\x00");
    let requests = collector.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.version, http::Version::HTTP_2);
    assert_eq!(
        request.path,
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    );
    assert_eq!(request.headers["content-type"], "application/grpc");
    assert_eq!(request.headers["authorization"], SECRET);
    let agent = request.headers["user-agent"].to_str().expect("ASCII");
    assert!(
        agent.starts_with("OTel-OTLP-Exporter-Rust-otelix/"),
        "{agent}"
    );
    assert!(request.headers.contains_key("grpc-timeout"));
    assert_eq!(grpc_message(&request.body), (false, BODY.to_vec()));
}

#[tokio::test]
async fn gzip_compresses_the_message_on_the_wire() {
    let collector = Collector::start(None, |_| grpc_ok(b"")).await;
    let transport = transport(&[
        plain(&collector),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
    ]);
    send(&transport).await.expect("delivered");
    let request = &collector.requests()[0];
    assert_eq!(request.headers["grpc-encoding"], "gzip");
    assert_eq!(grpc_message(&request.body), (true, BODY.to_vec()));
}

#[tokio::test]
async fn tls_with_a_ca_file_and_mtls_reach_the_collector() {
    let pki = Pki::new();
    let collector = Collector::start(Some(pki.server_config(true)), |_| grpc_ok(b"")).await;
    let endpoint = format!("https://localhost:{}", collector.addr.port());
    let with_client = transport(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.ca.display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            pki.client_cert.display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            pki.client_key.display().to_string(),
        ),
    ]);
    send(&with_client).await.expect("delivered over mTLS");
    assert_eq!(collector.requests()[0].version, http::Version::HTTP_2);

    // The same collector refuses a client without a certificate.
    let without_client = transport(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.ca.display().to_string(),
        ),
    ]);
    let failure = send(&without_client)
        .await
        .expect_err("refused without a certificate");
    assert_eq!(failure.kind, FailureKind::Certificate, "{failure:?}");
    assert!(matches!(failure.retry, Retry::After(None)), "{failure:?}");
    assert_eq!(collector.requests().len(), 1);

    // Without mTLS, the CA file alone verifies the server.
    let plain_tls = Collector::start(Some(pki.server_config(false)), |_| grpc_ok(b"")).await;
    let transport = transport(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://localhost:{}", plain_tls.addr.port()),
        ),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.ca.display().to_string(),
        ),
    ]);
    send(&transport).await.expect("delivered over TLS");
}

#[tokio::test]
async fn a_server_certificate_that_does_not_verify_is_a_certificate_failure() {
    let pki = Pki::new();
    let collector = Collector::start(Some(pki.server_config(false)), |_| grpc_ok(b"")).await;
    // The system's roots do not know the test CA.
    let transport = transport(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("https://localhost:{}", collector.addr.port()),
    )]);
    let failure = send(&transport).await.expect_err("an unknown issuer");
    assert_eq!(failure.kind, FailureKind::Certificate, "{failure:?}");
    assert!(failure.reason.contains("certificate"), "{}", failure.reason);
    assert!(collector.requests().is_empty());
}

#[tokio::test]
async fn an_https_endpoint_never_falls_back_to_plaintext() {
    let collector = Collector::start(None, |_| grpc_ok(b"")).await;
    let transport = transport(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("https://127.0.0.1:{}", collector.addr.port()),
    )]);
    assert!(send(&transport).await.is_err());
    assert!(collector.requests().is_empty());
}

#[tokio::test]
async fn a_closed_port_is_a_retryable_connection_failure() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let transport = transport(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    )]);
    let failure = send(&transport).await.expect_err("nothing listens");
    assert_eq!(failure.kind, FailureKind::Connection, "{failure:?}");
    assert_eq!(failure.retry, Retry::After(None));
}

#[tokio::test]
async fn status_codes_and_retry_info_arrive_from_the_collector() {
    let collector = Collector::start(None, |request| {
        match request.headers["x-answer"].to_str().unwrap_or_default() {
            "unavailable" => grpc_status(&tonic::Status::with_error_details(
                tonic::Code::Unavailable,
                "collector restarting",
                ErrorDetails::with_retry_info(Some(Duration::from_millis(1_500))),
            )),
            _ => grpc_status(&tonic::Status::invalid_argument("bad request")),
        }
    })
    .await;
    let answer = |value: &str| {
        transport(&[
            plain(&collector),
            ("OTEL_EXPORTER_OTLP_HEADERS", format!("x-answer={value}")),
        ])
    };
    let failure = send(&answer("unavailable")).await.expect_err("unavailable");
    assert_eq!(failure.kind, FailureKind::Unavailable);
    assert_eq!(
        failure.retry,
        Retry::After(Some(Duration::from_millis(1_500)))
    );
    assert!(
        failure.reason.contains("collector restarting"),
        "{}",
        failure.reason
    );
    let failure = send(&answer("invalid")).await.expect_err("invalid");
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(failure.retry, Retry::Never);
    assert!(failure.reason.contains("bad request"), "{}", failure.reason);
}

/// Every gRPC code, as the OTLP specification classifies it.
#[test]
fn every_grpc_code_is_classified_as_the_specification_says() {
    use tonic::Code::*;
    let retryable = [
        Cancelled,
        DeadlineExceeded,
        Aborted,
        OutOfRange,
        Unavailable,
        DataLoss,
    ];
    let all = [
        Ok,
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    ];
    for code in all {
        let failure = classify(&tonic::Status::new(code, "m"));
        let (kind, retry) = if retryable.contains(&code) {
            (FailureKind::Unavailable, Retry::After(None))
        } else if matches!(code, PermissionDenied | Unauthenticated) {
            (FailureKind::Authentication, Retry::Never)
        } else {
            (FailureKind::Refused, Retry::Never)
        };
        assert_eq!((failure.kind, failure.retry), (kind, retry), "{code:?}");
    }
    // RESOURCE_EXHAUSTED is retryable only when the collector says when to come back.
    let with_delay = tonic::Status::with_error_details(
        ResourceExhausted,
        "slow down",
        ErrorDetails::with_retry_info(Some(Duration::from_secs(3))),
    );
    let failure = classify(&with_delay);
    assert_eq!(failure.retry, Retry::After(Some(Duration::from_secs(3))));
    assert_eq!(failure.kind, FailureKind::Unavailable);
}

#[test]
fn header_values_never_appear_in_debug_output() {
    let transport = transport(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://127.0.0.1:4317".to_owned(),
    )]);
    let Transport::Grpc(grpc) = &transport else {
        panic!("a gRPC transport");
    };
    let metadata = format!("{:?}", grpc.metadata);
    assert!(metadata.contains("authorization"), "{metadata}");
    assert!(!metadata.contains("planted-secret"), "{metadata}");
}

#[test]
fn a_tls_connection_the_collector_closes_points_at_the_client_certificate() {
    let closed = || {
        Failure::retryable(
            FailureKind::Connection,
            "client error (SendRequest): connection error: stream closed because of a broken pipe",
            None,
        )
    };
    let over_tls = closed().over_tls(true);
    assert_eq!(over_tls.kind, FailureKind::Connection);
    assert!(
        over_tls
            .reason
            .contains("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
        "{over_tls:?}"
    );
    assert_eq!(closed().over_tls(false), closed(), "plaintext: no hint");
    let refused = Failure::retryable(FailureKind::Connection, "Connection refused", None);
    assert_eq!(
        refused.clone().over_tls(true),
        refused,
        "not a closed connection"
    );
}
