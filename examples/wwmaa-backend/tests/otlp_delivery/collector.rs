//! The real OpenTelemetry Collector (`OTELCOL`) running `collector.yaml` beside this file, on
//! loopback ports chosen for the run, with the run's certificates and token; stopped and
//! started again on the same ports for the outage test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::pki::Pki;
use crate::common::{loopback, wait_listening, Process, Protocol};

/// How a service reaches the collector: one OTLP receiver of `collector.yaml` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// Plaintext.
    Plain,
    /// TLS with the test CA's server certificate.
    Tls,
    /// TLS that requires a client certificate signed by the test CA.
    Mtls,
    /// Plaintext, `Authorization: Bearer <token>` required.
    Bearer,
}

impl Listener {
    const ALL: [Listener; 4] = [
        Listener::Plain,
        Listener::Tls,
        Listener::Mtls,
        Listener::Bearer,
    ];

    /// The part of the config's variable names: `OTLP_TEST_<NAME>_GRPC`.
    fn var(self) -> &'static str {
        match self {
            Listener::Plain => "PLAIN",
            Listener::Tls => "TLS",
            Listener::Mtls => "MTLS",
            Listener::Bearer => "BEARER",
        }
    }

    fn scheme(self) -> &'static str {
        match self {
            Listener::Tls | Listener::Mtls => "https",
            Listener::Plain | Listener::Bearer => "http",
        }
    }
}

/// The collector process and what it was started with, so that it can be started again.
pub(crate) struct Collector {
    binary: PathBuf,
    dir: PathBuf,
    env: Vec<(String, String)>,
    addrs: Vec<(Listener, Protocol, SocketAddr)>,
    starts: usize,
    process: Option<Process>,
}

impl Collector {
    /// Starts the collector forwarding to the OTLP/gRPC receiver at `receiver`, and waits
    /// until every listener accepts connections.
    pub(crate) fn start(
        binary: &Path,
        dir: &Path,
        pki: &Pki,
        token: &str,
        receiver: SocketAddr,
    ) -> Collector {
        let mut env = vec![
            ("OTLP_TEST_TOKEN".to_owned(), token.to_owned()),
            ("OTLP_TEST_RECEIVER".to_owned(), receiver.to_string()),
            ("OTLP_TEST_CA_CERT".to_owned(), path(&pki.ca)),
            ("OTLP_TEST_SERVER_CERT".to_owned(), path(&pki.server.cert)),
            ("OTLP_TEST_SERVER_KEY".to_owned(), path(&pki.server.key)),
        ];
        let mut addrs = Vec::new();
        for listener in Listener::ALL {
            for (protocol, suffix) in [(Protocol::Grpc, "GRPC"), (Protocol::HttpProtobuf, "HTTP")] {
                let addr = loopback();
                env.push((
                    format!("OTLP_TEST_{}_{suffix}", listener.var()),
                    addr.to_string(),
                ));
                addrs.push((listener, protocol, addr));
            }
        }
        let mut collector = Collector {
            binary: binary.to_owned(),
            dir: dir.to_owned(),
            env,
            addrs,
            starts: 0,
            process: None,
        };
        collector.run();
        collector
    }

    fn run(&mut self) {
        self.starts += 1;
        let config =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otlp_delivery/collector.yaml");
        let mut command = Command::new(&self.binary);
        command
            .arg(format!("--config={}", config.display()))
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let mut process =
            Process::spawn(format!("otelcol-{}", self.starts), &self.dir, &mut command);
        for (_, _, addr) in &self.addrs {
            wait_listening(&mut process, *addr);
        }
        self.process = Some(process);
    }

    /// The endpoint a service sets in `OTEL_EXPORTER_OTLP_ENDPOINT` to reach `listener` over
    /// `protocol`.
    pub(crate) fn endpoint(&self, listener: Listener, protocol: Protocol) -> String {
        let addr = self
            .addrs
            .iter()
            .find(|(l, p, _)| *l == listener && *p == protocol)
            .map(|(_, _, addr)| *addr)
            .expect("every listener has both protocols");
        format!("{}://{addr}", listener.scheme())
    }

    /// Stops the collector (SIGTERM) and waits for its exit.
    pub(crate) fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.terminate();
        }
    }

    /// Starts it again on the same ports.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// The end of the running collector's log, for failure messages.
    pub(crate) fn tail(&self) -> String {
        self.process
            .as_ref()
            .map_or_else(|| "(collector stopped)".to_owned(), Process::tail)
    }
}

fn path(path: &Path) -> String {
    path.to_str().expect("a UTF-8 temporary path").to_owned()
}
