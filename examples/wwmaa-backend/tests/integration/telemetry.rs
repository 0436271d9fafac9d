//! Traces, logs, the slow-query log, an OpenMetrics exemplar and metrics, each as it came
//! through the collector, tied up with the responses.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix::names;

use crate::common::{ok, Sent, WAIT};
use crate::run::Run;
use crate::Peers;

impl Run {
    /// Traces, logs and metrics went through the collector and tie up with the responses.
    pub(crate) async fn check_telemetry(&self, peers: &Peers) {
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
