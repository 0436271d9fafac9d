//! The middleware's hooks, as closures and as named types: what `on_request` and `on_response`
//! add reaches the exported SERVER span, and what the error classifier decides reaches the
//! span's status, its `error.type` and the duration metric's `error_type` label.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::test::{self, TestRequest};
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otelix_actix::{
    ClassifyError, DefaultClassifyError, OnRequest, OnResponse, Outcome, RequestTelemetry,
};
use otelix_testkit::exposition::Exposition;
use otelix_testkit::{AttrValue, ReceivedSpan, Receiver};

use common::{request_id_header, WAIT};

const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";

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

/// Sends `GET path`, with `X-Tenant: tenant` when given; the request ID is the trace ID.
async fn get<S, B>(app: &S, path: &str, tenant: Option<&str>) -> (u16, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let mut request = TestRequest::get().uri(path);
    if let Some(tenant) = tenant {
        request = request.insert_header(("x-tenant", tenant));
    }
    let response = test::call_service(app, request.to_request()).await;
    (response.status().as_u16(), request_id_header(&response))
}

/// The count of `http.server.request.duration` over the series with `labels`, 0 when none.
async fn duration_count<S, B>(app: &S, labels: &[(&str, &str)]) -> f64
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, TestRequest::get().uri("/metrics").to_request()).await;
    let text = String::from_utf8(test::read_body(response).await.to_vec()).expect("UTF-8 page");
    Exposition::parse(&text)
        .expect("the /metrics page parses")
        .find(DURATION_COUNT, labels)
        .iter()
        .map(|sample| sample.value())
        .sum()
}

#[actix_web::test]
async fn closures_add_span_attributes_and_classify_failures() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let handle = telemetry.handle();
    let middleware = RequestTelemetry::new(&handle)
        .on_request(|request: &ServiceRequest, attributes: &mut Vec<KeyValue>| {
            if let Some(tenant) = request
                .headers()
                .get("x-tenant")
                .and_then(|v| v.to_str().ok())
            {
                attributes.push(KeyValue::new("app.tenant", tenant.to_owned()));
            }
        })
        .on_response(|outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>| {
            attributes.push(KeyValue::new(
                "app.handler_error",
                outcome.error().is_some(),
            ));
        })
        .with_error_classifier(|outcome: &Outcome<'_>| match outcome.status().as_u16() {
            404 => Some("not_found"),
            _ => DefaultClassifyError.error_type(outcome),
        });
    let app = test::init_service(common::app_with(&handle, middleware)).await;

    let (status, missing) = get(&app, "/missing", Some("acme")).await;
    assert_eq!(status, 404);
    let (status, found) = get(&app, "/users/7", None).await;
    assert_eq!(status, 200);
    let (status, failed) = get(&app, "/fail", None).await;
    assert_eq!(status, 500);
    telemetry.force_flush().expect("flush");

    let span = server_span(&receiver, &missing).await;
    assert_eq!(span.attr_str("app.tenant").as_deref(), Some("acme"));
    assert_eq!(span.attr("app.handler_error"), Some(AttrValue::Bool(true)));
    assert_eq!(span.attr_str("error.type").as_deref(), Some("not_found"));
    assert_eq!(span.status_code(), StatusCode::Error);

    let span = server_span(&receiver, &found).await;
    assert_eq!(span.attr_str("app.tenant"), None);
    assert_eq!(span.attr("app.handler_error"), Some(AttrValue::Bool(false)));
    assert_eq!(span.attr_str("error.type"), None);
    assert_eq!(span.status_code(), StatusCode::Unset);

    // The closure falls back on the default for everything but 404.
    let span = server_span(&receiver, &failed).await;
    assert_eq!(span.attr_str("error.type").as_deref(), Some("500"));
    assert_eq!(span.status_code(), StatusCode::Error);

    let missing = [("http_route", "/missing"), ("error_type", "not_found")];
    assert_eq!(duration_count(&app, &missing).await, 1.0);
    let failed = [("http_route", "/fail"), ("error_type", "500")];
    assert_eq!(duration_count(&app, &failed).await, 1.0);
}

/// Puts the value of a configured header on the span.
struct HeaderAttribute {
    header: &'static str,
    key: &'static str,
}

impl OnRequest for HeaderAttribute {
    fn on_request(&self, request: &ServiceRequest, attributes: &mut Vec<KeyValue>) {
        if let Some(value) = request
            .headers()
            .get(self.header)
            .and_then(|v| v.to_str().ok())
        {
            attributes.push(KeyValue::new(self.key, value.to_owned()));
        }
    }
}

/// Names the route again, from the outcome, so that the test sees the hook ran at the end.
struct OutcomeRoute;

impl OnResponse for OutcomeRoute {
    fn on_response(&self, outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>) {
        let route = outcome.route().unwrap_or("none").to_owned();
        attributes.push(KeyValue::new("app.outcome_route", route));
    }
}

/// Not-found is a failure for this service; everything else as the conventions say.
struct NotFoundIsAFailure;

impl ClassifyError for NotFoundIsAFailure {
    fn error_type(&self, outcome: &Outcome<'_>) -> Option<&'static str> {
        match outcome.status().as_u16() {
            404 => Some("404"),
            _ => DefaultClassifyError.error_type(outcome),
        }
    }
}

#[actix_web::test]
async fn named_types_are_hooks_too() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let handle = telemetry.handle();
    let middleware = RequestTelemetry::new(&handle)
        .on_request(HeaderAttribute {
            header: "x-tenant",
            key: "app.tenant",
        })
        .on_response(OutcomeRoute)
        .with_error_classifier(NotFoundIsAFailure);
    let app = test::init_service(common::app_with(&handle, middleware)).await;

    let (status, missing) = get(&app, "/missing", Some("globex")).await;
    assert_eq!(status, 404);
    telemetry.force_flush().expect("flush");

    let span = server_span(&receiver, &missing).await;
    assert_eq!(span.attr_str("app.tenant").as_deref(), Some("globex"));
    assert_eq!(
        span.attr_str("app.outcome_route").as_deref(),
        Some("/missing")
    );
    assert_eq!(span.attr_str("error.type").as_deref(), Some("404"));
    assert_eq!(span.status_code(), StatusCode::Error);
    let missing = [("http_route", "/missing"), ("error_type", "404")];
    assert_eq!(duration_count(&app, &missing).await, 1.0);
}

#[actix_web::test]
async fn without_hooks_a_not_found_is_no_failure() {
    let receiver = Receiver::start().expect("receiver starts");
    let telemetry = common::telemetry(&receiver);
    let app = test::init_service(common::app(&telemetry.handle())).await;

    let (status, missing) = get(&app, "/missing", Some("acme")).await;
    assert_eq!(status, 404);
    telemetry.force_flush().expect("flush");

    let span = server_span(&receiver, &missing).await;
    assert_eq!(span.attr_str("app.tenant"), None);
    assert_eq!(span.attr_str("error.type"), None);
    assert_eq!(span.status_code(), StatusCode::Unset);
    let route = [("http_route", "/missing")];
    assert_eq!(duration_count(&app, &route).await, 1.0);
    let failed = [("http_route", "/missing"), ("error_type", "404")];
    assert_eq!(duration_count(&app, &failed).await, 0.0);
}
