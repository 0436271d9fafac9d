//! The real `wwmaa-backend` binary, one per case, on SQLite, configured by its environment
//! only (as in production), its resource named after the case so that the receiver can tell
//! what each service delivered.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use otelix_testkit::Receiver;
use serde_json::json;

use crate::common::{self, free_port, Process, Protocol, START};

/// One running service.
pub(crate) struct Service {
    /// The case, also the resource's `service.instance.id`.
    pub(crate) case: String,
    /// The OTLP endpoint it exports to.
    pub(crate) endpoint: String,
    process: Process,
    base: String,
    client: reqwest::Client,
}

impl Service {
    /// Starts the service of `case` exporting traces, metrics and logs to `endpoint` over
    /// `protocol`, with `env` added (the OTLP security settings of the case).
    pub(crate) fn start(
        dir: &Path,
        case: &str,
        protocol: Protocol,
        endpoint: &str,
        env: &[(&str, String)],
    ) -> Service {
        Service::try_start(dir, case, protocol, endpoint, env).expect("the service listens")
    }

    /// [`Service::start`], or what the service said when it exited instead of listening.
    pub(crate) fn try_start(
        dir: &Path,
        case: &str,
        protocol: Protocol,
        endpoint: &str,
        env: &[(&str, String)],
    ) -> Result<Service, String> {
        let dir = dir.join(case);
        std::fs::create_dir_all(&dir).expect("the case's directory");
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let database_url = format!("sqlite://{}", dir.join("wwmaa.db").display());
        let mut command = common::service_command(
            addr,
            &database_url,
            endpoint,
            protocol.otel_name(),
            &dir.join("slow_queries.log"),
        );
        command
            .env(
                "OTEL_RESOURCE_ATTRIBUTES",
                format!("service.instance.id={case}"),
            )
            .env("SANDBOX_LATENCY_MS", "1");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut process = Process::spawn(format!("wwmaa-backend-{case}"), &dir, &mut command);
        let deadline = Instant::now() + START;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!(
                    "{case}: the service exited ({status}) instead of listening: {}",
                    process.output().trim()
                ));
            }
            assert!(
                Instant::now() < deadline,
                "{case}: the service does not listen on {addr} after {START:?}\n{}",
                process.tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Service {
            case: case.to_owned(),
            endpoint: endpoint.to_owned(),
            process,
            base: format!("http://{addr}"),
            client: common::http_client(),
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Requests that make a span, metrics and a log record: a member created (its handler
    /// logs "member created") and read back. Returns the trace IDs (`X-Request-ID`).
    pub(crate) async fn exercise(&self) -> Vec<String> {
        let email = format!("{}@example.org", common::unique_name(&self.case));
        let created = common::send(
            self.client
                .post(format!("{}/api/members", self.base))
                .json(&json!({"name": "Delivery Test", "email": email})),
        )
        .await;
        assert_eq!(created.status, 201, "{}: {}", self.case, created.body);
        let read = common::send(self.client.get(format!("{}/api/members/1", self.base))).await;
        assert_eq!(read.status, 200, "{}: {}", self.case, read.body);
        [created, read]
            .into_iter()
            .map(|reply| reply.request_id.expect("X-Request-ID"))
            .collect()
    }

    /// Whether the receiver has this case's spans, metric data points and log records, each.
    pub(crate) fn delivered(&self, receiver: &Receiver) -> [bool; 3] {
        let ours = |id: Option<String>| id.as_deref() == Some(self.case.as_str());
        let id = "service.instance.id";
        [
            receiver.spans().iter().any(|s| ours(s.resource_attr(id))),
            receiver.metrics().iter().any(|m| ours(m.resource_attr(id))),
            receiver.logs().iter().any(|l| ours(l.resource_attr(id))),
        ]
    }

    /// `/metrics` as the service serves it.
    pub(crate) async fn metrics_page(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("/metrics answers")
            .text()
            .await
            .expect("/metrics text")
    }

    /// The value of `otelix_exporter_dropped_total{signal, reason}` on `/metrics`; `None` when
    /// the series is absent.
    pub(crate) async fn dropped(&self, signal: &str, reason: &str) -> Option<f64> {
        let page = common::exposition(&self.metrics_page().await);
        page.value(
            "otelix_exporter_dropped_total",
            &[("signal", signal), ("reason", reason)],
        )
    }

    /// Everything the service wrote to stdout and stderr so far.
    pub(crate) fn output(&self) -> String {
        self.process.output()
    }

    /// Its JSON log lines.
    pub(crate) fn log_lines(&self) -> Vec<serde_json::Value> {
        self.output()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect()
    }

    /// The log lines at `level` (`WARN`, `ERROR`, ...) that name the endpoint's address.
    pub(crate) fn lines_naming_endpoint(&self, levels: &[&str]) -> Vec<serde_json::Value> {
        let addr = self
            .endpoint
            .split("://")
            .nth(1)
            .unwrap_or(&self.endpoint)
            .to_owned();
        self.log_lines()
            .into_iter()
            .filter(|l| {
                levels.iter().any(|level| l["level"] == *level) && l.to_string().contains(&addr)
            })
            .collect()
    }

    /// Where `secret` (the `what`) shows in the service's output or in `metrics_page`, if it
    /// does.
    pub(crate) fn shown(&self, secret: &str, what: &str, metrics_page: &str) -> Option<String> {
        if let Some(line) = self.output().lines().find(|l| l.contains(secret)) {
            return Some(format!(
                "{}: the {what} appears in the service's output:\n{line}",
                self.case
            ));
        }
        metrics_page
            .contains(secret)
            .then(|| format!("{}: the {what} appears on /metrics", self.case))
    }

    /// SIGTERM and the wait for its exit (telemetry flushed).
    pub(crate) fn stop(&mut self) {
        self.process.terminate();
    }

    pub(crate) fn tail(&self) -> String {
        self.process.tail()
    }
}
