//! Why the database could not be prepared, and what a failed query's error means.

/// Why the database could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite file's directory could not be created.
    #[error("cannot create the directory {path} for the SQLite database")]
    CreateDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// No connection could be opened.
    #[error("cannot connect to the database {url}")]
    Connect {
        /// The URL without its password.
        url: String,
        /// What sqlx said.
        source: sqlx::Error,
    },
    /// Creating the schema or seeding failed.
    #[error("cannot prepare the database schema and seed data: {0}")]
    Schema(sqlx::Error),
}

/// Whether `error` is a unique-constraint violation (a taken e-mail address).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// Whether `error` says the database could not be reached, rather than that a query failed:
/// no connection within the acquire timeout, a connection that broke, or PostgreSQL refusing
/// work while it shuts down or starts (SQLSTATE class 08, and 57P01 to 57P05).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}
