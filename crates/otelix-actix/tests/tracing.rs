//! The SERVER span, its context and the request-ID headers, checked on what a real OTLP
//! exporter delivers to the test receiver.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otelix::names::CLIENT_REQUEST_ID;
use otelix_testkit::{AttrValue, ReceivedSpan, Receiver};

use common::{request_id_header, PARENT_ID, TRACEPARENT, TRACE_ID, WAIT};

async fn server_span(receiver: &Receiver, trace_id: &str) -> ReceivedSpan {
    let trace_id = trace_id.to_owned();
    receiver
        .wait_for_span(
            move |span| span.trace_id() == trace_id && span.kind() == SpanKind::Server,
            WAIT,
        )
        .await
        .expect("the SERVER span is exported")
}

#[actix_web::test]
async fn valid_traceparent_continues_the_callers_trace() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let response = test::call_service(
        &app,
        TestRequest::get()
            .uri("/users/42?expand=true")
            .insert_header(("traceparent", TRACEPARENT))
            .insert_header(("user-agent", "integration-test/1.0"))
            .peer_addr("10.1.2.3:45678".parse().expect("address"))
            .to_request(),
    )
    .await;
    assert!(response.status().is_success());
    assert_eq!(request_id_header(&response), TRACE_ID);
    telemetry.force_flush().expect("flush");

    let span = server_span(&receiver, TRACE_ID).await;
    assert_eq!(span.parent_span_id().as_deref(), Some(PARENT_ID));
    assert_eq!(span.name(), "GET /users/{id}");
    assert_eq!(span.status_code(), StatusCode::Unset);
    let attr = |key: &str| span.attr_str(key);
    assert_eq!(attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(attr("http.route").as_deref(), Some("/users/{id}"));
    assert_eq!(attr("url.path").as_deref(), Some("/users/42"));
    assert_eq!(attr("url.scheme").as_deref(), Some("http"));
    assert_eq!(attr("client.address").as_deref(), Some("10.1.2.3"));
    assert_eq!(
        attr("user_agent.original").as_deref(),
        Some("integration-test/1.0")
    );
    assert_eq!(
        span.attr("http.response.status_code"),
        Some(AttrValue::Int(200))
    );
    assert_eq!(attr("error.type"), None);
    assert_eq!(attr(CLIENT_REQUEST_ID), None);

    let traceresponse = response
        .headers()
        .get("traceresponse")
        .and_then(|v| v.to_str().ok())
        .expect("traceresponse is set");
    assert_eq!(
        traceresponse,
        format!("00-{TRACE_ID}-{}-01", span.span_id())
    );
}

#[actix_web::test]
async fn without_traceparent_a_new_trace_is_the_request_id() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let response =
        test::call_service(&app, TestRequest::get().uri("/request-id").to_request()).await;
    let request_id = request_id_header(&response);
    // The handler's `RequestId` extractor sees the same ID.
    let body = test::read_body(response).await;
    assert_eq!(body, request_id.as_bytes());
    telemetry.force_flush().expect("flush");

    let span = server_span(&receiver, &request_id).await;
    assert_eq!(span.parent_span_id(), None);
    assert_eq!(span.name(), "GET /request-id");
}

#[actix_web::test]
async fn server_errors_mark_the_span_but_client_errors_do_not() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let cases = [
        ("/fail", 500, Some("500")),
        ("/api-error", 500, Some("500")),
        ("/missing", 404, None),
        ("/no/such/route", 404, None),
        ("/inner-response", 401, None),
    ];
    let mut ids = Vec::new();
    for (path, status, _) in cases {
        let response = test::call_service(&app, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        ids.push(request_id_header(&response));
    }
    telemetry.force_flush().expect("flush");

    for ((path, status, error_type), id) in cases.into_iter().zip(ids) {
        let span = server_span(&receiver, &id).await;
        let expected_status = if error_type.is_some() {
            StatusCode::Error
        } else {
            StatusCode::Unset
        };
        assert_eq!(span.status_code(), expected_status, "{path}");
        assert_eq!(span.attr_str("error.type").as_deref(), error_type, "{path}");
        assert_eq!(
            span.attr("http.response.status_code"),
            Some(AttrValue::Int(status.into())),
            "{path}"
        );
    }
    // No route matched: the span is named by the method alone and has no http.route.
    let unmatched = receiver
        .spans()
        .into_iter()
        .find(|s| s.attr_str("url.path").as_deref() == Some("/no/such/route"))
        .expect("span of the unmatched request");
    assert_eq!(unmatched.name(), "GET");
    assert_eq!(unmatched.attr_str("http.route"), None);
}

#[actix_web::test]
async fn error_bodies_name_the_request_and_hide_server_details() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    for (path, message) in [
        ("/api-error", "Internal Server Error"),
        ("/missing", "no such thing"),
    ] {
        let response = test::call_service(&app, TestRequest::get().uri(path).to_request()).await;
        let id = request_id_header(&response);
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["error"], message, "{path}");
        assert_eq!(body["request_id"], id.as_str(), "{path}");
        assert!(!body.to_string().contains("10.0.0.5"));
    }
}

#[actix_web::test]
async fn errors_returned_by_inner_middleware_still_carry_the_request_id() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    for (path, status, span_status, name) in [
        ("/inner-error", 503, StatusCode::Error, "GET /inner-error"),
        ("/inner-forbidden", 403, StatusCode::Unset, "GET"),
    ] {
        // `call_service` would panic on an `Err`; render it the way actix-web's dispatcher does.
        let error = test::try_call_service(
            &app,
            TestRequest::get()
                .uri(path)
                .insert_header(("traceparent", TRACEPARENT))
                .to_request(),
        )
        .await
        .err()
        .expect("the inner middleware fails the request");
        let response = error.error_response();
        assert_eq!(response.status().as_u16(), status);
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("X-Request-ID on the rendered error");
        assert_eq!(id, TRACE_ID);
        assert!(response.headers().contains_key("traceresponse"));
        let traced = error
            .as_error::<otelix_actix::TracedError>()
            .expect("the error is wrapped");
        assert_eq!(traced.request_id().as_str(), TRACE_ID);
        assert_eq!(
            traced.inner().as_response_error().status_code().as_u16(),
            status
        );

        telemetry.force_flush().expect("flush");
        let span = receiver
            .wait_for_span(
                move |s| {
                    s.kind() == SpanKind::Server
                        && s.attr("http.response.status_code")
                            == Some(AttrValue::Int(status.into()))
                },
                WAIT,
            )
            .await
            .expect("span of the failed request");
        assert_eq!(span.trace_id(), TRACE_ID);
        assert_eq!(span.status_code(), span_status, "{path}");
        // The route comes from the resource map, so it is known although the router never
        // ran; `/inner-forbidden` is not a route at all.
        assert_eq!(span.name(), name, "{path}");
    }
}

#[actix_web::test]
async fn handler_logs_are_exported_in_the_request_trace() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let _subscriber = tracing::dispatcher::set_default(telemetry.dispatch());
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let response = test::call_service(
        &app,
        TestRequest::get()
            .uri("/log")
            .insert_header(("traceparent", TRACEPARENT))
            .to_request(),
    )
    .await;
    assert_eq!(request_id_header(&response), TRACE_ID);
    telemetry.force_flush().expect("flush");

    let log = receiver
        .wait_for_log(
            |log| log.body().as_deref() == Some("handling the log route"),
            WAIT,
        )
        .await
        .expect("the handler's log record is exported");
    assert_eq!(log.trace_id().as_deref(), Some(TRACE_ID));
    let span = server_span(&receiver, TRACE_ID).await;
    assert_eq!(log.span_id(), Some(span.span_id()));
}

#[actix_web::test]
async fn spans_opened_after_an_await_are_children_of_the_server_span() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let _subscriber = tracing::dispatcher::set_default(telemetry.dispatch());
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let response = test::call_service(&app, TestRequest::get().uri("/child").to_request()).await;
    let trace_id = request_id_header(&response);
    telemetry.force_flush().expect("flush");

    let server = server_span(&receiver, &trace_id).await;
    for name in ["otel-child", "tracing-child"] {
        let child = receiver
            .wait_for_span(|s| s.name() == name, WAIT)
            .await
            .expect("child span is exported");
        assert_eq!(child.trace_id(), trace_id, "{name}");
        assert_eq!(child.parent_span_id(), Some(server.span_id()), "{name}");
    }
}

#[actix_web::test]
async fn client_request_id_is_recorded_sanitized_and_never_echoed() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let response = test::call_service(
        &app,
        TestRequest::get()
            .uri("/users/7")
            .insert_header(("x-request-id", "  client-id-123 "))
            .to_request(),
    )
    .await;
    let id = request_id_header(&response);
    assert_ne!(id, "client-id-123");
    telemetry.force_flush().expect("flush");

    let span = server_span(&receiver, &id).await;
    assert_eq!(
        span.attr_str(CLIENT_REQUEST_ID).as_deref(),
        Some("[client-id-123]")
    );
}

#[actix_web::test]
async fn unknown_methods_are_other_with_the_original_kept_on_the_span() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let method = actix_web::http::Method::from_bytes(b"FOO").expect("token");
    let response = test::call_service(
        &app,
        TestRequest::default()
            .method(method)
            .uri("/users/1")
            .to_request(),
    )
    .await;
    let id = request_id_header(&response);
    assert!(response.status().is_client_error());
    telemetry.force_flush().expect("flush");

    let span = server_span(&receiver, &id).await;
    assert_eq!(
        span.attr_str("http.request.method").as_deref(),
        Some("_OTHER")
    );
    assert_eq!(
        span.attr_str("http.request.method_original").as_deref(),
        Some("FOO")
    );
    assert!(span.name().starts_with("HTTP"), "{}", span.name());
}

#[actix_web::test]
async fn excluded_paths_are_not_traced_but_still_get_a_request_id() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let mut ids = std::collections::BTreeSet::new();
    for path in ["/health", "/metrics", "/health"] {
        let response = test::call_service(&app, TestRequest::get().uri(path).to_request()).await;
        assert!(response.status().is_success(), "{path}");
        // Every response has an ID of its own, in the same form; no trace uses it.
        let id = request_id_header(&response);
        assert!(ids.insert(id), "{path}: a repeated ID");
        assert!(!response.headers().contains_key("traceresponse"), "{path}");
    }
    let response = test::call_service(&app, TestRequest::get().uri("/users/1").to_request()).await;
    let id = request_id_header(&response);
    telemetry.force_flush().expect("flush");
    server_span(&receiver, &id).await;
    assert!(receiver
        .spans()
        .iter()
        .all(|s| s.attr_str("url.path").as_deref() == Some("/users/1")));
}

#[actix_web::test]
async fn the_query_string_is_recorded_with_credentials_redacted() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    let response = test::call_service(
        &app,
        TestRequest::get()
            .uri("/users/1?page=2&access_token=s3cr3t&X-Amz-Signature=abc123&sort=name")
            .to_request(),
    )
    .await;
    let id = request_id_header(&response);
    telemetry.force_flush().expect("flush");
    let span = server_span(&receiver, &id).await;
    assert_eq!(
        span.attr_str("url.query").as_deref(),
        Some("page=2&access_token=REDACTED&X-Amz-Signature=REDACTED&sort=name")
    );
    assert_eq!(span.attr_str("url.path").as_deref(), Some("/users/1"));
    // Without a query string, no attribute.
    let response = test::call_service(&app, TestRequest::get().uri("/users/2").to_request()).await;
    let id = request_id_header(&response);
    telemetry.force_flush().expect("flush");
    assert_eq!(
        server_span(&receiver, &id).await.attr_str("url.query"),
        None
    );
}

#[actix_web::test]
async fn cancelled_requests_end_their_span() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let call =
        actix_web::dev::Service::call(&app, TestRequest::get().uri("/sleep?ms=10000").to_request());
    let timed_out = actix_web::rt::time::timeout(std::time::Duration::from_millis(20), call).await;
    assert!(timed_out.is_err(), "the request was still running");
    telemetry.force_flush().expect("flush");

    let span = receiver
        .wait_for_span(
            |s| s.attr_str("url.path").as_deref() == Some("/sleep"),
            WAIT,
        )
        .await
        .expect("the cancelled request's span is exported");
    assert_eq!(span.attr_str("error.type").as_deref(), Some("cancelled"));
    assert_eq!(span.status_code(), StatusCode::Error);
}

#[actix_web::test]
async fn handlers_run_in_a_context_that_names_the_route() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let response = test::call_service(
        &app,
        TestRequest::get().uri("/route-context/x").to_request(),
    )
    .await;
    request_id_header(&response);
    assert_eq!(test::read_body(response).await, "/route-context/{name}");
    let response =
        test::call_service(&app, TestRequest::get().uri("/route-context").to_request()).await;
    assert_eq!(response.status().as_u16(), 404);
}
