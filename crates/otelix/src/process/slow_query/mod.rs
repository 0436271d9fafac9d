//! Slow-query detection: a span processor that finds slow database queries and N+1 query
//! patterns, counts them, and writes them as JSON lines to a rotating file.
//!
//! - [`SlowQueryProcessor`] looks at every finished span; database spans (those with
//!   `db.system.name` or the legacy `db.system`) at or above
//!   [`SlowQuerySettings::threshold`] are slow queries. Install it next to the exporter:
//!   `Telemetry::builder(..).with_span_processor(processor)`.
//! - [`RequestRoute`] in the OpenTelemetry context lets the records name the HTTP route.
//! - [`sanitize_query`] replaces the literals of a statement with `?`, so the log never holds
//!   user data; it is public so that instrumentation can sanitize `db.query.text` too.
//!
//! One line per slow query, with compact keys so that `grep -o '"collection":"[^"]*"'
//! slow_queries.log | sort | uniq -c` works:
//!
//! ```text
//! {"timestamp":"2025-01-31T12:00:00.123Z","kind":"slow_query","severity":"warning","duration_ms":1534.2,"db_system":"postgresql","collection":"members","operation":"SELECT","query":"SELECT * FROM members WHERE id = $1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","route":"/members/{id}","span_name":"SELECT members"}
//! {"timestamp":"2025-01-31T12:00:01.002Z","kind":"n_plus_one","severity":"warning","count":10,"db_system":"postgresql","collection":"orders","operation":"SELECT","query":"SELECT * FROM orders WHERE member_id = $1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","parent_span_id":"00f067aa0ba902b7","route":"/members","span_name":"SELECT orders"}
//! ```
//!
//! `timestamp` is when the span ended (RFC 3339, UTC, milliseconds); absent values are
//! `null`; `count` of an N+1 record is the threshold, reported once per trace, parent span and
//! statement when it is reached.
//!
//! # The log file
//!
//! - Nothing is created at start-up: the file, and any missing directories, are created when
//!   the first line is written. A service that never runs a slow query leaves no file behind.
//! - One worker thread writes it, one `write` call per line, in append mode: lines are never
//!   interleaved, and a `kill -9` loses no written line. When a full disk takes only part of
//!   a line, that part is cut off again. A partial last line left anyway (a `kill -9` can
//!   stop a long line's write between two pages) is ended with a newline when the file is
//!   next opened, so it never corrupts the following line. Lines are not fsynced one by one.
//! - Before a line would take it past [`SlowQuerySettings::max_bytes`], the file moves to
//!   `.1`, `.1` to `.2`, ... keeping [`SlowQuerySettings::backups`] files.
//! - Rotation by logrotate is survived: at most once a second (when a line is written) the
//!   worker checks the path, and reopens it if the file there was moved or removed (another
//!   inode, or none: move-and-create), shrank (copytruncate), or its directory vanished
//!   (recreated).
//! - A path that cannot be written (a directory, under a regular file, no permission, a full
//!   disk) is reported once through `tracing::error!` (target `otelix::slow_query`), and again
//!   only after it worked in between. At start-up the path is only looked at: a directory, a
//!   path under a regular file, or an existing file that does not open for appending is
//!   reported right away; what only creating the file can tell (no permission to create it or
//!   its directory, a full disk) is reported when the first line fails. Opening is
//!   retried every 5 s; lines are counted in `otelix.slow_query.dropped` meanwhile, while
//!   detection, metrics and `tracing` warnings go on.
//!
//! # Cost
//!
//! `on_start` looks up a context value (and, inside a request, files the route under the
//! trace ID behind a sharded lock); `on_end` of a span that is not a database span only scans
//! its attributes, plus one queue push when it is a local root. Database spans go through the
//! bounded queue; sanitizing and N+1 counting happen on the worker. Only spans the sampler
//! records reach a span processor; the sampler `otelix::init` installs records every span that
//! starts with `db.system.name` (without exporting it when the trace is not sampled), so with
//! otelix's set-up no slow query hides behind sampling.

mod n_plus_one;
mod processor;
mod record;
mod route;
mod worker;
mod writer;

#[cfg(test)]
mod tests;

pub use processor::{SlowQueryHandle, SlowQueryProcessor};

/// The `tracing` target of every event this module emits.
const TRACING_TARGET: &str = "otelix::slow_query";
