//! The requests' log lines in VictoriaLogs, by trace ID, as the service wrote them on stdout.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::{ok, WAIT};
use crate::setup::{Stack, Traffic};
use crate::SERVICE;

impl Stack {
    /// Each traced request's log lines (the service's JSON stdout, which carries the same
    /// records as OTLP) are in VictoriaLogs by their trace ID, with span ID, severity and
    /// message.
    pub(crate) async fn check_logs(&self, traffic: &Traffic) {
        let mut checked = 0;
        let mut requests = 0;
        for id in [&traffic.created, &traffic.payment, &traffic.failing] {
            let expected = self.stdout_logs(id);
            assert!(
                !expected.is_empty(),
                "{}",
                self.failure(&format!("no stdout log line with trace_id {id}"))
            );
            let deadline = Instant::now() + WAIT;
            loop {
                let found = self.victorialogs(&format!("trace_id:\"{id}\"")).await;
                let missing: Vec<&LogLine> = expected
                    .iter()
                    .filter(|line| !found.iter().any(|record| line.matches(record)))
                    .collect();
                if missing.is_empty() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{}",
                    self.failure(&format!(
                        "VictoriaLogs lacks log lines of trace {id}:\n  missing: {missing:?}\n  VictoriaLogs returned: {found:#?}"
                    ))
                );
                actix_web::rt::time::sleep(Duration::from_millis(250)).await;
            }
            checked += expected.len();
            requests += 1;
        }
        ok(&format!(
            "VictoriaLogs (OTLP {} via the collector): {checked} log lines of {requests} requests found by trace_id, each with its span_id, severity_text and severity_number, _msg and service.name (levels {})",
            self.protocol.otel_name(),
            {
                let levels: BTreeSet<String> = [&traffic.created, &traffic.payment, &traffic.failing]
                    .iter()
                    .flat_map(|id| self.stdout_logs(id))
                    .map(|l| l.level)
                    .collect();
                levels.into_iter().collect::<Vec<_>>().join(", ")
            }
        ));
    }

    /// The service's JSON log lines on stdout with `trace_id` = `id`.
    fn stdout_logs(&self, id: &str) -> Vec<LogLine> {
        self.service
            .output()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["trace_id"] == id)
            .map(|l| LogLine {
                span_id: l["span_id"].as_str().map(str::to_owned),
                level: l["level"].as_str().unwrap_or_default().to_owned(),
                message: l["message"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The records a LogsQL query finds in VictoriaLogs.
    async fn victorialogs(&self, query: &str) -> Vec<serde_json::Value> {
        let url = url::Url::parse_with_params(
            &format!("http://{}/select/logsql/query", self.victorialogs_addr),
            [("query", query)],
        )
        .expect("a query URL");
        let response = self
            .client
            .get(url)
            .send()
            .await
            .expect("VictoriaLogs answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        assert!(
            status.is_success(),
            "{}",
            self.failure(&format!("VictoriaLogs query {query}: {status}: {text}"))
        );
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a JSON line from VictoriaLogs"))
            .collect()
    }
}

/// A JSON log line of the service's stdout.
#[derive(Debug)]
struct LogLine {
    /// None for a line outside any span (an N+1 report is written once its parent ended).
    span_id: Option<String>,
    level: String,
    message: String,
}

impl LogLine {
    /// Whether a VictoriaLogs record is this line of the service: same span ID, severity
    /// (`severity_text`, and the `severity_number` of that level) and message (`_msg`). The
    /// field names are those VictoriaLogs gives an OTLP log record (`trace_id`, `span_id`,
    /// `severity_text`, `severity_number`, `_msg`, resource attributes by name).
    fn matches(&self, record: &serde_json::Value) -> bool {
        let number = match self.level.as_str() {
            "TRACE" => "1",
            "DEBUG" => "5",
            "INFO" => "9",
            "WARN" => "13",
            "ERROR" => "17",
            _ => "?",
        };
        record["span_id"].as_str().filter(|s| !s.is_empty()) == self.span_id.as_deref()
            && record["severity_text"] == self.level.as_str()
            && record["severity_number"] == number
            && record["_msg"] == self.message.as_str()
            && record["service.name"] == SERVICE
    }
}
