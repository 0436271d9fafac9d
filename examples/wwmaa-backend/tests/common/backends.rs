//! The backends of the service under test: SQLite in a temporary directory, or the PostgreSQL
//! of `DATABASE_URL` (in a schema of the run's own) and the Redis of `REDIS_URL`.

use sqlx::{AssertSqlSafe, Connection as _};

use super::unique_name;

/// Which databases and cache the service under test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backends {
    /// SQLite in a temporary directory and the in-process cache.
    Embedded,
    /// PostgreSQL (`DATABASE_URL`) and Redis (`REDIS_URL`).
    External,
}

/// A PostgreSQL schema made for one test run, dropped when this is dropped.
pub(crate) struct Schema {
    base_url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let url = self.base_url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop may run inside the test's runtime, which cannot be blocked on: use a thread
        // with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&url).await?;
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut connection)
                    .await?;
                connection.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}: {dropped:?}", self.name);
        }
    }
}

/// A schema of its own in the PostgreSQL of `base_url`, and the URL that uses it
/// (`search_path` set through the URL's `options`).
pub(crate) async fn postgres_schema(base_url: String) -> (String, Schema) {
    let name = unique_name("wwmaa_test");
    let mut connection = sqlx::PgConnection::connect(&base_url)
        .await
        .expect("DATABASE_URL accepts connections");
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&mut connection)
        .await
        .expect("test schema created");
    connection.close().await.expect("connection closed");
    let mut url = url::Url::parse(&base_url).expect("DATABASE_URL is a URL");
    url.query_pairs_mut()
        .append_pair("options", &format!("-c search_path={name}"));
    (url.to_string(), Schema { base_url, name })
}

/// The external backends, when `DATABASE_URL` and `REDIS_URL` are set. Without them the
/// test is skipped with a note, except in CI (`CI=true`), where `.ci/run` always sets both.
pub(crate) fn external_urls() -> Option<(String, String)> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (var("DATABASE_URL"), var("REDIS_URL")) {
        (Some(db), Some(redis)) if db.starts_with("postgres") => Some((db, redis)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI must set DATABASE_URL=postgres://... and REDIS_URL=redis://... for this test"
            )
        }
        _ => {
            eprintln!("skipped: set DATABASE_URL=postgres://... and REDIS_URL=redis://... to run this test");
            None
        }
    }
}

/// Drops `table` from the SQLite database of `database_url`, behind the service's back.
pub(crate) async fn drop_sqlite_table(database_url: &str, table: &str) {
    let mut connection = sqlx::SqliteConnection::connect(database_url)
        .await
        .expect("the test database opens");
    sqlx::query(AssertSqlSafe(format!("DROP TABLE {table}")))
        .execute(&mut connection)
        .await
        .expect("table dropped");
    connection.close().await.expect("closed");
}
