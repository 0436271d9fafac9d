//! Child processes (the real binary, the peers), the ports they listen on, and the command
//! line of the service.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::WAIT;

/// How long a child process may take to start listening.
pub(crate) const START: Duration = Duration::from_secs(30);

/// A child process killed when dropped, its output in a log file.
pub(crate) struct Process {
    pub(crate) name: String,
    pub(crate) child: Child,
    log: PathBuf,
}

impl Process {
    pub(crate) fn spawn(name: impl Into<String>, dir: &Path, command: &mut Command) -> Process {
        let name = name.into();
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        Process { name, child, log }
    }

    /// The last lines of the process's output, for a failure message.
    pub(crate) fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<_> = text.lines().collect();
        let start = lines.len().saturating_sub(30);
        format!(
            "--- {} ({}) ---\n{}",
            self.name,
            self.log.display(),
            lines[start..].join("\n")
        )
    }

    pub(crate) fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits up to [`WAIT`] for the exit: a graceful stop flushes every span,
    /// metric and log record.
    pub(crate) fn terminate(&mut self) {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(stopped.success());
        let deadline = Instant::now() + WAIT;
        while self.child.try_wait().expect("wait").is_none() {
            assert!(
                Instant::now() < deadline,
                "the {} did not stop\n{}",
                self.name,
                self.tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port of 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("an ephemeral port")
        .port()
}

/// An address of 127.0.0.1 on a port that was free a moment ago, for a peer about to start.
pub(crate) fn loopback() -> SocketAddr {
    ([127, 0, 0, 1], free_port()).into()
}

/// Waits until `addr` accepts connections, or fails naming `process`.
pub(crate) fn wait_listening(process: &mut Process, addr: SocketAddr) {
    let deadline = Instant::now() + START;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = process.child.try_wait() {
            panic!(
                "{} exited ({status}) before listening on {addr}\n{}",
                process.name,
                process.tail()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{} does not listen on {addr} after {START:?}\n{}",
            process.name,
            process.tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The real `wwmaa-backend` binary with nothing but `PATH` from the test's environment, on
/// `addr` and `database_url`, exporting to `endpoint` over `protocol` with short export
/// intervals, JSON logs at `info` and its slow-query log at `slow_query_log`. Tests add the
/// rest with `.env(...)`.
pub(crate) fn service_command(
    addr: SocketAddr,
    database_url: &str,
    endpoint: &str,
    protocol: &str,
    slow_query_log: &Path,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wwmaa-backend"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BIND_ADDR", addr.to_string())
        .env("DATABASE_URL", database_url)
        .env("OTEL_SERVICE_NAME", "wwmaa-backend")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_BLRP_SCHEDULE_DELAY", "100")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
        .env("SLOW_QUERY_LOG_FILE", slow_query_log)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info");
    command
}
