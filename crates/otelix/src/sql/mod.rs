//! SQL text, read without a parser. One lexer ([`SqlDialect`] picks its rules) serves two
//! readers: [`sanitize_query`] replaces a statement's literals with `?` (the slow-query log,
//! where the N+1 detector also counts statements by their sanitized text, and
//! `db.query.text`), and the statement summary names its operation and first table
//! (`db.operation.name`, `db.collection.name`). Shared by the database instrumentation and the
//! slow-query processor.

mod lexer;
mod sanitize;
#[cfg(feature = "sqlx")]
mod summary;

pub use lexer::SqlDialect;
pub use sanitize::{sanitize_query, sanitize_query_with, MAX_SANITIZED_LEN};
#[cfg(feature = "sqlx")]
pub(crate) use summary::summarize;
