//! Hostile and broken input: malformed, oversized (8 KB), duplicated and non-UTF-8 propagation
//! and request-ID headers, unknown methods and very long paths. Every request must be served as
//! if the bad part were absent, with a valid `X-Request-ID`, and nothing may panic.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use actix_web::http::header::HeaderValue;
use actix_web::test::{self, TestRequest};
use actix_web::HttpServer;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix::names::CLIENT_REQUEST_ID;
use otelix_testkit::Receiver;

use common::{request_id_header, TRACEPARENT, TRACE_ID, WAIT};

const OVERSIZED: usize = 8 * 1024;

fn value(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_bytes(bytes).expect("a header value actix-web would accept")
}

/// The bad variants of one header: malformed, oversized, duplicated, not UTF-8.
fn bad_values(malformed: &str, duplicate: [&str; 2]) -> Vec<(&'static str, Vec<HeaderValue>)> {
    vec![
        ("malformed", vec![value(malformed.as_bytes())]),
        ("oversized", vec![value("a".repeat(OVERSIZED).as_bytes())]),
        (
            "duplicated",
            vec![
                value(duplicate[0].as_bytes()),
                value(duplicate[1].as_bytes()),
            ],
        ),
        ("invalid-utf8", vec![value(b"\xff\xfe\xc3\x28")]),
    ]
}

#[actix_web::test]
async fn bad_headers_are_ignored_and_the_request_is_served() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    let other_traceparent = "00-11111111111111111111111111111111-2222222222222222-01";

    // (header, whether a valid traceparent accompanies it, its bad variants)
    let headers = [
        (
            "traceparent",
            false,
            bad_values("00-not-a-trace-01", [TRACEPARENT, other_traceparent]),
        ),
        ("tracestate", true, bad_values("=,==,a b=c", ["k=1", "k=2"])),
        ("baggage", false, bad_values("%%%;;;===", ["a=1", "a=2"])),
        (
            "x-request-id",
            false,
            bad_values("has spaces\tinside", ["one", "two"]),
        ),
    ];
    let mut sent = Vec::new();
    for (name, with_parent, variants) in headers {
        for (variant, values) in variants {
            let path = format!("/users/{name}-{variant}");
            let mut request = TestRequest::get().uri(&path);
            if with_parent {
                request = request.insert_header(("traceparent", TRACEPARENT));
            }
            for value in values {
                request = request.append_header((name, value));
            }
            let response = test::call_service(&app, request.to_request()).await;
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            let id = request_id_header(&response);
            match (name, with_parent) {
                (_, true) => assert_eq!(id, TRACE_ID, "{path}: the valid traceparent is kept"),
                ("traceparent", _) => assert_ne!(id, TRACE_ID, "{path}: a new trace"),
                _ => {}
            }
            sent.push((path, name, id));
        }
    }
    telemetry.force_flush().expect("flush");

    for (path, name, id) in sent {
        let wanted = path.clone();
        let span = receiver
            .wait_for_span(
                move |s| s.attr_str("url.path").as_deref() == Some(wanted.as_str()),
                WAIT,
            )
            .await
            .expect("span of the request");
        assert_eq!(span.trace_id(), id, "{path}");
        assert_eq!(span.kind(), SpanKind::Server);
        match name {
            "traceparent" => assert_eq!(span.parent_span_id(), None, "{path}"),
            "tracestate" => assert_eq!(span.span.trace_state, "", "{path}"),
            "x-request-id" => {
                assert_eq!(span.attr_str(CLIENT_REQUEST_ID), None, "{path}")
            }
            _ => {}
        }
    }
}

#[actix_web::test]
async fn very_long_paths_and_unknown_methods_are_served() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let long_path = format!("/users/{}", "x".repeat(16 * 1024));
    let response = test::call_service(&app, TestRequest::get().uri(&long_path).to_request()).await;
    assert!(response.status().is_success());
    let id = request_id_header(&response);

    let long_method =
        actix_web::http::Method::from_bytes("LONG".repeat(100).as_bytes()).expect("a token");
    let response = test::call_service(
        &app,
        TestRequest::default()
            .method(long_method)
            .uri("/nowhere")
            .to_request(),
    )
    .await;
    assert!(response.status().is_client_error());
    let other_id = request_id_header(&response);
    telemetry.force_flush().expect("flush");

    let span = receiver
        .wait_for_span(move |s| s.trace_id() == id, WAIT)
        .await
        .expect("span of the long path");
    let recorded = span.attr_str("url.path").unwrap_or_default();
    assert!(recorded.len() <= 2048 && long_path.starts_with(&recorded));
    assert_eq!(span.attr_str("http.route").as_deref(), Some("/users/{id}"));

    let span = receiver
        .wait_for_span(move |s| s.trace_id() == other_id, WAIT)
        .await
        .expect("span of the unknown method");
    assert_eq!(
        span.attr_str("http.request.method").as_deref(),
        Some("_OTHER")
    );
    assert!(
        span.attr_str("http.request.method_original")
            .unwrap_or_default()
            .len()
            <= 64
    );
}

/// Writes `request` to `addr` and returns the whole response as text.
fn raw_exchange(addr: SocketAddr, request: Vec<u8>) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(&request).expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    String::from_utf8_lossy(&response).into_owned()
}

fn header<'r>(response: &'r str, name: &str) -> Option<&'r str> {
    response.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[actix_web::test]
async fn raw_bytes_on_a_real_socket_are_served() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let handle = telemetry.handle();
    let server = HttpServer::new(move || common::app(&handle))
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
    let addr = server.addrs()[0];
    let server = server.run();
    let server_handle = server.handle();
    actix_web::rt::spawn(server);

    let mut request = b"GET /users/raw HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    request.extend_from_slice(format!("traceparent: {TRACEPARENT}\r\n").as_bytes());
    request.extend_from_slice(format!("traceparent: {TRACEPARENT}\r\n").as_bytes());
    request.extend_from_slice(b"x-request-id: \xff\xfe\r\n");
    request.extend_from_slice(b"baggage: \xc3\x28=\xff\r\n");
    request.extend_from_slice(format!("tracestate: {}\r\n", "b".repeat(OVERSIZED)).as_bytes());
    request.extend_from_slice(b"User-Agent: raw-client\r\nConnection: close\r\n\r\n");
    let mut unknown = b"FOO /".to_vec();
    unknown.extend_from_slice("p".repeat(4096).as_bytes());
    unknown.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

    let responses = actix_web::rt::task::spawn_blocking(move || {
        [raw_exchange(addr, request), raw_exchange(addr, unknown)]
    })
    .await
    .expect("client thread");
    server_handle.stop(true).await;

    let [served, unknown] = responses;
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    let id = header(&served, "x-request-id").expect("X-Request-ID");
    assert_eq!(id.len(), 32);
    assert_ne!(id, TRACE_ID, "a duplicated traceparent starts a new trace");
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    let unknown_id = header(&unknown, "x-request-id").expect("X-Request-ID");
    assert_eq!(unknown_id.len(), 32);

    telemetry.force_flush().expect("flush");
    let wanted = id.to_owned();
    let span = receiver
        .wait_for_span(move |s| s.trace_id() == wanted, WAIT)
        .await
        .expect("span of the raw request");
    assert_eq!(
        span.attr_str("client.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        span.attr_str("user_agent.original").as_deref(),
        Some("raw-client")
    );
    assert_eq!(span.attr_str(CLIENT_REQUEST_ID), None);
}
