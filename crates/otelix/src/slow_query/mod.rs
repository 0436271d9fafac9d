//! Slow-query detection (in progress): the statement sanitizer.
mod sanitize;
pub use sanitize::{sanitize_query, sanitize_query_with, SqlDialect, MAX_SANITIZED_LEN};
