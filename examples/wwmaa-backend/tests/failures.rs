//! Failure paths: an external service that fails (502) or does not answer in time (504), a
//! database that fails (500), and a job run that fails. The client gets the status's reason
//! phrase and the request ID, never the internal detail; the spans say what happened.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{Backends, Reply, TestApp, WAIT};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otelix::names;
use serde_json::json;

/// A 5xx reply whose body is exactly `{"error": <reason phrase>, "request_id": <header>}`.
fn assert_opaque_server_error(reply: &Reply, status: u16, reason: &str) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    let id = reply.request_id.clone().expect("X-Request-ID");
    assert_eq!(reply.body, json!({"error": reason, "request_id": id}));
    id
}

async fn root_span(app: &TestApp, trace_id: &str) -> common::Trace {
    let trace = app.trace(trace_id).await;
    assert_eq!(trace.root.kind(), SpanKind::Server);
    trace
}

#[actix_web::test]
async fn failing_external_services_answer_502_and_fail_the_job_run() {
    let app = common::start(Backends::Embedded, &[("SANDBOX_FAILURE_RATE", "1")], |c| c)
        .await
        .expect("embedded backends");

    let paid = app
        .post(
            "/api/payments",
            json!({"member_id": 1, "amount_cents": 5000}),
        )
        .await;
    let id = assert_opaque_server_error(&paid, 502, "Bad Gateway");
    let trace = root_span(&app, &id).await;
    assert_eq!(trace.root.status_code(), StatusCode::Error);
    assert_eq!(trace.root.attr_str("error.type").as_deref(), Some("502"));
    let stripe = trace
        .spans
        .iter()
        .find(|s| s.attr_str("service.peer.name").as_deref() == Some("stripe"))
        .expect("the stripe call");
    assert_eq!(stripe.status_code(), StatusCode::Error);
    assert_eq!(stripe.attr_str("error.type").as_deref(), Some("503"));
    let sandbox = trace.children_of(stripe);
    assert_eq!(sandbox[0].attr_str("error.type").as_deref(), Some("503"));
    assert!(
        !trace.spans.iter().any(|s| s.name() == "INSERT payments"),
        "no payment is stored when Stripe fails"
    );

    for (path, body) in [
        (
            "/api/newsletter/subscribe",
            json!({"email": "x@example.org"}),
        ),
        ("/api/videos/upload-url", json!({"name": "clip"})),
        ("/api/ai/classify", json!({"text": "hello"})),
    ] {
        let reply = app.post(path, body).await;
        assert_opaque_server_error(&reply, 502, "Bad Gateway");
    }

    // Every reminder of the start-up run failed: the run is a failure.
    let job = app
        .receiver
        .wait_for_span(|s| s.name() == "dunning_reminder", WAIT)
        .await
        .expect("the job's run is exported");
    assert_eq!(job.status_code(), StatusCode::Error);
    assert_eq!(job.attr_str("error.type").as_deref(), Some("RunError"));
    let (metrics, page) = app.scrape().await;
    assert!(
        !page
            .find(
                names::JOB_RUNS.prometheus,
                &[("job_name", "dunning_reminder"), ("outcome", "failure")]
            )
            .is_empty(),
        "{metrics}"
    );
    assert!(
        page.samples()
            .any(|sample| sample.label("error_type") == Some("503")),
        "{metrics}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn an_external_service_that_does_not_answer_in_time_is_a_504() {
    let app = common::start(
        Backends::Embedded,
        &[
            ("SANDBOX_LATENCY_MS", "1000"),
            ("EXTERNAL_API_TIMEOUT_MS", "100"),
            // Not at start-up's pace: one overdue member at a time.
            ("DUNNING_BATCH_SIZE", "1"),
        ],
        |c| c,
    )
    .await
    .expect("embedded backends");
    let reply = app.post("/api/ai/classify", json!({"text": "renew"})).await;
    let id = assert_opaque_server_error(&reply, 504, "Gateway Timeout");
    let trace = root_span(&app, &id).await;
    let call = trace
        .spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client)
        .expect("the ai_registry call");
    assert_eq!(
        call.attr_str("service.peer.name").as_deref(),
        Some("ai_registry")
    );
    assert_eq!(call.attr_str("error.type").as_deref(), Some("timeout"));
    app.stop().await;
}

#[actix_web::test]
async fn a_failing_database_is_a_500_that_hides_the_error() {
    let app = common::start(Backends::Embedded, &[], |c| c)
        .await
        .expect("embedded backends");
    // Break the schema behind the service's back.
    common::drop_sqlite_table(&app.database_url, "activity_events").await;

    let reply = app.get("/api/reports/activity?window=7").await;
    let id = assert_opaque_server_error(&reply, 500, "Internal Server Error");
    let trace = root_span(&app, &id).await;
    assert_eq!(trace.root.status_code(), StatusCode::Error);
    let query = trace
        .db_spans("sqlite")
        .into_iter()
        .next()
        .expect("the failed query's span");
    assert_eq!(query.status_code(), StatusCode::Error);
    assert!(query.attr_str("error.type").is_some());
    app.stop().await;
}
