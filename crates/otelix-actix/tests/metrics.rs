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
use otelix_testkit::exposition::{Exposition, Format, Labels, Sample};

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

/// A `/metrics` page, parsed as the format its content type names.
fn exposition(text: &str, format: Format) -> Exposition {
    Exposition::parse_as(text, format)
        .unwrap_or_else(|e| panic!("the /metrics page does not parse: {e}\n{text}"))
}

/// The samples of `metric` (the full sample name, such as `..._count`) in a Prometheus text
/// page.
fn samples(text: &str, metric: &str) -> Vec<Sample> {
    exposition(text, Format::Prometheus)
        .find(metric, &[])
        .into_iter()
        .cloned()
        .collect()
}

/// Distinct series: one per metric family and label set, a histogram's buckets, sum and count
/// counting once.
fn series(text: &str) -> BTreeSet<(String, Labels)> {
    let page = exposition(text, Format::Prometheus);
    page.families()
        .iter()
        .flat_map(|family| {
            family.samples().iter().map(|sample| {
                let mut labels = sample.labels().clone();
                labels.remove("le");
                (family.name().to_owned(), labels)
            })
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

    let users = exposition(&text, Format::Prometheus)
        .find(DURATION_COUNT, &[("http_route", "/users/{id}")])
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(users.len(), 1, "{text}");
    assert_eq!(users[0].value(), 10.0, "{}", users[0]);
    assert!(!text.contains("/users/1"), "raw paths never become labels");

    let allowed = [
        "http_request_method",
        "http_route",
        "http_response_status_code",
        "url_scheme",
        "error_type",
    ];
    for sample in samples(&text, DURATION_COUNT) {
        for name in sample.labels().keys() {
            assert!(
                allowed.contains(&name.as_str()) || name.starts_with("otel_scope_"),
                "unexpected label {name} in {sample}"
            );
        }
    }
    // Every request has finished.
    for sample in samples(&text, "http_server_active_requests") {
        assert_eq!(sample.value(), 0.0, "{sample}");
    }
}

#[actix_web::test]
async fn active_request_series_appear_with_their_first_request() {
    let telemetry = common::telemetry_with(None, |b| b);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    let before = scrape(&app).await;
    assert!(
        samples(&before, "http_server_active_requests").is_empty(),
        "no request yet, no series: {before}"
    );

    get(&app, "/users/1").await;
    get(&app, "/users/2").await;
    let forwarded = TestRequest::post()
        .uri("/users/3")
        .insert_header(("x-forwarded-proto", "https"))
        .to_request();
    test::call_service(&app, forwarded).await;

    let text = scrape(&app).await;
    let active: BTreeSet<(String, String, u64)> = samples(&text, "http_server_active_requests")
        .iter()
        .map(|sample| {
            (
                sample.labels()["http_request_method"].clone(),
                sample.labels()["url_scheme"].clone(),
                sample.value() as u64,
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, u64)> = [("GET", "http"), ("POST", "https")]
        .into_iter()
        .map(|(method, scheme)| (method.to_owned(), scheme.to_owned(), 0))
        .collect();
    assert_eq!(active, expected, "{text}");
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
    let added: Vec<_> = after.difference(&before).collect();
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
    let telemetry = common::telemetry_with(None, |b| b.with_metrics_endpoint("/internal/prom"));
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
    let telemetry = common::telemetry_with(None, |b| b.with_app_env(Environment::Development));
    let handle = telemetry.handle();
    let app = test::init_service(common::app(&handle)).await;

    for id in 0..10 {
        get(&app, &format!("/users/{id}")).await;
    }
    for _ in 0..3 {
        get(&app, "/fail").await;
    }
    get(&app, "/nowhere").await;
    // Eight fast and two slow requests on one route: the median is in a bucket below the slow
    // requests' one (which bucket depends on how loaded the machine is: not asserted), p95 and
    // p99 in (250 ms, 500 ms].
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
    assert!(ms("p50_ms") <= 250.0, "{sleep}");
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
    let telemetry = common::telemetry_with(None, |b| b.with_app_env(Environment::Production));
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
            .any(|sample| sample.value() == 1.0),
        "{during}"
    );
    let timed_out = actix_web::rt::time::timeout(std::time::Duration::from_millis(20), call).await;
    assert!(timed_out.is_err());

    let text = scrape(&app).await;
    for sample in samples(&text, "http_server_active_requests") {
        assert_eq!(sample.value(), 0.0, "{sample}");
    }
    assert!(samples(&text, DURATION_COUNT)
        .iter()
        .any(|sample| sample.label("error_type") == Some("cancelled")));
}

const TOKEN: &str = "metrics-token-0123456789abcdef";

async fn get_with<S, B>(app: &S, path: &str, header: Option<(&str, &str)>) -> ServiceResponse<B>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let mut request = TestRequest::get().uri(path);
    if let Some(header) = header {
        request = request.insert_header(header);
    }
    test::call_service(app, request.to_request()).await
}

#[actix_web::test]
async fn a_bearer_token_guards_both_endpoints() {
    let telemetry = common::telemetry_with(None, |b| {
        b.with_app_env(Environment::Development)
            .with_metrics_bearer_token(TOKEN)
    });
    let app = test::init_service(common::app(&telemetry.handle())).await;
    get(&app, "/users/1").await;
    for path in ["/metrics", "/metrics/summary"] {
        for header in [
            None,
            Some(("Authorization", "Bearer wrong-token-0123456789abcdef")),
            Some(("Authorization", "Bearer metrics-token-0123456789abcde")),
            Some(("Authorization", "Basic bWV0cmljczp0b2tlbg==")),
            Some(("Authorization", TOKEN)),
        ] {
            let response = get_with(&app, path, header).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{path} {header:?}"
            );
            assert_eq!(
                response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some("Bearer realm=\"metrics\"")
            );
            let body = test::read_body(response).await;
            assert!(
                !String::from_utf8_lossy(&body).contains(TOKEN),
                "the 401 never shows the token"
            );
        }
        let bearer = format!("Bearer {TOKEN}");
        let lowercase = format!("bearer {TOKEN}");
        for value in [bearer.as_str(), lowercase.as_str()] {
            let response = get_with(&app, path, Some(("Authorization", value))).await;
            assert_eq!(response.status(), StatusCode::OK, "{path} {value}");
        }
    }
    // The application's own routes need no token.
    assert_eq!(get(&app, "/users/1").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn metrics_can_move_to_a_listener_of_their_own() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("its address");
    let telemetry = common::telemetry_with(None, |b| {
        b.with_app_env(Environment::Development)
            .with_metrics_addr(addr)
    });
    let handle = telemetry.handle();
    let app = test::init_service(common::app(&handle)).await;
    assert_eq!(get(&app, "/users/7").await.status(), StatusCode::OK);
    // Not on the application's listener any more.
    assert_eq!(get(&app, "/metrics").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(&app, "/metrics/summary").await.status(),
        StatusCode::NOT_FOUND
    );

    let server = otelix_actix::metrics_server(handle.clone(), listener).expect("metrics server");
    let server_handle = server.handle();
    actix_web::rt::spawn(server);
    let client = awc_get(addr, "/metrics").await;
    assert_eq!(client.0, 200);
    assert!(client.1.contains(DURATION_COUNT), "{}", client.1);
    assert!(client.1.contains("http_route=\"/users/{id}\""));
    assert_eq!(awc_get(addr, "/metrics/summary").await.0, 200);
    assert_eq!(awc_get(addr, "/users/7").await.0, 404);
    server_handle.stop(true).await;
}

/// A GET over a real socket: status and body.
async fn awc_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, text)
}

#[actix_web::test]
async fn openmetrics_is_served_to_scrapers_that_accept_it() {
    let telemetry = common::telemetry_with(None, |b| b);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    get(&app, "/users/1").await;
    let plain = scrape(&app).await;
    assert!(!plain.contains("# EOF"));
    let response = get_with(
        &app,
        "/metrics",
        Some((
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        )),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some(otelix::openmetrics::OPENMETRICS_CONTENT_TYPE)
    );
    let body = String::from_utf8(test::read_body(response).await.to_vec()).expect("UTF-8");
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(body.contains("# TYPE http_server_request_duration_seconds histogram"));
    // The same series as the text format.
    let series = |page: Exposition| -> BTreeSet<(String, Labels)> {
        page.samples()
            .map(|sample| (sample.name().to_owned(), sample.labels().clone()))
            .collect()
    };
    assert_eq!(
        series(exposition(&body, Format::OpenMetrics)),
        series(exposition(&plain, Format::Prometheus))
    );
}

#[actix_web::test]
async fn a_request_is_the_exemplar_of_its_latency_bucket() {
    let telemetry = common::telemetry_with(None, |b| b);
    let app = test::init_service(common::app(&telemetry.handle())).await;
    let response = get(&app, "/users/42").await;
    let id = common::request_id_header(&response);
    let response = get_with(
        &app,
        "/metrics",
        Some(("Accept", "application/openmetrics-text; version=1.0.0")),
    )
    .await;
    let body = String::from_utf8(test::read_body(response).await.to_vec()).expect("UTF-8");
    let page = exposition(&body, Format::OpenMetrics);
    let buckets: Vec<&Sample> = page
        .find(
            "http_server_request_duration_seconds_bucket",
            &[("http_route", "/users/{id}")],
        )
        .into_iter()
        .filter(|bucket| {
            bucket
                .exemplar()
                .is_some_and(|exemplar| exemplar.label("trace_id") == Some(id.as_str()))
        })
        .collect();
    assert_eq!(buckets.len(), 1, "one bucket holds the request: {body}");
    // The bucket is the first whose bound is at least the value, and its count includes it.
    let bucket = buckets[0];
    let le: f64 = bucket
        .label("le")
        .expect("an le label")
        .parse()
        .expect("a bound (+Inf reads as infinity)");
    let value = bucket.exemplar().expect("an exemplar").value();
    assert!(value <= le, "{bucket}");
    let below = otelix::DURATION_BUCKETS_SECONDS
        .iter()
        .copied()
        .filter(|b| *b < le)
        .fold(0.0, f64::max);
    assert!(value > below || (below == 0.0 && value >= 0.0), "{bucket}");
    // The plain text format has no exemplars.
    assert!(!scrape(&app).await.contains("trace_id"));
}
