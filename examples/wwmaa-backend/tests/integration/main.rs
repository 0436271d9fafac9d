//! The example service in front of real peers: `scripts/integration.sh` installs them and runs
//! this file with `OTELIX_INTEGRATION=1`; without it every test here says it was skipped.
//!
//! - the service is the real binary (`wwmaa-backend`), configured by its environment only;
//! - PostgreSQL and Redis are the machine's (`DATABASE_URL`, `REDIS_URL`; a schema and a cache
//!   key prefix of the run's own);
//! - a real OpenTelemetry collector, rotel (`ROTEL_AGENT`), receives the service's OTLP, over
//!   gRPC in one run and HTTP/protobuf in the other, and forwards it to the otelix testkit's
//!   receiver, where the test reads what went through;
//! - Prometheus (`PROMETHEUS`) runs the project's `prometheus.yml` adapted to loopback, with the
//!   project's alert rules, and Alertmanager (`ALERTMANAGER`) the project's
//!   `alertmanager.yml` with its secret files made for the run; `promtool` (`PROMTOOL`) checks a
//!   scrape.
//!
//! Each check prints one `ok` line with its counts; the first failure fails the test with what
//! was expected and what arrived, and the tail of each peer's log.
//!
//! `run.rs` starts a run (collector, service, first traffic); `telemetry.rs` checks the
//! traces, logs, slow-query log, exemplars and metrics that went through the collector;
//! `monitoring.rs` checks Prometheus, its rules, Alertmanager, the dashboard and promtool.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod monitoring;
mod run;
mod telemetry;

use std::path::PathBuf;

use common::Protocol;
use run::Run;

#[actix_web::test]
async fn through_a_real_collector_over_grpc_with_prometheus_and_alertmanager() {
    let Some(peers) = Peers::from_env() else {
        return;
    };
    let run = Run::start(&peers, Protocol::Grpc).await;
    run.check_telemetry(&peers).await;
    run.check_prometheus(&peers).await;
    run.stop();
}

#[actix_web::test]
async fn through_a_real_collector_over_http_protobuf() {
    let Some(peers) = Peers::from_env() else {
        return;
    };
    let run = Run::start(&peers, Protocol::HttpProtobuf).await;
    run.check_telemetry(&peers).await;
    run.stop();
}

/// Where the peers' binaries are, and the backends.
struct Peers {
    rotel: PathBuf,
    prometheus: PathBuf,
    promtool: PathBuf,
    alertmanager: PathBuf,
    python: PathBuf,
    database_url: String,
    redis_url: String,
}

impl Peers {
    fn from_env() -> Option<Peers> {
        if !common::integration_enabled() {
            return None;
        }
        let var = common::integration_var;
        let database_url = common::integration_database_url();
        Some(Peers {
            rotel: var("ROTEL_AGENT").into(),
            prometheus: var("PROMETHEUS").into(),
            promtool: var("PROMTOOL").into(),
            alertmanager: var("ALERTMANAGER").into(),
            python: var("OTELIX_PYTHON").into(),
            database_url,
            redis_url: var("REDIS_URL"),
        })
    }
}
