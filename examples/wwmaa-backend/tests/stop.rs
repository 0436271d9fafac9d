//! Stopping the real binary with SIGTERM while no collector runs: the service exits 0 (an
//! orchestrator reads anything else as a crash) and its log says what telemetry could not
//! deliver, naming the endpoint it could not reach.

#![allow(clippy::expect_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

use common::{free_port, service_command, wait_listening, Process};

/// One request, so that there is a span to deliver.
fn health(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).expect("the service accepts a connection");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .expect("the request is sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn sigterm_without_a_collector_exits_0_and_logs_the_shutdown_report() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database_url = format!("sqlite://{}", dir.path().join("wwmaa.db").display());
    let addr = ([127, 0, 0, 1], free_port()).into();
    // Nothing listens there: bound a moment ago, then released.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    for protocol in ["grpc", "http/protobuf"] {
        let mut service = Process::spawn(
            "wwmaa-backend",
            dir.path(),
            service_command(
                addr,
                &database_url,
                &endpoint,
                protocol,
                &dir.path().join("slow_queries.log"),
            )
            .env("OTELIX_SHUTDOWN_TIMEOUT", "1000"),
        );
        wait_listening(&mut service, addr);
        health(addr);

        service.terminate();
        let status = service.child.try_wait().expect("wait").expect("it exited");
        let output = service.output();
        assert!(
            status.success(),
            "{protocol}: exit status {status}\n{}",
            service.tail()
        );
        let report = output
            .lines()
            .find(|line| line.contains("telemetry shut down"))
            .unwrap_or_else(|| panic!("{protocol}: no shutdown report\n{}", service.tail()));
        assert!(
            report.contains("not everything delivered")
                && report.contains(&format!("traces to {endpoint}"))
                && report.contains("\"level\":\"WARN\""),
            "{protocol}: the report is a warning naming the endpoint: {report}"
        );
    }
}
