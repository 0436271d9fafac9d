//! Instrumented sqlx access: CLIENT spans with the semantic-convention attributes and
//! `db.client.operation.duration`, for SQLite always and for PostgreSQL when `DATABASE_URL`
//! is set (CI sets it to the local server).

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]
#![cfg(feature = "sqlx")]

mod common;

use std::time::Duration;

use common::telemetry;
use otelix::db::InstrumentedPool;
use otelix_testkit::{ReceivedSpan, Receiver};

const WAIT: Duration = Duration::from_secs(15);

fn span_with_text(receiver: &Receiver, needle: &str) -> ReceivedSpan {
    receiver
        .wait_for_span_blocking(
            |s| {
                s.attr_str("db.query.text")
                    .is_some_and(|t| t.contains(needle))
            },
            WAIT,
        )
        .expect("a span with the query text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queries_become_client_spans_like_plain_sqlx() {
    let receiver = Receiver::start().expect("the OTLP receiver starts");
    let telemetry = telemetry(&receiver);
    let pool = sqlx::SqlitePool::connect("sqlite::memory:")
        .await
        .expect("an in-memory SQLite pool");
    let db = InstrumentedPool::new(pool, &telemetry.handle());

    sqlx::query(
        "CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, status TEXT)",
    )
    .execute(&db)
    .await
    .expect("CREATE TABLE members");
    for (id, email) in [(1, "ada@example.org"), (2, "alan@example.org")] {
        sqlx::query("INSERT INTO members (id, email, status) VALUES (?, ?, 'active')")
            .bind(id)
            .bind(email)
            .execute(&db)
            .await
            .expect("INSERT INTO members");
    }
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, email FROM members WHERE status = ? ORDER BY id")
            .bind("active")
            .fetch_all(&db)
            .await
            .expect("SELECT the active members");
    assert_eq!(
        rows,
        vec![
            (1, "ada@example.org".to_owned()),
            (2, "alan@example.org".to_owned())
        ]
    );
    let one: Option<(String,)> = sqlx::query_as("SELECT email FROM members WHERE id = 2")
        .fetch_optional(&db)
        .await
        .expect("SELECT member 2");
    assert_eq!(one, Some(("alan@example.org".to_owned(),)));
    let duplicate = sqlx::query("INSERT INTO members (id, email) VALUES (3, 'ada@example.org')")
        .execute(&db)
        .await;
    assert!(duplicate.is_err());
    sqlx::query("SELECT * FROM (SELECT 1)")
        .fetch_all(&db.with_collection("members"))
        .await
        .expect("SELECT from a subquery");

    telemetry.force_flush().expect("telemetry flushes");

    let select = span_with_text(&receiver, "SELECT id, email FROM members");
    assert_eq!(select.name(), "SELECT members");
    assert_eq!(
        select.kind(),
        opentelemetry_proto::tonic::trace::v1::span::SpanKind::Client
    );
    assert_eq!(select.attr_str("db.system.name").as_deref(), Some("sqlite"));
    assert_eq!(
        select.attr_str("db.collection.name").as_deref(),
        Some("members")
    );
    assert_eq!(
        select.attr_str("db.operation.name").as_deref(),
        Some("SELECT")
    );
    assert_eq!(
        select.attr_str("db.response.returned_rows").as_deref(),
        Some("2")
    );
    assert_eq!(select.attr_str("error.type"), None);

    let insert = span_with_text(&receiver, "INSERT INTO members (id, email, status)");
    assert_eq!(insert.name(), "INSERT members");
    let text = insert.attr_str("db.query.text").unwrap_or_default();
    assert!(
        text.contains("VALUES (?, ?, ?)"),
        "literal 'active' sanitized: {text}"
    );

    let failed = span_with_text(&receiver, "INSERT INTO members (id, email) VALUES");
    assert_eq!(
        failed.status_code(),
        opentelemetry_proto::tonic::trace::v1::status::StatusCode::Error
    );
    // SQLITE_CONSTRAINT_UNIQUE: a code, never the message (which quotes the value).
    assert_eq!(failed.attr_str("error.type").as_deref(), Some("2067"));
    assert_eq!(
        failed.attr_str("db.response.status_code").as_deref(),
        Some("2067")
    );

    let named = span_with_text(&receiver, "SELECT * FROM (SELECT ?)");
    assert_eq!(
        named.attr_str("db.collection.name").as_deref(),
        Some("members")
    );

    // Bound values and literals appear nowhere in what was exported.
    for span in receiver.spans() {
        let all = format!("{:?}", span.span.attributes);
        for secret in ["ada@example.org", "alan@example.org", "active"] {
            assert!(
                !all.contains(secret),
                "{secret} leaked into {}: {all}",
                span.name()
            );
        }
    }

    let metrics = telemetry
        .handle()
        .render_prometheus()
        .expect("the Prometheus text renders");
    let exposition = common::exposition(&metrics);
    let counted = |labels: &[(&str, &str)]| {
        !exposition
            .find("db_client_operation_duration_seconds_count", labels)
            .is_empty()
    };
    assert!(
        counted(&[
            ("db_collection_name", "members"),
            ("db_operation_name", "SELECT"),
            ("db_system_name", "sqlite"),
        ]),
        "{metrics}"
    );
    assert!(counted(&[("error_type", "2067")]), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_spans_carry_server_and_sqlstate() {
    let Some(url) = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    else {
        if std::env::var_os("CI").is_some() {
            panic!("DATABASE_URL must point at PostgreSQL in CI");
        }
        eprintln!("SKIPPED: DATABASE_URL is not a PostgreSQL URL");
        return;
    };
    let receiver = Receiver::start().expect("the OTLP receiver starts");
    let telemetry = telemetry(&receiver);
    let pool = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let db = InstrumentedPool::new(pool, &telemetry.handle());
    let (n,): (i32,) = sqlx::query_as("SELECT $1::int4 + 1")
        .bind(41_i32)
        .fetch_one(&db)
        .await
        .expect("SELECT $1 + 1");
    assert_eq!(n, 42);
    let missing = sqlx::query("SELECT * FROM otelix_no_such_table")
        .fetch_all(&db)
        .await;
    assert!(missing.is_err());
    telemetry.force_flush().expect("telemetry flushes");

    let span = span_with_text(&receiver, "SELECT $1::int4 + ?");
    assert_eq!(
        span.attr_str("db.system.name").as_deref(),
        Some("postgresql")
    );
    assert_eq!(
        span.attr_str("server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(span.attr_str("server.port").as_deref(), Some("5432"));
    assert_eq!(span.attr_str("db.namespace").as_deref(), Some("test"));
    let failed = span_with_text(&receiver, "otelix_no_such_table");
    // undefined_table
    assert_eq!(failed.attr_str("error.type").as_deref(), Some("42P01"));
    assert_eq!(failed.name(), "SELECT otelix_no_such_table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_pools_report_the_system_behind_the_url() {
    sqlx::any::install_default_drivers();
    let receiver = Receiver::start().expect("the OTLP receiver starts");
    let telemetry = telemetry(&receiver);
    let mut urls = vec![("sqlite::memory:".to_owned(), "sqlite")];
    if let Some(url) = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    {
        urls.push((url, "postgresql"));
    }
    for (url, system) in &urls {
        let pool = sqlx::AnyPool::connect(url)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let db = InstrumentedPool::new(pool, &telemetry.handle());
        let marker = format!("any_{system}");
        let (v,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT 7 AS {marker}")))
            .fetch_one(&db)
            .await
            .expect("SELECT 7 AS marker");
        assert_eq!(v, 7);
        telemetry.force_flush().expect("telemetry flushes");
        let span = span_with_text(&receiver, &marker);
        assert_eq!(span.attr_str("db.system.name").as_deref(), Some(*system));
        assert_eq!(span.name(), "SELECT");
    }
}
