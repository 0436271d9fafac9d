//! Hostile input against the real binary: what an attacker controls must not decide how many
//! metric series exist or how much memory telemetry holds.
//!
//! - Cardinality: floods of requests with random paths, random methods, random query strings
//!   and propagation headers full of distinct entries (32 and 33 `tracestate` members,
//!   `baggage` of 64, 180 and more entries, up to and past its 8192-byte limit). The series of
//!   every metric family are exactly the same after the third flood as after the first, the
//!   route and method labels take only the values the route table and the semantic conventions
//!   allow (`_OTHER`, no route for unmatched paths), and the process's resident memory stops
//!   growing once warm.
//! - Resources: 50 MiB bodies (with a length, chunked, to a JSON endpoint and to no route),
//!   chunked bodies that never end and slowloris clients that send a header one byte at a time.
//!   The service keeps answering, its memory stays far below one such body, every request
//!   that began is counted as finished once its client is gone, and no body reaches a span, a
//!   log record or a log line.
//!
//! The requests are written on raw TCP connections, since no HTTP client sends methods such
//! as `Zq7`, never-ending bodies or half headers. Resident memory comes from
//! `/proc/<pid>/status`: on other systems those assertions are skipped with a note.
//!
//! `cardinality.rs` and `resources.rs` hold one test each; `flood.rs` writes the floods'
//! requests, `raw_http.rs` speaks HTTP/1.1 on a raw connection, `service.rs` starts the binary
//! and reads its `/metrics` and memory, and `rng.rs` is the seeded generator behind every
//! random input.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod cardinality;
#[path = "../common/mod.rs"]
mod common;
mod flood;
mod raw_http;
mod resources;
mod rng;
mod service;
