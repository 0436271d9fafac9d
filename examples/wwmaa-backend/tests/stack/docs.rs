//! The docs' commands run as written against the stack: the README's walk-through and the
//! troubleshooting blocks of docs/observability/README.md.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;

use crate::common::ok;
use crate::setup::Stack;
use crate::{workspace_root, SERVICE, TROUBLESHOOTING};

impl Stack {
    /// docker-compose.yml's published ports, mapped to this stack's addresses (the gRPC run's:
    /// it has Prometheus).
    fn compose_ports(&self) -> BTreeMap<u16, SocketAddr> {
        let (_, prometheus) = self
            .prometheus
            .as_ref()
            .expect("the gRPC run has Prometheus");
        BTreeMap::from([
            (8000, self.service_addr),
            (16686, self.jaeger_query),
            (13133, self.collector_addrs.health),
            (8888, self.collector_addrs.telemetry),
            (8889, self.collector_addrs.exporter),
            (9090, *prometheus),
            (9428, self.victorialogs_addr),
        ])
    }

    /// The README's "See a request in Jaeger" walk-through, run as written: the request's ID,
    /// its trace's spans (both services'), its log line, and exemplars naming traces.
    pub(crate) async fn check_readme_walkthrough(&self) {
        let (block, output) = self.run_doc_block(
            "README.md",
            "see-a-request-in-jaeger",
            &self.compose_ports(),
        );
        let lines: Vec<&str> = output.lines().collect();
        let is_trace_id = |l: &&str| {
            l.len() == 32
                && l.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let problems: Vec<String> = [
            expect_line(&lines, "the request's X-Request-ID", is_trace_id),
            expect_line(&lines, "the payment's SERVER span", |l| {
                *l == "POST /api/payments"
            }),
            expect_line(&lines, "its database span", |l| *l == "INSERT payments"),
            expect_line(&lines, "the second service's SERVER span", |l| {
                *l == "POST /sandbox/stripe/v1/payment_intents"
            }),
            expect_line(&lines, "its log line from VictoriaLogs", |l| {
                *l == "INFO\tpayment recorded"
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        let ids = lines.iter().filter(|l| is_trace_id(l)).count();
        assert!(
            problems.is_empty() && ids >= 2,
            "{}",
            self.failure(&format!(
                "the README's walk-through printed what this stack does not match ({ids} trace IDs; \
                 one for the request, at least one exemplar):\n  {}\n--- block as run ---\n{block}\n--- output ---\n{output}",
                problems.join("\n  ")
            ))
        );
        ok(&format!(
            "README's \"See a request in Jaeger\" works as written: the payment's ID, its trace with both services' SERVER spans, its log line, {} exemplar trace IDs",
            ids - 1
        ));
    }

    /// The troubleshooting blocks of docs/observability/README.md, run as written against this
    /// stack.
    pub(crate) async fn check_troubleshooting(&self) {
        let ports = self.compose_ports();
        let (block, output) = self.run_doc_block(TROUBLESHOOTING, "no-traces-in-jaeger", &ports);
        let lines: Vec<&str> = output.lines().collect();
        let problems: Vec<String> = [
            expect_line(&lines, "the collector's health check answers", |l| {
                l.contains("\"status\":\"Server available\"")
            }),
            expect_line(&lines, "spans accepted by the otlp receiver", |l| {
                counted(l, "otelcol_receiver_accepted_spans", "otlp")
            }),
            expect_line(&lines, "spans sent by the Jaeger exporter", |l| {
                counted(l, "otelcol_exporter_sent_spans", "otlp_grpc/jaeger")
            }),
            expect_line(&lines, "the service among Jaeger's services", |l| {
                *l == SERVICE
            }),
            expect_line(&lines, "the request's SERVER span in its trace", |l| {
                *l == "GET /api/members/{id}\tserver"
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert!(
            problems.is_empty(),
            "{}",
            self.failure(&format!(
                "\"No traces in Jaeger\" printed what this stack does not match:\n  {}\n--- block as run ---\n{block}\n--- output ---\n{output}",
                problems.join("\n  ")
            ))
        );
        ok(&format!(
            "docs' \"No traces in Jaeger\" commands work as written: {} lines of output, collector healthy, spans accepted and sent to Jaeger, the request's trace found",
            lines.len()
        ));

        let (block, output) =
            self.run_doc_block(TROUBLESHOOTING, "no-metrics-in-prometheus", &ports);
        let lines: Vec<&str> = output.lines().collect();
        let mut checks: Vec<Option<String>> = [
            "prometheus",
            SERVICE,
            "otel-collector",
            "otel-collector-exporter",
        ]
        .iter()
        .map(|job| {
            expect_line(&lines, &format!("target {job} up"), |l| {
                l.starts_with(&format!("{job}\tup\t"))
            })
        })
        .collect();
        checks.extend([
            expect_line(&lines, "a count of the service's bucket lines", |l| {
                l.parse::<u64>().is_ok_and(|n| n > 0)
            }),
            expect_line(&lines, "metric points accepted by the otlp receiver", |l| {
                counted(l, "otelcol_receiver_accepted_metric_points", "otlp")
            }),
            expect_line(
                &lines,
                "metric points sent by the prometheus exporter",
                |l| counted(l, "otelcol_exporter_sent_metric_points", "prometheus"),
            ),
            expect_line(&lines, "series of the service in Prometheus", |l| {
                l.strip_prefix(&format!("{SERVICE}\t"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            }),
            expect_line(&lines, "series of the collector in Prometheus", |l| {
                l.strip_prefix("otel-collector\t")
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            }),
        ]);
        let problems: Vec<String> = checks.into_iter().flatten().collect();
        assert!(
            problems.is_empty(),
            "{}",
            self.failure(&format!(
                "\"No metrics in Prometheus\" printed what this stack does not match:\n  {}\n--- block as run ---\n{block}\n--- output ---\n{output}",
                problems.join("\n  ")
            ))
        );
        ok(&format!(
            "docs' \"No metrics in Prometheus\" commands work as written: {} lines of output, the four targets up, the service's series in /metrics and Prometheus, the collector's points accepted and exported",
            lines.len()
        ));
    }

    /// The ```sh block after `<!-- stack-test: {marker} -->` in `doc` (a path from the
    /// workspace root), with `localhost:<compose port>` replaced by this stack's address, run by
    /// bash (stopping at the first failing command): the block as run and what it printed.
    fn run_doc_block(
        &self,
        doc: &str,
        marker: &str,
        ports: &BTreeMap<u16, SocketAddr>,
    ) -> (String, String) {
        let text = std::fs::read_to_string(workspace_root().join(doc))
            .unwrap_or_else(|e| panic!("{doc}: {e}"));
        let tag = format!("<!-- stack-test: {marker} -->");
        let after = text
            .split_once(&tag)
            .unwrap_or_else(|| panic!("{doc} has no {tag}"))
            .1;
        let block = after
            .trim_start()
            .strip_prefix("```sh\n")
            .and_then(|b| b.split_once("\n```").map(|(b, _)| b))
            .unwrap_or_else(|| panic!("no ```sh block right after {tag}"));
        let mut block = block.to_owned();
        for (port, addr) in ports {
            block = block.replace(&format!("localhost:{port}"), &addr.to_string());
        }
        assert!(
            !block.contains("localhost"),
            "the {marker} block uses an address this test does not map:\n{block}"
        );
        let output = Command::new("timeout")
            .args(["120", "bash", "-e", "-o", "pipefail", "-c", &block])
            .output()
            .expect("bash runs");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "{}",
            self.failure(&format!(
                "the {marker} block failed ({}):\n--- block as run ---\n{block}\n--- output ---\n{printed}",
                output.status
            ))
        );
        (block, printed)
    }
}

/// `None` when a line of `lines` satisfies `matches`, else the problem.
fn expect_line(lines: &[&str], what: &str, matches: impl Fn(&&str) -> bool) -> Option<String> {
    (!lines.iter().any(matches)).then(|| format!("no line with {what}"))
}

/// Whether `line` is `<metric>[_total] TAB <component> TAB <value>` with a value above 0: a
/// collector counter as the troubleshooting blocks print it.
fn counted(line: &str, metric: &str, component: &str) -> bool {
    let fields: Vec<&str> = line.split('\t').collect();
    match fields.as_slice() {
        [name, named, value] => {
            name.strip_suffix("_total").unwrap_or(name) == metric
                && *named == component
                && value.parse::<f64>().is_ok_and(|v| v > 0.0)
        }
        _ => false,
    }
}

#[test]
fn doc_blocks_are_found_after_their_marker() {
    for (doc, marker) in [
        (TROUBLESHOOTING, "no-traces-in-jaeger"),
        (TROUBLESHOOTING, "no-metrics-in-prometheus"),
        ("README.md", "see-a-request-in-jaeger"),
    ] {
        let text = std::fs::read_to_string(workspace_root().join(doc)).expect("the doc");
        let tag = format!("<!-- stack-test: {marker} -->");
        let after = text.split_once(&tag).expect("marker").1;
        assert!(after.trim_start().starts_with("```sh\n"), "{doc}: {marker}");
    }
}
