//! The service started in-process for tests: telemetry built with
//! `Telemetry::builder(..).build()` (nothing global) exporting to an `otelix_testkit::Receiver`,
//! the application on an ephemeral port of 127.0.0.1 (a real `HttpServer`, since the external
//! calls go out over HTTP to the same process's sandbox), and its backends:
//!
//! - embedded: SQLite in a temporary directory and the in-process cache;
//! - external: the PostgreSQL of `DATABASE_URL`, in a schema of its own made for the run
//!   (`search_path` set through the URL's `options`) and dropped afterwards, and the Redis of
//!   `REDIS_URL` with a cache key prefix of its own, so concurrent runs never meet.
//!
//! | File | What |
//! |---|---|
//! | `app.rs` | the service in-process: `start`, `TestApp`, the spans of a `Trace` |
//! | `requests.rs` | sending a request and reading its `Reply`; traffic of every kind |
//! | `backends.rs` | SQLite or PostgreSQL (a schema of the run's own) and Redis |
//! | `process.rs` | the real binary and the peers as child processes, and their ports |
//! | `suites.rs` | what the integration suites share: when they run, their variables |
//! | `prometheus.rs` | the real Prometheus and its HTTP API |

// Not every test file uses every helper; a failed set-up step should fail loudly.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

mod app;
mod backends;
pub(crate) mod pki;
mod process;
pub(crate) mod prometheus;
mod requests;
mod suites;

// Test files reach every helper as `common::...`, and each uses a few: in any one test binary
// most of these re-exports are unused.
#[allow(unused_imports)]
pub(crate) use self::{
    app::{start, TestApp, Trace},
    backends::{drop_sqlite_table, external_urls, postgres_schema, Backends, Schema},
    process::{free_port, loopback, service_command, wait_listening, Process, START},
    requests::{send, send_every_kind, Reply, Sent},
    suites::{integration_database_url, integration_enabled, integration_var, ok, Protocol},
};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otelix_testkit::exposition::Exposition;

/// A Prometheus text or OpenMetrics page, parsed; one that does not parse fails the test.
pub(crate) fn exposition(text: &str) -> Exposition {
    Exposition::parse(text)
        .unwrap_or_else(|e| panic!("the metrics page does not parse: {e}\n{text}"))
}

/// How long to wait for exported telemetry or a log line.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// A name no other run (of this or another process) uses.
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A plain `reqwest::Client` for talking to the service and its peers. reqwest is built without
/// a crypto provider of its own here (aws-lc-rs stays out of the graph), so ring is installed
/// first, as the service does; a client built before that would panic.
pub(crate) fn http_client() -> reqwest::Client {
    wwmaa_backend::external::install_crypto_provider();
    reqwest::Client::new()
}
