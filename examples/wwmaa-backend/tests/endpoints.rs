//! One request through every endpoint, and the trace each one leaves: the SERVER span, the
//! database CLIENT spans below it, the cache (metrics, and CLIENT spans for Redis), the
//! external CLIENT span with the sandbox's SERVER span as its child in the same trace, the
//! `X-Request-ID` header equal to the trace ID, and error bodies that carry it.
//!
//! Runs on SQLite with the in-process cache, and on PostgreSQL with Redis when
//! `DATABASE_URL` and `REDIS_URL` are set (as `.ci/run` does).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{Backends, Reply, TestApp, Trace, WAIT};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otelix::names;
use otelix_testkit::ReceivedSpan;
use serde_json::json;

#[actix_web::test]
async fn every_endpoint_on_sqlite_and_the_memory_cache() {
    let app = common::start(Backends::Embedded, &[], |c| c)
        .await
        .expect("embedded backends are always available");
    exercise_every_endpoint(&app).await;
    app.stop().await;
}

#[actix_web::test]
async fn every_endpoint_on_postgresql_and_redis() {
    let Some(app) = common::start(Backends::External, &[], |c| c).await else {
        return;
    };
    exercise_every_endpoint(&app).await;
    app.stop().await;
}

/// The request ID of a reply, checked to be the trace ID format.
fn request_id(reply: &Reply) -> String {
    let id = reply.request_id.clone().expect("X-Request-ID is set");
    assert_eq!(id.len(), 32, "{id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{id}"
    );
    id
}

/// The trace of `reply`, whose root must be its SERVER span named `name`.
async fn server_trace(app: &TestApp, reply: &Reply, name: &str) -> Trace {
    let id = request_id(reply);
    let trace = app.trace(&id).await;
    assert_eq!(trace.root.kind(), SpanKind::Server, "{name}");
    assert_eq!(trace.root.name(), name);
    assert_eq!(trace.root.trace_id(), id, "X-Request-ID is the trace ID");
    assert_eq!(
        trace.root.attr_str("http.response.status_code"),
        Some(reply.status.to_string())
    );
    trace
}

/// Database spans of the trace, each a CLIENT child of the request's SERVER span.
fn db_children<'a>(app: &TestApp, trace: &'a Trace) -> Vec<&'a ReceivedSpan> {
    let spans = trace.db_spans(app.database_system);
    for span in &spans {
        assert_eq!(
            span.parent_span_id(),
            Some(trace.root.span_id()),
            "{} is a child of the SERVER span",
            span.name()
        );
    }
    spans
}

fn names(spans: &[&ReceivedSpan]) -> Vec<String> {
    spans.iter().map(|s| s.name().to_owned()).collect()
}

/// The external CLIENT span for `service` below the SERVER span, and the sandbox's SERVER
/// span below it, in the same trace.
fn external_call<'a>(
    trace: &'a Trace,
    service: &str,
    operation: &str,
    sandbox_route: &str,
) -> &'a ReceivedSpan {
    let client = trace
        .spans
        .iter()
        .find(|s| {
            s.kind() == SpanKind::Client
                && s.attr_str("service.peer.name").as_deref() == Some(service)
        })
        .unwrap_or_else(|| panic!("no {service} CLIENT span in {:?}", trace.names()));
    assert_eq!(client.parent_span_id(), Some(trace.root.span_id()));
    assert_eq!(client.name(), "POST");
    assert_eq!(
        client.attr_str(names::OTELIX_OPERATION).as_deref(),
        Some(operation)
    );
    assert_eq!(
        client.attr_str("server.address").as_deref(),
        Some("127.0.0.1")
    );
    let sandbox = trace.children_of(client);
    assert_eq!(
        sandbox.len(),
        1,
        "one sandbox SERVER span below the {service} call"
    );
    assert_eq!(sandbox[0].kind(), SpanKind::Server);
    assert_eq!(sandbox[0].name(), format!("POST {sandbox_route}"));
    assert_eq!(sandbox[0].trace_id(), trace.root.trace_id());
    client
}

/// Redis CLIENT spans of the trace, checked to be children of the SERVER span.
fn redis_commands(app: &TestApp, trace: &Trace) -> Vec<String> {
    let spans = trace.db_spans("redis");
    for span in &spans {
        assert_eq!(span.parent_span_id(), Some(trace.root.span_id()));
        assert_eq!(span.attr_str(names::CACHE_NAME).as_deref(), Some("members"));
    }
    if app.backends == Backends::Embedded {
        assert!(spans.is_empty(), "the in-process cache opens no spans");
    }
    names(&spans)
}

/// An error reply: the status, and a JSON body whose `request_id` is the response's.
fn assert_error(reply: &Reply, status: u16) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    let id = request_id(reply);
    assert_eq!(reply.body["request_id"], json!(id), "{}", reply.body);
    let message = reply.body["error"]
        .as_str()
        .expect("an error message")
        .to_owned();
    assert!(!message.is_empty());
    message
}

async fn exercise_every_endpoint(app: &TestApp) {
    let db = app.database_system;
    let external = app.backends == Backends::External;

    // GET /health: served, and excluded from telemetry; its response still has an ID, which
    // no trace uses.
    let health = app.get("/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    let health_id = health
        .request_id
        .clone()
        .expect("every response has X-Request-ID");
    assert_eq!(health_id.len(), 32);

    // POST /api/members
    let created = app
        .post(
            "/api/members",
            json!({"name": "Ada Lovelace", "email": "ada@example.org", "tier": "student"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_i64().expect("an id");
    assert_eq!(created.body["tier"], "student");
    let trace = server_trace(app, &created, "POST /api/members").await;
    assert_eq!(names(&db_children(app, &trace)), ["INSERT members"]);
    let insert = trace.db_spans(db)[0];
    assert_eq!(
        insert.attr_str("db.collection.name").as_deref(),
        Some("members")
    );
    let text = insert.attr_str("db.query.text").expect("db.query.text");
    assert!(
        !text.contains("ada@example.org"),
        "parameters never reach the span: {text}"
    );

    // GET /api/members/{id}: a miss reads the database and fills the cache...
    let first = app.get(&format!("/api/members/{id}")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["email"], "ada@example.org");
    let trace = server_trace(app, &first, "GET /api/members/{id}").await;
    assert_eq!(
        trace.root.attr_str("http.route").as_deref(),
        Some("/api/members/{id}")
    );
    assert_eq!(names(&db_children(app, &trace)), ["SELECT members"]);
    if external {
        assert_eq!(redis_commands(app, &trace), ["GET", "SET"]);
    }
    // ...and a hit does not.
    let second = app.get(&format!("/api/members/{id}")).await;
    assert_eq!(second.body, first.body);
    let trace = server_trace(app, &second, "GET /api/members/{id}").await;
    assert!(
        db_children(app, &trace).is_empty(),
        "a cache hit reads no table"
    );
    if external {
        assert_eq!(redis_commands(app, &trace), ["GET"]);
    }

    // GET /api/members?status=active: filtered, paginated.
    let page = app
        .get("/api/members?status=active&tier=student&limit=5&offset=0")
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["limit"], 5);
    assert!(page.body["items"]
        .as_array()
        .is_some_and(|items| !items.is_empty() && items.len() <= 5));
    assert!(page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["status"] == "active" && m["tier"] == "student"));
    assert!(page.body["total"].as_i64().unwrap() >= 1);
    let trace = server_trace(app, &page, "GET /api/members").await;
    assert_eq!(
        names(&db_children(app, &trace)),
        ["SELECT members", "SELECT members"]
    );

    // PATCH /api/members/{id}: updates and invalidates the cached copy.
    let patched = app
        .patch(&format!("/api/members/{id}"), json!({"status": "lapsed"}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["status"], "lapsed");
    let trace = server_trace(app, &patched, "PATCH /api/members/{id}").await;
    assert_eq!(names(&db_children(app, &trace)), ["UPDATE members"]);
    if external {
        assert_eq!(redis_commands(app, &trace), ["DEL"]);
    }
    let reread = app.get(&format!("/api/members/{id}")).await;
    assert_eq!(reread.body["status"], "lapsed", "the cache was invalidated");

    // POST /api/payments: stripe through the sandbox, then stored.
    let paid = app
        .post(
            "/api/payments",
            json!({"member_id": id, "amount_cents": 4500, "currency": "EUR"}),
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(paid.body["currency"], "eur");
    assert_eq!(paid.body["status"], "succeeded");
    assert!(paid.body["provider_reference"]
        .as_str()
        .unwrap()
        .starts_with("pi_"));
    let trace = server_trace(app, &paid, "POST /api/payments").await;
    let stripe = external_call(
        &trace,
        "stripe",
        "create_payment",
        "/sandbox/stripe/v1/payment_intents",
    );
    assert_eq!(
        stripe.attr_str("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        names(&db_children(app, &trace)),
        ["SELECT members", "INSERT payments", "UPDATE members"]
    );

    // POST /api/newsletter/subscribe: beehiiv.
    let subscribed = app
        .post(
            "/api/newsletter/subscribe",
            json!({"email": "reader@example.org"}),
        )
        .await;
    assert_eq!(subscribed.status, 201, "{}", subscribed.body);
    assert!(subscribed.body["subscription_id"]
        .as_str()
        .unwrap()
        .starts_with("sub_"));
    let trace = server_trace(app, &subscribed, "POST /api/newsletter/subscribe").await;
    external_call(
        &trace,
        "beehiiv",
        "subscribe",
        "/sandbox/beehiiv/v2/subscriptions",
    );

    // POST /api/videos/upload-url: cloudflare.
    let upload = app
        .post(
            "/api/videos/upload-url",
            json!({"name": "Grading 2025", "max_duration_seconds": 600}),
        )
        .await;
    assert_eq!(upload.status, 201, "{}", upload.body);
    assert!(upload.body["upload_url"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let trace = server_trace(app, &upload, "POST /api/videos/upload-url").await;
    external_call(
        &trace,
        "cloudflare",
        "create_upload_url",
        "/sandbox/cloudflare/stream/direct_upload",
    );

    // POST /api/ai/classify: ai_registry.
    let classified = app
        .post(
            "/api/ai/classify",
            json!({"text": "How do I pay my dues by card?"}),
        )
        .await;
    assert_eq!(classified.status, 200, "{}", classified.body);
    assert_eq!(classified.body["label"], "billing");
    let trace = server_trace(app, &classified, "POST /api/ai/classify").await;
    external_call(&trace, "ai_registry", "classify", "/sandbox/ai/v1/classify");

    // GET /api/reports/activity: the heavy query.
    let report = app.get("/api/reports/activity?window=14").await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["days"].as_array().map(Vec::len), Some(14));
    assert!(
        report.body["peak_events"].as_i64().unwrap() > 0,
        "seeded activity is found"
    );
    let trace = server_trace(app, &report, "GET /api/reports/activity").await;
    assert_eq!(names(&db_children(app, &trace)), ["SELECT activity_events"]);

    // DELETE /api/members/{id}, then it is gone (from the cache too).
    let deleted = app.delete(&format!("/api/members/{id}")).await;
    assert_eq!(deleted.status, 204);
    let trace = server_trace(app, &deleted, "DELETE /api/members/{id}").await;
    assert_eq!(names(&db_children(app, &trace)), ["DELETE members"]);
    let gone = app.get(&format!("/api/members/{id}")).await;
    assert_error(&gone, 404);

    // Errors: JSON bodies with the request ID, nothing internal.
    let bad_json = app
        .send(
            app.client
                .post(app.url("/api/members"))
                .header("content-type", "application/json")
                .body("{\"name\":"),
        )
        .await;
    assert!(assert_error(&bad_json, 400).starts_with("invalid JSON body"));
    let error_trace = server_trace(app, &bad_json, "POST /api/members").await;
    assert_eq!(
        error_trace.root.status_code(),
        StatusCode::Unset,
        "4xx is the client's error"
    );
    let missing = app.post("/api/members", json!({"name": "No Email"})).await;
    assert!(assert_error(&missing, 400).contains("email"));
    let not_a_number = app.get("/api/members/abc").await;
    assert!(assert_error(&not_a_number, 400).contains("path"));
    let unknown_filter = app.get("/api/members?status=sleeping").await;
    assert_error(&unknown_filter, 400);
    let out_of_range = app.get("/api/reports/activity?window=100000").await;
    assert_error(&out_of_range, 400);
    let no_route = app.get("/api/nothing/here").await;
    assert_eq!(assert_error(&no_route, 404), "no such resource");
    let no_route_trace = server_trace(app, &no_route, "GET").await;
    assert_eq!(no_route_trace.root.attr_str("http.route"), None);
    let wrong_method = app.send(app.client.put(app.url("/api/members/1"))).await;
    assert_error(&wrong_method, 405);
    let first = app
        .post(
            "/api/members",
            json!({"name": "Copy", "email": "copy@example.org"}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let duplicate = app
        .post(
            "/api/members",
            json!({"name": "Copy", "email": "copy@example.org"}),
        )
        .await;
    let message = assert_error(&duplicate, 409);
    assert!(
        !message.contains("copy@example.org"),
        "no input or SQL echoed: {message}"
    );

    // The metrics: HTTP, database, cache, external APIs.
    let (text, page) = app.scrape().await;
    for (name, labels) in [
        (
            "http_server_request_duration_seconds_count",
            [
                ("http_request_method", "GET"),
                ("http_response_status_code", "200"),
                ("http_route", "/api/members/{id}"),
            ],
        ),
        (
            "db_client_operation_duration_seconds_count",
            [
                ("db_collection_name", "members"),
                ("db_operation_name", "SELECT"),
                ("db_system_name", db),
            ],
        ),
        (
            "otelix_cache_requests_total",
            [
                ("cache_name", "members"),
                ("cache_operation", "get"),
                ("cache_result", "hit"),
            ],
        ),
        (
            "otelix_cache_requests_total",
            [
                ("cache_name", "members"),
                ("cache_operation", "get"),
                ("cache_result", "miss"),
            ],
        ),
    ] {
        assert!(
            !page.find(name, &labels).is_empty(),
            "/metrics lacks {name} with {labels:?}:\n{text}"
        );
    }
    for peer in ["stripe", "beehiiv", "cloudflare", "ai_registry"] {
        assert!(
            page.samples()
                .any(|sample| sample.label("service_peer_name") == Some(peer)),
            "/metrics lacks a series of peer {peer}:\n{text}"
        );
    }
    let summary = app.get("/metrics/summary").await;
    assert_eq!(summary.status, 200);
    assert!(summary.body["http"]
        .as_array()
        .is_some_and(|routes| !routes.is_empty()));

    // The dunning job ran at start-up: a root span of its own, with the database and beehiiv
    // calls below it.
    let job = app
        .receiver
        .wait_for_span(|s| s.name() == "dunning_reminder", WAIT)
        .await
        .expect("the job's run is exported");
    assert_eq!(
        job.parent_span_id(),
        None,
        "a job run is a trace of its own"
    );
    assert_eq!(job.kind(), SpanKind::Internal);
    assert_eq!(
        job.status_code(),
        StatusCode::Unset,
        "{}",
        job.status_message()
    );
    let job_trace = app.trace(&job.trace_id()).await;
    let job_db = job_trace.db_spans(db);
    assert!(job_db.iter().any(|s| s.name() == "SELECT members"));
    assert!(job_db
        .iter()
        .all(|s| s.parent_span_id() == Some(job.span_id())));
    let reminders: Vec<&ReceivedSpan> = job_trace
        .spans
        .iter()
        .filter(|s| s.attr_str("service.peer.name").as_deref() == Some("beehiiv"))
        .collect();
    assert!(!reminders.is_empty(), "the seed data has overdue members");
    for reminder in reminders {
        assert_eq!(reminder.parent_span_id(), Some(job.span_id()));
        assert_eq!(
            reminder.attr_str(names::OTELIX_OPERATION).as_deref(),
            Some("send_dues_reminder")
        );
        assert_eq!(
            job_trace.children_of(reminder).len(),
            1,
            "the sandbox answered"
        );
    }
}
