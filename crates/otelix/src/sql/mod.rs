//! SQL text, read without a parser: [`sanitize_query`] replaces a statement's literals with `?`
//! (the slow-query log, `db.query.text`), and the statement summary names its operation and
//! first table (`db.operation.name`, `db.collection.name`). Shared by the database
//! instrumentation and the slow-query processor.

mod sanitize;
#[cfg(feature = "sqlx")]
mod summary;

pub use sanitize::{sanitize_query, sanitize_query_with, SqlDialect, MAX_SANITIZED_LEN};
#[cfg(feature = "sqlx")]
pub(crate) use summary::summarize;
