//! Connecting: a SQLite file (its directory created) or memory database, or a PostgreSQL
//! server; then the schema and the seed data, through the bare pool.

use std::time::Duration;

use otelix::db::InstrumentedPool;
use sqlx::any::AnyPoolOptions;
use sqlx::Connection as _;

use super::schema::create_schema;
use super::seed::seed;
use super::{Store, StoreError};
use crate::settings::{DatabaseKind, DatabaseUrl};

impl Store {
    /// Connects, creates the schema when missing and seeds an empty database. A query waits
    /// at most `acquire_timeout` for a connection: while the database is unreachable, the pool
    /// retries connecting until then, and the query fails with [`sqlx::Error::PoolTimedOut`].
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database cannot be reached or prepared.
    pub async fn open(
        url: &DatabaseUrl,
        max_connections: u32,
        acquire_timeout: Duration,
        telemetry: &otelix::TelemetryHandle,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let mut connect_url = url.as_secret_str().to_owned();
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout);
        if url.kind() == DatabaseKind::Sqlite {
            if let Some(path) = url.sqlite_path() {
                create_parent_dir(path)?;
                if !connect_url.contains("mode=") {
                    connect_url.push_str(if connect_url.contains('?') {
                        "&mode=rwc"
                    } else {
                        "?mode=rwc"
                    });
                }
            } else {
                // Every connection of `sqlite::memory:` would be a database of its own, and
                // the database goes with its last connection: keep exactly one, forever.
                options = options
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
        }
        // One plain connection first: a pool that cannot connect only says it timed out,
        // while the connection says why (refused, unknown host, authentication).
        let probe = sqlx::AnyConnection::connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url: url.display(),
                source,
            })?;
        let _ = probe.close().await;
        let pool = options
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url: url.display(),
                source,
            })?;
        create_schema(&pool, url.kind())
            .await
            .map_err(StoreError::Schema)?;
        seed(&pool).await.map_err(StoreError::Schema)?;
        Ok(Store {
            db: InstrumentedPool::new(pool, telemetry),
            kind: url.kind(),
        })
    }
}

fn create_parent_dir(path: &str) -> Result<(), StoreError> {
    let parent = std::path::Path::new(path).parent();
    match parent {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}
