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

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::prometheus::{self as prom, PromApi};
use common::{free_port, ok, wait_listening, Process, Protocol, Sent, WAIT};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix::names;
use otelix_testkit::{ReceivedSpan, Receiver};

/// The dashboard panels whose queries must return data once the service has had traffic: the
/// request, database, cache, external-call and job panels (error-only panels stay empty on a
/// healthy run, and the collector's own panel has no collector metrics here: rotel exposes
/// none).
const MAIN_PANELS: &[&str] = &[
    "Request rate by route",
    "Request duration p50 / p95 / p99 by route (exemplars link to traces)",
    "Requests by status code",
    "Database operations by collection",
    "Database operation p95 / p99 (exemplars)",
    "Slow queries per minute by severity",
    "Cache hit ratio",
    "Cache requests by operation and result",
    "External call p95 / p99 by service (exemplars)",
    "External calls by service and status",
    "Job runs by outcome (per hour)",
    "Time since last success",
];

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

/// One run: the receiver, the collector in front of it, and the service.
struct Run {
    protocol: Protocol,
    dir: tempfile::TempDir,
    receiver: Receiver,
    collector: Process,
    service: Process,
    base: String,
    service_addr: SocketAddr,
    client: reqwest::Client,
    slow_query_log: PathBuf,
    sent: Vec<Sent>,
    _schema: common::Schema,
}

impl Run {
    async fn start(peers: &Peers, protocol: Protocol) -> Run {
        println!("\n== run over {} ==", protocol.otel_name());
        let dir = tempfile::tempdir().expect("temporary directory");
        let receiver = Receiver::start().expect("the testkit receiver starts");

        // The collector: rotel, forwarding everything over OTLP/gRPC to the receiver.
        let grpc: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let http: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut collector = Process::spawn(
            "rotel",
            dir.path(),
            Command::new(&peers.rotel)
                .arg("start")
                .args(["--otlp-grpc-endpoint", &grpc.to_string()])
                .args(["--otlp-http-endpoint", &http.to_string()])
                .args(["--exporter", "otlp"])
                .args(["--otlp-exporter-endpoint", &receiver.grpc_endpoint()])
                .args(["--batch-timeout", "100ms"])
                .arg("--pid-file")
                .arg(dir.path().join("rotel.pid"))
                .arg("--log-file")
                .arg(dir.path().join("rotel-agent.log")),
        );
        wait_listening(&mut collector, grpc);
        wait_listening(&mut collector, http);

        // The service, configured by its environment like in production.
        let (database_url, schema) = common::postgres_schema(peers.database_url.clone()).await;
        let service_addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let endpoint = match protocol {
            Protocol::Grpc => format!("http://{grpc}"),
            Protocol::HttpProtobuf => format!("http://{http}"),
        };
        let slow_query_log = dir.path().join("slow_queries.log");
        let mut service = Process::spawn(
            "wwmaa-backend",
            dir.path(),
            common::service_command(
                service_addr,
                &database_url,
                &endpoint,
                protocol.otel_name(),
                &slow_query_log,
            )
            .env("REDIS_URL", &peers.redis_url)
            .env("CACHE_KEY_PREFIX", common::unique_name("integration"))
            .env("SANDBOX_LATENCY_MS", "5")
            // The largest report takes hundreds of milliseconds on PostgreSQL.
            .env("SLOW_QUERY_THRESHOLD_SECONDS", "0.02"),
        );
        wait_listening(&mut service, service_addr);
        let base = format!("http://{service_addr}");
        let client = reqwest::Client::new();
        let sent = common::send_every_kind(&client, &base).await;
        ok(&format!(
            "service up on {service_addr} (PostgreSQL, Redis, OTLP {} to rotel on {}); {} requests answered as expected",
            protocol.otel_name(),
            if protocol == Protocol::Grpc { grpc } else { http },
            sent.len()
        ));
        Run {
            protocol,
            dir,
            receiver,
            collector,
            service,
            base,
            service_addr,
            client,
            slow_query_log,
            sent,
            _schema: schema,
        }
    }

    fn failure(&self, what: &str) -> String {
        format!("{what}\n{}\n{}", self.collector.tail(), self.service.tail())
    }

    fn reply(&self, what: &str) -> (&Sent, String) {
        let sent = self
            .sent
            .iter()
            .find(|s| s.what.starts_with(what))
            .unwrap_or_else(|| panic!("no request {what}"));
        let id = sent
            .reply
            .request_id
            .clone()
            .unwrap_or_else(|| panic!("{what}: no X-Request-ID"));
        (sent, id)
    }

    async fn span(&self, what: &str, predicate: impl Fn(&ReceivedSpan) -> bool) -> ReceivedSpan {
        match self.receiver.wait_for_span(predicate, WAIT).await {
            Ok(span) => span,
            Err(error) => panic!("{}", self.failure(&format!("{what}: {error}"))),
        }
    }

    /// Traces, logs and metrics went through the collector and tie up with the responses.
    async fn check_telemetry(&self, peers: &Peers) {
        // Every traced response's X-Request-ID is the trace ID of a SERVER span from the
        // service (`/health` is excluded from tracing by default, as probes are).
        let traced: Vec<&Sent> = self
            .sent
            .iter()
            .filter(|s| s.what != "GET /health")
            .collect();
        for sent in &traced {
            let id = sent
                .reply
                .request_id
                .clone()
                .unwrap_or_else(|| panic!("{}: no X-Request-ID", sent.what));
            assert!(
                id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: X-Request-ID {id} is not a trace ID",
                sent.what
            );
            let wanted = id.clone();
            let root = self
                .span(
                    &format!("{}: the SERVER span of trace {id}", sent.what),
                    move |s| {
                        s.trace_id() == wanted
                            && s.kind() == SpanKind::Server
                            && s.parent_span_id().is_none()
                    },
                )
                .await;
            assert_eq!(
                root.resource_attr("service.name").as_deref(),
                Some("wwmaa-backend"),
                "{}",
                sent.what
            );
        }
        ok(&format!(
            "{} of {} X-Request-IDs are trace IDs of SERVER spans that came through the collector",
            traced.len(),
            traced.len()
        ));

        // The requests that log: their log records (OTLP, through the collector) and their
        // JSON lines on stdout carry the trace ID.
        let mut logged = 0;
        for what in ["POST /api/members", "POST /api/payments"] {
            let (_, id) = self.reply(what);
            let wanted = id.clone();
            if let Err(error) = self
                .receiver
                .wait_for_log(
                    move |log| log.trace_id().as_deref() == Some(wanted.as_str()),
                    WAIT,
                )
                .await
            {
                panic!(
                    "{}",
                    self.failure(&format!(
                        "{what}: no log record with trace_id {id}: {error}"
                    ))
                );
            }
            let line = self
                .service
                .output()
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| l["trace_id"] == id.as_str());
            assert!(
                line.is_some(),
                "{}",
                self.failure(&format!("{what}: no stdout JSON line with trace_id {id}"))
            );
            logged += 1;
        }
        ok(&format!(
            "{logged} requests' log records (OTLP and stdout) carry their X-Request-ID"
        ));

        // An external call: the CLIENT span to the sandboxed Stripe and the sandbox's SERVER
        // span below it, in the request's trace.
        let (_, id) = self.reply("POST /api/payments");
        let wanted = id.clone();
        let client = self
            .span("POST /api/payments: a CLIENT span to stripe", move |s| {
                s.trace_id() == wanted
                    && s.kind() == SpanKind::Client
                    && s.attr_str("service.peer.name").as_deref() == Some("stripe")
            })
            .await;
        let (wanted, parent) = (id.clone(), client.span_id());
        let far = self
            .span(
                "POST /api/payments: the sandbox's SERVER span under the CLIENT span",
                move |s| {
                    s.trace_id() == wanted
                        && s.kind() == SpanKind::Server
                        && s.parent_span_id().as_deref() == Some(parent.as_str())
                },
            )
            .await;
        ok(&format!(
            "one trace spans both sides of an external call: {} -> {}",
            client.name(),
            far.name()
        ));

        // PostgreSQL and Redis spans.
        let (_, id) = self.reply("GET /api/members/1");
        let wanted = id.clone();
        let db = self
            .span("GET /api/members/1: a postgresql CLIENT span", move |s| {
                s.trace_id() == wanted
                    && s.kind() == SpanKind::Client
                    && s.attr_str("db.system.name").as_deref() == Some("postgresql")
            })
            .await;
        let wanted = id.clone();
        let cache = self
            .span("GET /api/members/1: a redis CLIENT span", move |s| {
                s.trace_id() == wanted
                    && s.kind() == SpanKind::Client
                    && s.attr_str("db.system.name").as_deref() == Some("redis")
            })
            .await;
        ok(&format!(
            "database span {:?} has db.system.name=postgresql, cache span {:?} redis",
            db.name(),
            cache.name()
        ));

        // The heavy report: a slow-query line whose trace_id is the response's X-Request-ID.
        let (_, id) = self.reply("GET /api/reports/activity");
        let deadline = Instant::now() + WAIT;
        let line = loop {
            let text = std::fs::read_to_string(&self.slow_query_log).unwrap_or_default();
            let found = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| l["trace_id"] == id.as_str() && l["kind"] == "slow_query");
            if let Some(line) = found {
                break line;
            }
            assert!(
                Instant::now() < deadline,
                "{}",
                self.failure(&format!(
                    "no slow-query line with trace_id {id} in {}:\n{text}",
                    self.slow_query_log.display()
                ))
            );
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(line["db_system"], "postgresql");
        ok(&format!(
            "slow-query log line for the report: trace_id = X-Request-ID, {} ms, severity {}",
            line["duration_ms"], line["severity"]
        ));

        self.check_openmetrics_exemplar(peers).await;

        // Metrics through the collector.
        for name in [
            names::HTTP_SERVER_REQUEST_DURATION.name,
            names::DB_CLIENT_OPERATION_DURATION.name,
            names::HTTP_CLIENT_REQUEST_DURATION.name,
        ] {
            if let Err(error) = self
                .receiver
                .wait_for_metric(move |m| m.name() == name && m.data_point_count() > 0, WAIT)
                .await
            {
                panic!(
                    "{}",
                    self.failure(&format!(
                        "metric {name} did not come through the collector: {error}"
                    ))
                );
            }
        }
        let counts = self.receiver.counts();
        ok(&format!(
            "through the collector over {}: {} spans, {} metric data points, {} log records",
            self.protocol.otel_name(),
            counts.spans,
            counts.metric_data_points,
            counts.logs
        ));
    }

    /// `/metrics` in OpenMetrics, read by a real parser (Python's `prometheus_client`): the
    /// report request's X-Request-ID is the exemplar of the bucket that holds its duration.
    async fn check_openmetrics_exemplar(&self, peers: &Peers) {
        let (_, id) = self.reply("GET /api/reports/activity");
        let wanted = id.clone();
        let server = self
            .span("the report's SERVER span", move |s| {
                s.trace_id() == wanted && s.kind() == SpanKind::Server
            })
            .await;
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .header("Accept", "application/openmetrics-text; version=1.0.0")
            .send()
            .await
            .expect("an OpenMetrics scrape")
            .text()
            .await
            .expect("its body");
        let exemplars = parse_openmetrics_exemplars(&peers.python, &text);
        let found = exemplars
            .iter()
            .find(|e| {
                e["name"] == "http_server_request_duration_seconds_bucket"
                    && e["labels"]["http_route"] == "/api/reports/activity"
                    && e["trace_id"] == id.as_str()
            })
            .unwrap_or_else(|| {
                panic!(
                    "no exemplar with trace_id {id} on the report route's buckets; exemplars: {exemplars:#?}"
                )
            });
        let value = found["value"].as_f64().expect("an exemplar value");
        let le: f64 = match found["labels"]["le"].as_str().expect("le") {
            "+Inf" => f64::INFINITY,
            le => le.parse().expect("a bound"),
        };
        let below = otelix::DURATION_BUCKETS_SECONDS
            .iter()
            .copied()
            .filter(|b| *b < le)
            .fold(0.0, f64::max);
        let span_seconds = server.duration().as_secs_f64();
        assert!(
            below < value && value <= le && (value - span_seconds).abs() < 0.005,
            "exemplar {found} is not in the bucket of the span's {span_seconds} s"
        );
        ok(&format!(
            "OpenMetrics scrape parsed by prometheus_client: {} exemplars; the report's X-Request-ID is the exemplar of bucket le={le} ({value:.3} s)",
            exemplars.len()
        ));
    }

    /// Prometheus scrapes the service and evaluates the project's rules; Alertmanager runs the
    /// project's configuration; promtool accepts a scrape.
    async fn check_prometheus(&self, peers: &Peers) {
        let obs = prom::observability_dir();

        // Alertmanager with the project's file; the secret files it reads are made here.
        let secrets = self.dir.path().join("secrets");
        std::fs::create_dir_all(&secrets).expect("secrets dir");
        for name in [
            "pager-webhook-url",
            "ticket-webhook-url",
            "slack-webhook-url",
        ] {
            std::fs::write(secrets.join(name), "http://127.0.0.1:9/hook\n").expect("secret file");
        }
        let am_config = std::fs::read_to_string(obs.join("alertmanager.yml"))
            .expect("alertmanager.yml")
            .replace("/etc/alertmanager/secrets", &secrets.display().to_string());
        let am_path = self.dir.path().join("alertmanager.yml");
        std::fs::write(&am_path, am_config).expect("alertmanager config");
        let am_addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut alertmanager = Process::spawn(
            "alertmanager",
            self.dir.path(),
            Command::new(&peers.alertmanager)
                .arg(format!("--config.file={}", am_path.display()))
                .arg(format!(
                    "--storage.path={}",
                    self.dir.path().join("am").display()
                ))
                .arg(format!("--web.listen-address={am_addr}"))
                .arg("--cluster.listen-address="),
        );
        wait_listening(&mut alertmanager, am_addr);

        // Prometheus with the project's prometheus.yml, adapted to loopback.
        // (rotel has no metrics of its own: the collector jobs are left out.)
        let prom_addr = common::loopback();
        let prometheus = prom::spawn(
            &peers.prometheus,
            self.dir.path(),
            &prom::Targets {
                prometheus: prom_addr,
                service: self.service_addr,
                alertmanager: Some(am_addr),
                collector: None,
            },
        );
        let api = PromApi {
            base: format!("http://{prom_addr}"),
            client: self.client.clone(),
        };
        let tails = || {
            format!(
                "{}\n{}\n{}",
                prometheus.tail(),
                alertmanager.tail(),
                self.service.tail()
            )
        };

        // Traffic while Prometheus scrapes every second, so rates have two samples or more.
        let deadline = Instant::now() + Duration::from_secs(60);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let mut returned: BTreeSet<String> = self
            .sent
            .iter()
            .filter_map(|s| s.reply.request_id.clone())
            .collect();
        loop {
            returned.extend(
                common::send_every_kind(&self.client, &self.base)
                    .await
                    .into_iter()
                    .filter_map(|s| s.reply.request_id),
            );
            let up = api.query("up{job=\"wwmaa-backend\"}").await;
            let scrapes = api
                .query("count_over_time(up{job=\"wwmaa-backend\"}[1m])")
                .await;
            if prom::single_value(&up) == Some(1.0)
                && prom::single_value(&scrapes).is_some_and(|n| n >= 4.0)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus did not scrape the service: up = {up}\n{}",
                tails()
            );
            actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        }
        ok("Prometheus scrapes /metrics: up{job=\"wwmaa-backend\"} == 1");

        // Exemplar storage holds trace IDs from the request histogram's buckets, and each is an
        // X-Request-ID the service returned to this client.
        let (trace_ids, body) = api
            .exemplar_trace_ids(
                // The API's routes: the sandbox's are served to the service itself (its
                // dunning job among the callers), not to this client.
                "http_server_request_duration_seconds_bucket{http_route=~\"/api/.*\"}",
                started - 60.0,
                started + 600.0,
            )
            .await;
        assert!(
            !trace_ids.is_empty(),
            "no exemplars in Prometheus: {body}\n{}",
            tails()
        );
        let unknown: Vec<&String> = trace_ids
            .iter()
            .filter(|id| !returned.contains(*id))
            .collect();
        assert!(
            unknown.is_empty(),
            "exemplar trace IDs that no response carried as X-Request-ID: {unknown:?}"
        );
        ok(&format!(
            "Prometheus exemplar storage: {} exemplars on http_server_request_duration_seconds_bucket, each an X-Request-ID the service returned",
            trace_ids.len()
        ));

        // Every rule evaluated without error (after at least one evaluation of every group).
        let deadline = Instant::now() + Duration::from_secs(30);
        let (rules, groups) = loop {
            let body = api.get("/api/v1/rules").await;
            let groups = body["data"]["groups"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let evaluated = !groups.is_empty()
                && groups.iter().all(|g| {
                    g["lastEvaluation"]
                        .as_str()
                        .is_some_and(|t| !t.starts_with("0001-"))
                });
            if evaluated {
                // One more interval, so that every rule has its own evaluation result.
                actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
                let body = api.get("/api/v1/rules").await;
                let groups = body["data"]["groups"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let rules: Vec<serde_json::Value> = groups
                    .iter()
                    .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                    .collect();
                break (rules, groups.len());
            }
            assert!(
                Instant::now() < deadline,
                "rules not evaluated: {body}\n{}",
                tails()
            );
            actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        };
        let broken: Vec<String> = rules
            .iter()
            .filter(|r| r["health"] != "ok")
            .map(|r| format!("{} ({}): {}", r["name"], r["health"], r["lastError"]))
            .collect();
        assert!(
            broken.is_empty(),
            "rules with errors:\n{}\n{}",
            broken.join("\n"),
            tails()
        );
        let alerts = rules.iter().filter(|r| r["type"] == "alerting").count();
        ok(&format!(
            "Prometheus evaluates {} rules in {groups} groups ({alerts} alerts) with no errors",
            rules.len()
        ));

        // Alertmanager is Prometheus's active Alertmanager.
        let managers = api.get("/api/v1/alertmanagers").await;
        let active = managers["data"]["activeAlertmanagers"].to_string();
        assert!(
            active.contains(&am_addr.to_string()),
            "Alertmanager {am_addr} not active: {managers}\n{}",
            tails()
        );
        ok(&format!("Alertmanager on {am_addr} runs alertmanager.yml and is Prometheus's active Alertmanager"));

        // The dashboard's main queries return data.
        let dashboard: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(obs.join("grafana-dashboard.json")).expect("dashboard"),
        )
        .expect("dashboard JSON");
        let mut seen = BTreeSet::new();
        let mut queried = 0;
        for panel in panels(&dashboard) {
            let title = panel["title"].as_str().unwrap_or_default();
            if !MAIN_PANELS.contains(&title) {
                continue;
            }
            seen.insert(title.to_owned());
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = grafana_concrete(target["expr"].as_str().expect("expr"));
                let result = api.query(&expr).await;
                let series = result.as_array().map_or(0, Vec::len);
                assert!(
                    series > 0,
                    "dashboard panel {title:?} returns no data for {expr}\n{}",
                    tails()
                );
                queried += 1;
            }
        }
        let missing: Vec<_> = MAIN_PANELS.iter().filter(|t| !seen.contains(**t)).collect();
        assert!(
            missing.is_empty(),
            "dashboard panels not found: {missing:?}"
        );
        ok(&format!(
            "{queried} queries of {} main dashboard panels return data",
            MAIN_PANELS.len()
        ));

        // promtool check metrics on a scrape.
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("scrape body");
        let mut promtool = Command::new(&peers.promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("promtool runs");
        promtool
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to promtool");
        let output = promtool.wait_with_output().expect("promtool ends");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success() && report.trim().is_empty(),
            "promtool check metrics reports problems:\n{report}"
        );
        ok(&format!(
            "promtool check metrics: no problems in a {}-line scrape",
            text.lines().count()
        ));
        drop(prometheus);
        drop(alertmanager);
    }

    fn stop(self) {
        // The processes are killed on drop; the schema is dropped last.
        drop(self.service);
        drop(self.collector);
    }
}

/// Parses an OpenMetrics exposition with Python's `prometheus_client` (a strict parser) and
/// returns every exemplar: `{"name", "labels", "trace_id", "value"}`.
fn parse_openmetrics_exemplars(python: &Path, text: &str) -> Vec<serde_json::Value> {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        if s.exemplar is not None:
            print(json.dumps({"name": s.name, "labels": s.labels,
                              "trace_id": s.exemplar.labels.get("trace_id"),
                              "value": float(s.exemplar.value),
                              "timestamp": None if s.exemplar.timestamp is None
                                           else float(str(s.exemplar.timestamp))}))
"#;
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to python");
    let output = child.wait_with_output().expect("python ends");
    assert!(
        output.status.success(),
        "prometheus_client rejects the OpenMetrics exposition:\n{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON from the parser script"))
        .collect()
}

fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    fn walk<'a>(list: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// A dashboard expression as Grafana sends it for this run: the service's job, every route,
/// and one-minute windows.
fn grafana_concrete(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$job", "wwmaa-backend")
        .replace("$route", ".*")
}
