//! The example service in front of the real observability stack, all on 127.0.0.1:
//! `scripts/integration.sh` builds the peers and runs this file with `OTELIX_INTEGRATION=1`;
//! without it both tests say they are skipped, and with it a missing peer is a failure.
//!
//! - the service is the real binary (`wwmaa-backend`), configured by its environment only, on
//!   the machine's PostgreSQL and Redis (`DATABASE_URL`, `REDIS_URL`; a schema and a cache key
//!   prefix of the run's own), its resource attributes from `OTEL_RESOURCE_ATTRIBUTES`;
//! - it exports OTLP to the OpenTelemetry Collector (`OTELCOL`) running the project's
//!   `otel-collector.yaml` itself, only its listeners and its exporters' endpoints moved to
//!   loopback ports (and its batch timeout shortened) by the collector's own `--set`;
//! - the collector sends traces to Jaeger (`JAEGER`, `docs/observability/jaeger.yaml`,
//!   listeners moved through its `JAEGER_*` variables), metrics to its Prometheus exporter, and
//!   logs to VictoriaLogs (`VICTORIALOGS`);
//! - Prometheus (`PROMETHEUS`) runs the project's `prometheus.yml` adapted to loopback, scraping
//!   the service, the collector's exporter and the collector's own telemetry (no Alertmanager
//!   runs here: its job and the alerting section are left out);
//! - a second instance of the service (`OTEL_SERVICE_NAME=wwmaa-sandbox`, SQLite) serves the
//!   external APIs' sandbox: the first one's Stripe calls go to it, and its AI registry calls to
//!   a path of it that does not exist, so that one request fails.
//!
//! One run exports over OTLP/gRPC and checks, each on what the real backends answer:
//! the X-Request-ID of a payment is a trace in Jaeger's HTTP API with the SERVER span as root,
//! its PostgreSQL, Redis and Stripe CLIENT children, and the second service's SERVER span below
//! the Stripe call, with the services' names and resource attributes; a failing request's trace
//! has error status; the slow-query log's `trace_id` is a trace in Jaeger holding the slow
//! statement's span; the requests' log lines are in VictoriaLogs by their trace ID with their
//! span IDs, severities and messages; the collector's exporter and the service's `/metrics`
//! carry the same metric names; an exemplar of the latency histogram, read from Prometheus's
//! exemplar API, names a trace that Jaeger has; and the troubleshooting commands of
//! `docs/observability/README.md` for "No traces in Jaeger" and "No metrics in Prometheus" work
//! as written (only `localhost:<compose port>` replaced by the loopback address in use).
//! The other run exports over OTLP/HTTP-protobuf and checks the logs in VictoriaLogs and the
//! trace in Jaeger.
//!
//! Each check prints one `ok` line with its counts; a failure names what was expected, what
//! arrived and the tail of every peer's log.
//!
//! `setup.rs` starts the stack and sends the traffic; `traces.rs` checks the traces in Jaeger
//! (through `jaeger.rs`, its HTTP API), `logs.rs` the logs in VictoriaLogs, `metrics.rs` the
//! collector's exporter and Prometheus, and `docs.rs` runs the docs' commands.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod docs;
mod jaeger;
mod logs;
mod metrics;
mod setup;
mod traces;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use common::Protocol;
use setup::Stack;

/// The service's name in the stack, and the second instance's.
const SERVICE: &str = "wwmaa-backend";
const SANDBOX: &str = "wwmaa-sandbox";
/// `deployment.environment.name`, set through `OTEL_RESOURCE_ATTRIBUTES` as docker-compose.yml
/// does (it wins over the one the service derives from `APP_ENV`).
const ENVIRONMENT: &str = "stack-test";
/// The page whose troubleshooting commands the gRPC run executes.
const TROUBLESHOOTING: &str = "docs/observability/README.md";

#[actix_web::test]
async fn the_real_stack_over_grpc() {
    let Some(peers) = Peers::from_env() else {
        return;
    };
    let stack = Stack::start(&peers, Protocol::Grpc).await;
    let traffic = stack.send_traffic().await;
    stack.check_payment_trace(&traffic).await;
    stack.check_failing_trace(&traffic).await;
    stack.check_slow_query(&traffic).await;
    stack.check_logs(&traffic).await;
    stack.check_metric_names().await;
    stack.check_prometheus(&traffic).await;
    stack.check_troubleshooting().await;
    stack.check_readme_walkthrough().await;
}

#[actix_web::test]
async fn the_real_stack_over_http_protobuf() {
    let Some(peers) = Peers::from_env() else {
        return;
    };
    let stack = Stack::start(&peers, Protocol::HttpProtobuf).await;
    let traffic = stack.send_traffic().await;
    stack.check_payment_trace(&traffic).await;
    stack.check_logs(&traffic).await;
}

/// Where the peers' binaries are, and the backends.
struct Peers {
    otelcol: PathBuf,
    jaeger: PathBuf,
    prometheus: PathBuf,
    victorialogs: PathBuf,
    database_url: String,
    redis_url: String,
}

impl Peers {
    fn from_env() -> Option<Peers> {
        if !common::integration_enabled() {
            return None;
        }
        let var = common::integration_var;
        Some(Peers {
            otelcol: var("OTELCOL").into(),
            jaeger: var("JAEGER").into(),
            prometheus: var("PROMETHEUS").into(),
            victorialogs: var("VICTORIALOGS").into(),
            database_url: common::integration_database_url(),
            redis_url: var("REDIS_URL"),
        })
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}
