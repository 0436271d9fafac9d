//! W3C Trace Context and Baggage extraction, wired through the middleware. The rules
//! themselves are unit-tested with otelix's propagator; these tests check that the middleware
//! hands it every header value and uses what it returns.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix_testkit::{ReceivedSpan, Receiver};

use common::{request_id_header, PARENT_ID, TRACEPARENT, TRACE_ID, WAIT};

/// Sends `GET {path}` with `headers` (repeated names are sent repeatedly) and returns the
/// request ID and the exported SERVER span.
async fn exchange(
    receiver: &Receiver,
    telemetry: &otelix::Telemetry,
    path: &str,
    headers: &[(&str, &str)],
) -> (String, ReceivedSpan) {
    let app = test::init_service(common::app(&telemetry.handle())).await;
    let mut request = TestRequest::get().uri(path);
    for header in headers {
        request = request.append_header(*header);
    }
    let response = test::call_service(&app, request.to_request()).await;
    assert!(response.status().is_success());
    let id = request_id_header(&response);
    telemetry.force_flush().expect("flush");
    let path = path.to_owned();
    let span = receiver
        .wait_for_span(
            move |s| {
                s.kind() == SpanKind::Server && s.attr_str("url.path").as_deref() == Some(&*path)
            },
            WAIT,
        )
        .await
        .expect("SERVER span is exported");
    assert_eq!(span.trace_id(), id, "X-Request-ID is the span's trace ID");
    (id, span)
}

#[actix_web::test]
async fn invalid_traceparents_start_a_new_trace() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let zero_trace = format!("00-{}-{PARENT_ID}-01", "0".repeat(32));
    let zero_parent = format!("00-{TRACE_ID}-{}-01", "0".repeat(16));
    let version_ff = format!("ff-{TRACE_ID}-{PARENT_ID}-01");
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        ("/users/version-ff", vec![("traceparent", &version_ff)]),
        ("/users/zero-trace", vec![("traceparent", &zero_trace)]),
        ("/users/zero-parent", vec![("traceparent", &zero_parent)]),
        (
            "/users/duplicated",
            vec![("traceparent", TRACEPARENT), ("traceparent", TRACEPARENT)],
        ),
    ];
    for (path, headers) in cases {
        let (id, span) = exchange(&receiver, &telemetry, path, &headers).await;
        assert_ne!(id, TRACE_ID, "{path}");
        assert_eq!(span.parent_span_id(), None, "{path}");
    }
}

#[actix_web::test]
async fn a_later_version_with_extra_fields_is_continued() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let future_version = format!("cc-{TRACE_ID}-{PARENT_ID}-01-what-the-future-holds");
    let (id, span) = exchange(
        &receiver,
        &telemetry,
        "/users/future",
        &[("traceparent", &future_version)],
    )
    .await;
    assert_eq!(id, TRACE_ID);
    assert_eq!(span.parent_span_id().as_deref(), Some(PARENT_ID));
}

#[actix_web::test]
async fn tracestate_from_several_headers_is_combined_onto_the_span() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let (id, span) = exchange(
        &receiver,
        &telemetry,
        "/users/tracestate",
        &[
            ("traceparent", TRACEPARENT),
            ("tracestate", "rojo=00f067aa0ba902b7"),
            ("TraceState", "congo=t61rcWkgMzE"),
        ],
    )
    .await;
    assert_eq!(id, TRACE_ID);
    assert_eq!(
        span.span.trace_state,
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    );
}

#[actix_web::test]
async fn an_unsampled_caller_is_respected_but_still_gets_the_request_id() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    let unsampled = format!("00-{TRACE_ID}-{PARENT_ID}-00");
    let response = test::call_service(
        &app,
        TestRequest::get()
            .uri("/users/1")
            .insert_header(("traceparent", unsampled))
            .to_request(),
    )
    .await;
    assert_eq!(request_id_header(&response), TRACE_ID);
    let traceresponse = response
        .headers()
        .get("traceresponse")
        .and_then(|v| v.to_str().ok())
        .expect("traceresponse is set");
    assert!(traceresponse.starts_with(&format!("00-{TRACE_ID}-")));
    assert!(traceresponse.ends_with("-00"), "{traceresponse}");
    telemetry.force_flush().expect("flush");
    assert!(receiver.spans().iter().all(|s| s.trace_id() != TRACE_ID));
}

#[actix_web::test]
async fn baggage_reaches_the_handler() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    let response = test::call_service(
        &app,
        TestRequest::get()
            .uri("/baggage")
            .insert_header(("baggage", "user=alice,tier=gold"))
            .to_request(),
    )
    .await;
    request_id_header(&response);
    assert_eq!(test::read_body(response).await, "alice");
}
