//! The HTTP server metrics as Prometheus scrapes them, and the development summary.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use opentelemetry::KeyValue;
use otelix::Environment;
use otelix_actix::PROMETHEUS_CONTENT_TYPE;

const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";

/// The request type `TestRequest::to_request` builds.
type Request = actix_http::Request;

async fn get<S, B>(app: &S, path: &str) -> ServiceResponse<B>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    test::call_service(app, TestRequest::get().uri(path).to_request()).await
}

async fn scrape<S, B>(app: &S) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = get(app, "/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some(PROMETHEUS_CONTENT_TYPE)
    );
    String::from_utf8(test::read_body(response).await.to_vec()).expect("UTF-8 exposition")
}

/// Sample lines of `metric` (the full sample name, such as `..._count`).
fn samples<'t>(text: &'t str, metric: &str) -> Vec<&'t str> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

/// The label names of a sample line.
fn label_names(line: &str) -> BTreeSet<String> {
    let Some((_, rest)) = line.split_once('{') else {
        return BTreeSet::new();
    };
    let labels = rest.rsplit_once('}').map_or(rest, |(labels, _)| labels);
    labels
        .split("\",")
        .filter_map(|pair| pair.split_once('=').map(|(name, _)| name.trim().to_owned()))
        .collect()
}

/// Distinct series: one per metric and label set, a histogram's buckets, sum and count
/// counting once.
fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series))
        .map(|series| {
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            let name = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            let labels: Vec<&str> = labels
                .trim_end_matches('}')
                .split(',')
                .filter(|pair| !pair.starts_with("le="))
                .collect();
            format!("{name}{{{}}}", labels.join(","))
        })
        .collect()
}

#[actix_web::test]
async fn one_series_per_route_template_with_only_the_allowed_labels() {
    let telemetry = common::telemetry_with(None, |b| b);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    for id in 0..10 {
        let response = get(&app, &format!("/users/{id}")).await;
        assert!(response.status().is_success());
    }
    let text = scrape(&app).await;

    let users: Vec<&str> = samples(&text, DURATION_COUNT)
        .into_iter()
        .filter(|line| line.contains("http_route=\"/users/{id}\""))
        .collect();
    assert_eq!(users.len(), 1, "{text}");
    assert!(users[0].ends_with(" 10"), "{}", users[0]);
    assert!(!text.contains("/users/1"), "raw paths never become labels");

    let allowed = [
        "http_request_method",
        "http_route",
        "http_response_status_code",
        "url_scheme",
        "error_type",
    ];
    for line in samples(&text, DURATION_COUNT) {
        for name in label_names(line) {
            assert!(
                allowed.contains(&name.as_str()) || name.starts_with("otel_scope_"),
                "unexpected label {name} in {line}"
            );
        }
    }
    // Every request has finished.
    for line in samples(&text, "http_server_active_requests") {
        assert!(line.ends_with(" 0"), "{line}");
    }
}

#[actix_web::test]
async fn random_unmatched_paths_add_only_a_handful_of_series() {
    let telemetry = common::telemetry_with(None, |b| b);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    get(&app, "/users/1").await;
    let before = series(&scrape(&app).await);

    // xorshift: 10,000 different paths without pulling in a random-number crate.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..10_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let path = format!("/random/{state:016x}/{i}?q={}", state.rotate_left(7));
        let response = get(&app, &path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let text = scrape(&app).await;
    let after = series(&text);
    let added: Vec<&String> = after.difference(&before).collect();
    assert!(added.len() <= 3, "new series: {added:#?}");
    assert!(!text.contains("/random/"));
}

#[actix_web::test]
async fn metrics_output_passes_promtool() {
    let telemetry = common::telemetry_with(None, |b| b);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    for path in [
        "/users/1",
        "/fail",
        "/missing",
        "/nowhere",
        "/inner-response",
    ] {
        get(&app, path).await;
    }
    let text = scrape(&app).await;

    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("promtool is required in CI: {error}")
        }
        Err(error) => {
            eprintln!("skipping the promtool check: promtool not runnable ({error})");
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}\n--- input ---\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[actix_web::test]
async fn disabled_prometheus_answers_404() {
    let telemetry = common::telemetry_with(None, |b| b.with_prometheus_enabled(false));
    let app = test::init_service(common::app(&telemetry.handle())).await;
    assert_eq!(get(&app, "/metrics").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(&app, "/metrics/summary").await.status(),
        StatusCode::NOT_FOUND
    );
    // Requests are still served and measured (over OTLP, if configured).
    assert!(get(&app, "/users/1").await.status().is_success());
}

#[actix_web::test]
async fn metrics_path_follows_the_configuration() {
    let telemetry = common::telemetry_with(None, |b| b.with_metrics_path("/internal/prom"));
    let app = test::init_service(common::app(&telemetry.handle())).await;
    get(&app, "/users/1").await;
    let response = get(&app, "/internal/prom").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(response).await.to_vec()).expect("UTF-8");
    // The scrape itself is excluded from the HTTP metrics.
    assert!(!text.contains("/internal/prom"));
    assert!(text.contains("http_route=\"/users/{id}\""));
}

#[actix_web::test]
async fn summary_matches_the_requests_sent() {
    let telemetry = common::telemetry_with(None, |b| b.with_environment(Environment::Development));
    let handle = telemetry.handle();
    let app = test::init_service(common::app(&handle)).await;

    for id in 0..10 {
        get(&app, &format!("/users/{id}")).await;
    }
    for _ in 0..3 {
        get(&app, "/fail").await;
    }
    get(&app, "/nowhere").await;
    // Eight fast and two slow requests on one route: the median is in the first bucket,
    // p95 and p99 in (250 ms, 500 ms].
    for _ in 0..8 {
        get(&app, "/sleep?ms=0").await;
    }
    for _ in 0..2 {
        get(&app, "/sleep?ms=300").await;
    }
    // A dependency metric recorded later by another part of otelix shows up by name.
    handle
        .meter()
        .f64_histogram("db.client.operation.duration")
        .with_unit("s")
        .build()
        .record(
            0.02,
            &[
                KeyValue::new("db.system.name", "postgresql"),
                KeyValue::new("db.collection.name", "users"),
                KeyValue::new("db.operation.name", "SELECT"),
            ],
        );

    let response = get(&app, "/metrics/summary").await;
    assert_eq!(response.status(), StatusCode::OK);
    let summary: serde_json::Value = test::read_body_json(response).await;
    let route = |method: &str, route: Option<&str>| {
        summary["http"]
            .as_array()
            .expect("http section")
            .iter()
            .find(|r| r["method"] == method && r["route"].as_str() == route)
            .cloned()
            .unwrap_or_else(|| panic!("{method} {route:?} in {summary:#}"))
    };

    let users = route("GET", Some("/users/{id}"));
    assert_eq!(users["count"], 10);
    assert_eq!(users["errors"], 0);
    assert_eq!(users["error_rate"], 0.0);
    let fail = route("GET", Some("/fail"));
    assert_eq!(
        (fail["count"].as_u64(), fail["errors"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(fail["error_rate"], 1.0);
    let unmatched = route("GET", None);
    assert_eq!(
        (unmatched["count"].as_u64(), unmatched["errors"].as_u64()),
        (Some(1), Some(0))
    );

    let sleep = route("GET", Some("/sleep"));
    assert_eq!(sleep["count"], 10);
    let ms = |key: &str| sleep[key].as_f64().expect("a percentile");
    assert!(ms("p50_ms") <= 5.0, "{sleep}");
    for key in ["p95_ms", "p99_ms"] {
        assert!(ms(key) > 250.0 && ms(key) <= 500.0, "{key}: {sleep}");
    }

    let database = summary["database"].as_array().expect("database section");
    assert_eq!(database.len(), 1);
    assert_eq!(database[0]["labels"]["db_collection_name"], "users");
    assert_eq!(database[0]["count"], 1);
    assert!(summary.get("cache").is_none() && summary.get("jobs").is_none());
    // The summary path is excluded like /metrics.
    assert!(summary["http"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|r| r["route"] != "/metrics/summary"));
}

#[actix_web::test]
async fn summary_is_not_served_in_production() {
    let telemetry = common::telemetry_with(None, |b| b.with_environment(Environment::Production));
    let app = test::init_service(common::app(&telemetry.handle())).await;
    assert_eq!(
        get(&app, "/metrics/summary").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&app, "/metrics").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn cancelled_requests_leave_no_active_request_behind() {
    let telemetry = common::telemetry_with(None, |b| b);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    let call = app.call(TestRequest::get().uri("/sleep?ms=10000").to_request());
    let during = scrape(&app).await;
    assert!(
        samples(&during, "http_server_active_requests")
            .iter()
            .any(|line| line.ends_with(" 1")),
        "{during}"
    );
    let timed_out = actix_web::rt::time::timeout(std::time::Duration::from_millis(20), call).await;
    assert!(timed_out.is_err());

    let text = scrape(&app).await;
    for line in samples(&text, "http_server_active_requests") {
        assert!(line.ends_with(" 0"), "{line}");
    }
    assert!(samples(&text, DURATION_COUNT)
        .iter()
        .any(|line| line.contains("error_type=\"cancelled\"")));
}
