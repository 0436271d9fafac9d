//! One run: the testkit receiver, rotel in front of it, and the service, with its first
//! traffic sent.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use otelix_testkit::{ReceivedSpan, Receiver};

use crate::common::{self, free_port, ok, wait_listening, Process, Protocol, Sent, WAIT};
use crate::Peers;

/// One run: the receiver, the collector in front of it, and the service.
pub(crate) struct Run {
    pub(crate) protocol: Protocol,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) receiver: Receiver,
    pub(crate) collector: Process,
    pub(crate) service: Process,
    pub(crate) base: String,
    pub(crate) service_addr: SocketAddr,
    pub(crate) client: reqwest::Client,
    pub(crate) slow_query_log: PathBuf,
    pub(crate) sent: Vec<Sent>,
    _schema: common::Schema,
}

impl Run {
    pub(crate) async fn start(peers: &Peers, protocol: Protocol) -> Run {
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
        let client = common::http_client();
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

    pub(crate) fn failure(&self, what: &str) -> String {
        format!("{what}\n{}\n{}", self.collector.tail(), self.service.tail())
    }

    pub(crate) fn reply(&self, what: &str) -> (&Sent, String) {
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

    pub(crate) async fn span(
        &self,
        what: &str,
        predicate: impl Fn(&ReceivedSpan) -> bool,
    ) -> ReceivedSpan {
        match self.receiver.wait_for_span(predicate, WAIT).await {
            Ok(span) => span,
            Err(error) => panic!("{}", self.failure(&format!("{what}: {error}"))),
        }
    }

    pub(crate) fn stop(self) {
        // The processes are killed on drop; the schema is dropped last.
        drop(self.service);
        drop(self.collector);
    }
}
