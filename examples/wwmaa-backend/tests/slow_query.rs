//! A large activity report with the slow-query threshold lowered writes a slow-query log line
//! that carries the response's `X-Request-ID` as `trace_id`, names the collection and the
//! route, and holds no parameter value.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Backends, TestApp, WAIT};
use otelix::names;
use wwmaa_backend::store::MAX_REPORT_WINDOW_DAYS;

#[actix_web::test]
async fn a_large_report_is_logged_as_a_slow_query_on_sqlite() {
    let app = start(Backends::Embedded).await.expect("embedded backends");
    large_report_is_a_slow_query(&app).await;
    app.stop().await;
}

#[actix_web::test]
async fn a_large_report_is_logged_as_a_slow_query_on_postgresql() {
    let Some(app) = start(Backends::External).await else {
        return;
    };
    large_report_is_a_slow_query(&app).await;
    app.stop().await;
}

async fn start(backends: Backends) -> Option<TestApp> {
    // The largest report takes seconds on SQLite and hundreds of milliseconds on
    // PostgreSQL; 20 ms is well below both.
    common::start(backends, &[], |config| {
        config.with_slow_query_threshold(Duration::from_millis(20))
    })
    .await
}

async fn large_report_is_a_slow_query(app: &TestApp) {
    let reply = app
        .get(&format!(
            "/api/reports/activity?window={MAX_REPORT_WINDOW_DAYS}"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let request_id = reply.request_id.clone().expect("X-Request-ID");

    let line = wait_for_line(app, &request_id).await;
    assert_eq!(line["kind"], "slow_query");
    assert_eq!(line["collection"], "activity_events");
    assert_eq!(line["operation"], "SELECT");
    assert_eq!(line["db_system"], app.database_system);
    assert_eq!(line["route"], "/api/reports/activity");
    assert!(line["duration_ms"].as_f64().unwrap() >= 20.0);
    assert!(matches!(
        line["severity"].as_str(),
        Some("warning" | "critical")
    ));
    let query = line["query"].as_str().expect("the statement");
    assert!(query.starts_with("WITH RECURSIVE days"), "{query}");
    assert!(
        !query.contains(&MAX_REPORT_WINDOW_DAYS.to_string()),
        "no parameter value: {query}"
    );

    // The same query is counted in the metrics.
    let (metrics, page) = app.scrape().await;
    assert!(
        !page
            .find(
                names::DB_SLOW_QUERIES.prometheus,
                &[("db_collection_name", "activity_events")]
            )
            .is_empty(),
        "{metrics}"
    );
}

/// The slow-query log line whose `trace_id` is `trace_id` (the log is written by a worker
/// thread, shortly after the span ends).
async fn wait_for_line(app: &TestApp, trace_id: &str) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(&app.slow_query_log).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|line| line["trace_id"] == trace_id && line["collection"] == "activity_events");
        if let Some(line) = found {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no slow-query line with trace_id {trace_id} in {}:\n{text}",
            app.slow_query_log.display()
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}
