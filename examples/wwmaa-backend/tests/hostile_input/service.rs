//! The real binary under attack, and what is measured of it: its `/metrics`, its requests in
//! flight and its resident memory.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use otelix_testkit::exposition::Sample;
use otelix_testkit::Receiver;

use crate::common::{self, free_port, wait_listening, Process, WAIT};
use crate::raw_http::get;

/// The sum of `http_server_active_requests` over its series.
pub(crate) fn active_requests(page: &str) -> f64 {
    common::exposition(page)
        .find("http_server_active_requests", &[])
        .into_iter()
        .map(Sample::value)
        .sum()
}

/// Resident memory of `pid` in bytes, from `/proc/<pid>/status`; `None` where there is no
/// such file (not Linux).
pub(crate) fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// Waits until no request is in flight and no span has arrived for half a second: with a
/// 100 ms export delay, the span queue is then empty, so memory is measured at rest.
pub(crate) fn wait_quiet(addr: SocketAddr, receiver: &Receiver, service: &Process) {
    let deadline = Instant::now() + WAIT;
    let mut last = receiver.counts().spans;
    let mut since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = receiver.counts().spans;
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= Duration::from_millis(500)
            && active_requests(&metrics_page(addr)) == 0.0
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the service never went quiet\n{}",
            service.tail()
        );
    }
}

pub(crate) fn metrics_page(addr: SocketAddr) -> String {
    let response = get(addr, "/metrics");
    assert_eq!(response.status, 200);
    String::from_utf8(response.body).expect("UTF-8 metrics")
}

/// The real binary on a free port with SQLite in `dir`, exporting traces, metrics and logs to
/// `receiver`.
pub(crate) fn spawn_service(dir: &Path, receiver: &Receiver) -> (Process, SocketAddr) {
    let database_url = format!("sqlite://{}", dir.join("wwmaa.db").display());
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut service = Process::spawn(
        "wwmaa-backend",
        dir,
        common::service_command(
            addr,
            &database_url,
            &receiver.grpc_endpoint(),
            "grpc",
            &dir.join("slow_queries.log"),
        )
        .env("APP_ENV", "development")
        .env("SANDBOX_LATENCY_MS", "2"),
    );
    wait_listening(&mut service, addr);
    (service, addr)
}
