use std::time::{Duration, SystemTime};

use super::*;
use crate::export::otlp::test_support::{
    self, gunzip, http_reply, plain, send, Collector, Pki, BODY, SECRET,
};
use crate::export::otlp::transport::{Retry, Transport};

fn transport(vars: &[(&str, String)]) -> Transport {
    test_support::transport("http/protobuf", Signal::Logs, vars)
}

#[tokio::test]
async fn a_post_carries_the_protobuf_body_the_headers_and_the_user_agent() {
    let collector = Collector::start(None, |_| http_reply(200, &[], b"\x0a\x00")).await;
    let transport = transport(&[plain(&collector)]);
    let answer = send(&transport).await.expect("delivered");
    assert_eq!(&answer[..], b"\x0a\x00");
    let request = &collector.requests()[0];
    assert_eq!(request.path, "/v1/logs");
    assert_eq!(request.headers["content-type"], "application/x-protobuf");
    assert_eq!(request.headers["authorization"], SECRET);
    let agent = request.headers["user-agent"].to_str().expect("ASCII");
    assert!(
        agent.starts_with("OTel-OTLP-Exporter-Rust-otelix/"),
        "{agent}"
    );
    assert!(!request.headers.contains_key("content-encoding"));
    assert_eq!(&request.body[..], BODY);
}

#[tokio::test]
async fn gzip_compresses_the_body_on_the_wire() {
    let collector = Collector::start(None, |_| http_reply(200, &[], b"")).await;
    let transport = transport(&[
        plain(&collector),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
    ]);
    send(&transport).await.expect("delivered");
    let request = &collector.requests()[0];
    assert_eq!(request.headers["content-encoding"], "gzip");
    assert_eq!(gunzip(&request.body), BODY);
}

#[tokio::test]
async fn tls_with_a_ca_file_and_mtls_reach_the_collector() {
    let pki = Pki::new();
    let collector =
        Collector::start(Some(pki.server_config(true)), |_| http_reply(200, &[], b"")).await;
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
    assert_eq!(collector.requests().len(), 1);

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

    let plain_tls = Collector::start(Some(pki.server_config(false)), |_| {
        http_reply(200, &[], b"")
    })
    .await;
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
    let collector = Collector::start(Some(pki.server_config(false)), |_| {
        http_reply(200, &[], b"")
    })
    .await;
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
async fn retry_after_and_the_status_message_arrive_from_the_collector() {
    let collector = Collector::start(None, |request| {
        match request.headers["x-answer"].to_str().unwrap_or_default() {
            "503" => http_reply(503, &[("retry-after", "7")], b"busy"),
            // A google.rpc.Status { code: 3, message: "bad span" }.
            _ => http_reply(
                400,
                &[("content-type", "application/x-protobuf")],
                b"\x08\x03\x12\x08bad span",
            ),
        }
    })
    .await;
    let answer = |value: &str| {
        transport(&[
            plain(&collector),
            ("OTEL_EXPORTER_OTLP_HEADERS", format!("x-answer={value}")),
        ])
    };
    let failure = send(&answer("503")).await.expect_err("unavailable");
    assert_eq!(failure.kind, FailureKind::Unavailable);
    assert_eq!(failure.retry, Retry::After(Some(Duration::from_secs(7))));
    let failure = send(&answer("400")).await.expect_err("refused");
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(failure.retry, Retry::Never);
    assert!(failure.reason.contains("bad span"), "{}", failure.reason);
}

/// Every HTTP error status, as the OTLP specification classifies it.
#[test]
fn every_status_is_classified_as_the_specification_says() {
    for code in 400..=599_u16 {
        let status = StatusCode::from_u16(code).expect("a status");
        let failure = classify(status, String::new(), None);
        match code {
            429 | 502 | 503 | 504 => {
                assert_eq!(failure.retry, Retry::After(None), "{code}");
                assert_eq!(failure.kind, FailureKind::Unavailable, "{code}");
            }
            401 | 403 => {
                assert_eq!(failure.retry, Retry::Never, "{code}");
                assert_eq!(failure.kind, FailureKind::Authentication, "{code}");
            }
            _ => {
                assert_eq!(failure.retry, Retry::Never, "{code}");
                assert_eq!(failure.kind, FailureKind::Refused, "{code}");
            }
        }
    }
    let failure = classify(
        StatusCode::TOO_MANY_REQUESTS,
        String::new(),
        Some(Duration::from_secs(2)),
    );
    assert_eq!(failure.retry, Retry::After(Some(Duration::from_secs(2))));
}

#[test]
fn retry_after_is_read_as_seconds_or_as_an_http_date() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let header = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).expect("a value"));
        retry_after(&headers, now)
    };
    assert_eq!(header("120"), Some(Duration::from_secs(120)));
    assert_eq!(
        header(&httpdate::fmt_http_date(now + Duration::from_secs(30))),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        header(&httpdate::fmt_http_date(now - Duration::from_secs(30))),
        Some(Duration::ZERO)
    );
    assert_eq!(header("soon"), None);
    assert_eq!(retry_after(&HeaderMap::new(), now), None);
}

#[test]
fn header_values_never_appear_in_debug_output() {
    let transport = transport(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://127.0.0.1:4318".to_owned(),
    )]);
    let Transport::Http(http) = &transport else {
        panic!("an HTTP transport");
    };
    let headers = format!("{:?}", http.headers);
    assert!(headers.contains("authorization"), "{headers}");
    assert!(!headers.contains("planted-secret"), "{headers}");
}
