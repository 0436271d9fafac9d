//! Span-based slow-query and N+1 detection end to end: real SQLite (and PostgreSQL when
//! `DATABASE_URL` is set) through `InstrumentedPool`, the processor `Telemetry` installs, the
//! rotating JSON-lines log, the metrics on `/metrics`.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]
#![cfg(feature = "sqlx")]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{no_env, required_tool, sample, samples, CapturedLines};
use opentelemetry::trace::{TraceContextExt, Tracer as _};
use otelix::db::InstrumentedPool;
use otelix::{names, Config, Exporters, Telemetry};

/// A recursive CTE whose cost grows with its bound: about 100 ms per million rows in an optimised build, several times that in a debug one.
const SLOW_SQLITE: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*) FROM c WHERE x > 42";

fn telemetry(log: &Path, threshold_ms: u64, critical_ms: u64, lines: &CapturedLines) -> Telemetry {
    let config = Config::builder()
        .with_service_name("slow-query-test")
        .with_traces_exporter(Exporters::NONE)
        .with_metrics_exporter(Exporters::NONE)
        .with_logs_exporter(Exporters::NONE)
        .with_log_format(otelix::LogFormat::Json)
        .with_slow_query_threshold(Duration::from_millis(threshold_ms))
        .with_slow_query_critical(Duration::from_millis(critical_ms))
        .with_slow_query_log_file(log)
        .with_n_plus_one_threshold(10)
        .build_from_vars(no_env())
        .expect("a valid configuration");
    Telemetry::builder(config)
        .with_log_writer(lines.clone())
        .build()
        .expect("telemetry builds")
}

fn records(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn log_path(dir: &tempfile::TempDir) -> PathBuf {
    // A directory that does not exist yet: the processor creates it.
    dir.path().join("nested").join("slow_queries.log")
}

async fn sqlite(telemetry: &Telemetry) -> InstrumentedPool<sqlx::Sqlite> {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:")
        .await
        .expect("an in-memory SQLite pool");
    InstrumentedPool::new(pool, &telemetry.handle())
}

/// Runs one statement; a failure fails the test.
async fn exec<DB: otelix::db::DbSystem>(db: &InstrumentedPool<DB>, sql: &'static str)
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    sqlx::query(sql)
        .execute(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Runs `work` inside a root span, the way a request handler would, and returns its trace ID.
async fn in_root_span<F, Fut>(telemetry: &Telemetry, work: F) -> String
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use opentelemetry::trace::FutureExt as _;
    let span = telemetry
        .handle()
        .tracer()
        .start("GET /api/reports/activity");
    let cx = opentelemetry::Context::current_with_span(span);
    let trace_id = cx.span().span_context().trace_id().to_string();
    work().with_context(cx.clone()).await;
    cx.span().end();
    trace_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_file_is_created_until_a_slow_query_ends() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = log_path(&dir);
    let lines = CapturedLines::default();
    let telemetry = telemetry(&log, 50, 60_000, &lines);
    let db = sqlite(&telemetry).await;

    // Fast queries reach the worker (N+1 detection is on) but give it nothing to write.
    in_root_span(&telemetry, || async {
        for _ in 0..3 {
            exec(&db, "SELECT 1 WHERE 'fast' = 'fast'").await;
        }
    })
    .await;
    telemetry.force_flush().expect("telemetry flushes");
    let created: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the temporary directory lists")
        .map(|entry| entry.map(|e| e.path()))
        .collect();
    assert!(
        created.is_empty(),
        "created before any slow query: {created:?}"
    );

    in_root_span(&telemetry, || exec(&db, SLOW_SQLITE)).await;
    telemetry.force_flush().expect("telemetry flushes");
    assert_eq!(
        records(&log).len(),
        1,
        "the first slow query creates the log"
    );
    assert!(
        !lines.text().contains("ERROR"),
        "no error about the log: {}",
        lines.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_sqlite_query_is_logged_once_with_its_trace_and_counted() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = log_path(&dir);
    let lines = CapturedLines::default();
    let telemetry = telemetry(&log, 50, 60_000, &lines);
    let db = sqlite(&telemetry).await;

    let trace_id = in_root_span(&telemetry, || async {
        exec(&db, "SELECT 1 WHERE 'fast' = 'fast'").await;
        exec(&db, SLOW_SQLITE).await;
    })
    .await;
    telemetry.force_flush().expect("telemetry flushes");

    let records = records(&log);
    assert_eq!(
        records.len(),
        1,
        "one slow query, the fast one is not logged: {records:?}"
    );
    let r = &records[0];
    assert_eq!(r["kind"], "slow_query");
    assert_eq!(r["severity"], "warning");
    assert_eq!(r["trace_id"], trace_id.as_str());
    assert_eq!(r["db_system"], "sqlite");
    assert_eq!(r["operation"], "SELECT");
    assert_eq!(r["collection"], "c");
    assert!(r["duration_ms"].as_f64().unwrap_or_default() >= 50.0);
    let query = r["query"].as_str().unwrap_or_default();
    assert!(
        !query.contains("1000000") && !query.contains("42"),
        "literals sanitized: {query}"
    );
    assert!(query.contains("x < ?"), "{query}");

    let text = telemetry
        .handle()
        .render_prometheus()
        .expect("the Prometheus text renders");
    assert_eq!(
        sample(
            &text,
            names::DB_SLOW_QUERIES.prometheus,
            &[("severity", "warning")]
        ),
        1.0
    );

    // The tracing warning carries the trace too.
    let warning = lines
        .json_lines()
        .into_iter()
        .find(|l| l["target"] == "otelix::slow_query" && l["level"] == "WARN")
        .unwrap_or_else(|| panic!("no slow-query warning in {}", lines.text()));
    assert_eq!(warning["trace_id"], trace_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_and_warning_are_counted_apart_and_the_seed_grep_works() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = log_path(&dir);
    let telemetry = telemetry(&log, 1, 60_000, &CapturedLines::default());
    let db = sqlite(&telemetry).await;
    sqlx::query("CREATE TABLE members (id INTEGER PRIMARY KEY, status TEXT)")
        .execute(&db)
        .await
        .expect("CREATE TABLE members");
    // Everything above 1 ms is slow here; the CTE also passes the critical bound set below.
    exec(&db, SLOW_SQLITE).await;
    telemetry.force_flush().expect("telemetry flushes");
    let text = telemetry
        .handle()
        .render_prometheus()
        .expect("the Prometheus text renders");
    let slow = |severity| {
        samples(
            &text,
            names::DB_SLOW_QUERIES.prometheus,
            &[("severity", severity), ("db_collection_name", "c")],
        )
    };
    assert_eq!(slow("warning"), [1.0]);
    assert!(
        slow("critical").is_empty(),
        "below the critical bound: {text}"
    );
    drop(telemetry);

    let telemetry = self::telemetry(&log, 1, 20, &CapturedLines::default());
    let db = sqlite(&telemetry).await;
    exec(&db, SLOW_SQLITE).await;
    telemetry.force_flush().expect("telemetry flushes");
    let text = telemetry
        .handle()
        .render_prometheus()
        .expect("the Prometheus text renders");
    assert_eq!(
        sample(
            &text,
            names::DB_SLOW_QUERIES.prometheus,
            &[("severity", "critical")]
        ),
        1.0
    );

    let severities: Vec<String> = records(&log)
        .iter()
        .filter(|r| r["kind"] == "slow_query" && r["collection"] == "c")
        .map(|r| r["severity"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(severities, ["warning", "critical"]);

    // The seed's own command works on the file.
    let Some(_) = required_tool("grep") else {
        return;
    };
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "grep -o '\"collection\":\"[^\"]*\"' {} | sort | uniq -c",
            log.display()
        ))
        .output()
        .expect("the grep | sort | uniq -c pipeline runs");
    let counted = String::from_utf8_lossy(&out.stdout);
    assert!(counted.contains("2 \"collection\":\"c\""), "{counted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pg_sleep_is_a_slow_query() {
    let Some(url) = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "DATABASE_URL must point at PostgreSQL in CI"
        );
        eprintln!("SKIPPED: DATABASE_URL is not a PostgreSQL URL");
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = log_path(&dir);
    let telemetry = telemetry(&log, 150, 60_000, &CapturedLines::default());
    let pool = sqlx::PgPool::connect(&url)
        .await
        .expect("connecting to DATABASE_URL");
    let db = InstrumentedPool::new(pool, &telemetry.handle());
    let trace_id = in_root_span(&telemetry, || async {
        sqlx::query("SELECT pg_sleep(0.3)")
            .execute(&db)
            .await
            .expect("SELECT pg_sleep(0.3)");
        exec(&db, "SELECT 1").await;
    })
    .await;
    telemetry.force_flush().expect("telemetry flushes");
    let records = records(&log);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["db_system"], "postgresql");
    assert_eq!(records[0]["trace_id"], trace_id.as_str());
    assert_eq!(records[0]["query"], "SELECT pg_sleep(?)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_plus_one_is_reported_once_at_twelve_and_not_at_five() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = log_path(&dir);
    let telemetry = telemetry(&log, 60_000, 60_000, &CapturedLines::default());
    let db = sqlite(&telemetry).await;
    sqlx::query("CREATE TABLE payments (id INTEGER PRIMARY KEY, member_id INTEGER)")
        .execute(&db)
        .await
        .expect("CREATE TABLE payments");

    let loop_of = |n: i64| {
        let db = db.clone();
        move || async move {
            for member in 0..n {
                sqlx::query("SELECT * FROM payments WHERE member_id = $1")
                    .bind(member)
                    .fetch_all(&db)
                    .await
                    .expect("SELECT the member's payments");
            }
        }
    };
    let twelve = in_root_span(&telemetry, loop_of(12)).await;
    let five = in_root_span(&telemetry, loop_of(5)).await;
    telemetry.force_flush().expect("telemetry flushes");

    let reports: Vec<_> = records(&log)
        .into_iter()
        .filter(|r| r["kind"] == "n_plus_one")
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["trace_id"], twelve.as_str());
    assert_ne!(reports[0]["trace_id"], five.as_str());
    assert_eq!(
        reports[0]["query"],
        "SELECT * FROM payments WHERE member_id = $1"
    );
    assert_eq!(reports[0]["collection"], "payments");
    let text = telemetry
        .handle()
        .render_prometheus()
        .expect("the Prometheus text renders");
    assert_eq!(
        sample(
            &text,
            names::DB_N_PLUS_ONE.prometheus,
            &[("db_collection_name", "payments")]
        ),
        1.0
    );
}

#[test]
fn a_tracing_span_with_db_fields_is_detected_without_otelix_helpers() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = log_path(&dir);
    let telemetry = telemetry(&log, 20, 60_000, &CapturedLines::default());
    tracing::dispatcher::with_default(telemetry.dispatch(), || {
        let span = tracing::info_span!(
            "SELECT invoices",
            "otel.kind" = "client",
            "db.system.name" = "mysql",
            "db.collection.name" = "invoices",
            "db.operation.name" = "SELECT",
            "db.query.text" = "SELECT * FROM invoices WHERE token = 'abc123'",
        );
        let _entered = span.enter();
        std::thread::sleep(Duration::from_millis(40));
    });
    telemetry.force_flush().expect("telemetry flushes");
    let records = records(&log);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["db_system"], "mysql");
    assert_eq!(records[0]["collection"], "invoices");
    assert_eq!(
        records[0]["query"],
        "SELECT * FROM invoices WHERE token = ?"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_log_path_is_reported_once_and_queries_go_on() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The log's parent is a regular file: the directory can never be created.
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"x").expect("writing a file where the log directory should be");
    let log = blocker.join("slow_queries.log");
    let lines = CapturedLines::default();
    let telemetry = telemetry(&log, 1, 60_000, &lines);
    let db = sqlite(&telemetry).await;
    for _ in 0..3 {
        let (n,): (i64,) = sqlx::query_as(SLOW_SQLITE)
            .fetch_one(&db)
            .await
            .expect("the slow SQLite query");
        assert_eq!(n, 999_958);
    }
    telemetry.force_flush().expect("telemetry flushes");
    let errors: Vec<_> = lines
        .json_lines()
        .into_iter()
        .filter(|l| l["target"] == "otelix::slow_query" && l["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "reported once: {errors:?}");
    let text = telemetry
        .handle()
        .render_prometheus()
        .expect("the Prometheus text renders");
    assert_eq!(
        sample(
            &text,
            names::DB_SLOW_QUERIES.prometheus,
            &[("severity", "warning")]
        ),
        3.0
    );
}
