//! Helpers shared by otelix's integration tests.
// Not every test file uses every helper; a failed setup step should fail loudly.
#![allow(dead_code, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::TraceContextExt;
use otelix_testkit::exposition::{Exposition, Sample};
use otelix_testkit::{ReceivedSpan, Receiver};
use std::time::Duration;

/// An in-memory log writer for `TelemetryBuilder::with_log_writer`.
#[derive(Clone, Default)]
pub(crate) struct CapturedLines(Arc<Mutex<Vec<u8>>>);

impl CapturedLines {
    pub(crate) fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Every line parsed as JSON; panics on a line that is not.
    pub(crate) fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

pub(crate) struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLines {
    type Writer = CapturedWriter;
    fn make_writer(&'a self) -> Self::Writer {
        CapturedWriter(self.0.clone())
    }
}

/// The current OpenTelemetry span's trace and span IDs as hex.
pub(crate) fn current_ids() -> (String, String) {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let sc = span.span_context();
    (sc.trace_id().to_string(), sc.span_id().to_string())
}

/// No variables: tests describe their configuration in code only.
pub(crate) fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

/// A port on 127.0.0.1 that nothing listens on.
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener
        .local_addr()
        .map(|a| a.port())
        .expect("the listener's address")
}

/// Runs an external tool the test needs. Missing tool: a failure in CI, a skip note elsewhere.
pub(crate) fn required_tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "{name} is required in CI but not on PATH (.ci/run puts the one scripts/peers.sh builds there)"
            );
        }
        eprintln!("SKIPPED: {name} not found on PATH; install it to run this check");
    }
    found
}
/// How long to wait for telemetry to reach the receiver.
pub(crate) const ARRIVAL: Duration = Duration::from_secs(10);

pub(crate) fn receiver() -> Receiver {
    Receiver::start().expect("the OTLP receiver starts")
}

/// Telemetry exporting to `receiver`, not installed globally.
pub(crate) fn telemetry(receiver: &Receiver) -> otelix::Telemetry {
    otelix::Telemetry::builder(config(receiver))
        .build()
        .expect("telemetry builds")
}

pub(crate) fn config(receiver: &Receiver) -> otelix::Config {
    otelix::Config::builder()
        .with_service_name("otelix-test")
        .with_otlp_endpoint(receiver.grpc_endpoint())
        .with_bsp_schedule_delay(Duration::from_millis(100))
        .build_from_vars(no_env())
        .expect("a valid configuration")
}

pub(crate) fn flush(telemetry: &otelix::Telemetry) {
    telemetry.force_flush().expect("telemetry flushes");
}

pub(crate) fn prometheus(telemetry: &otelix::Telemetry) -> String {
    telemetry
        .handle()
        .render_prometheus()
        .expect("the Prometheus text renders")
}

/// The Prometheus text `telemetry`'s bridge renders, parsed.
pub(crate) fn exposition(text: &str) -> Exposition {
    Exposition::parse(text)
        .unwrap_or_else(|e| panic!("the bridge's text does not parse: {e}\n{text}"))
}

/// Values of the samples of `metric` whose labels include every pair of `labels`.
pub(crate) fn samples(text: &str, metric: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    exposition(text)
        .find(metric, labels)
        .into_iter()
        .map(Sample::value)
        .collect()
}

/// The one sample of `metric` with `labels`; panics (showing the text) when there is not
/// exactly one.
pub(crate) fn sample(text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match samples(text, metric, labels).as_slice() {
        [value] => *value,
        other => panic!(
            "{} samples of {metric} with {labels:?}:\n{text}",
            other.len()
        ),
    }
}

/// The label names of every sample of `metric`.
pub(crate) fn label_names(text: &str, metric: &str) -> Vec<String> {
    exposition(text)
        .label_names(metric)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

pub(crate) fn wait_span(
    receiver: &Receiver,
    what: &str,
    pred: impl Fn(&ReceivedSpan) -> bool,
) -> ReceivedSpan {
    receiver
        .wait_for_span_blocking(pred, ARRIVAL)
        .unwrap_or_else(|e| {
            let names: Vec<String> = receiver
                .spans()
                .iter()
                .map(|s| format!("{} {:?}", s.name(), s.attrs()))
                .collect();
            panic!("{what}: {e}; received: {names:#?}")
        })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A TCP server that accepts connections and never answers nor closes them, for as long as it
/// lives.
pub(crate) struct SilentServer {
    pub(crate) port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentServer {
    pub(crate) fn start() -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .expect("the listener's address");
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The Redis to test against: `REDIS_URL`. Unset: a skip note, or a failure when `CI` is set.
pub(crate) fn redis_url(test: &str) -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: REDIS_URL must be set in CI");
            }
            eprintln!("SKIPPED {test}: set REDIS_URL (e.g. redis://127.0.0.1:6379) to run it");
            None
        }
    }
}

/// A key no other test run uses.
pub(crate) fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}:{}-{nanos}", std::process::id())
}

/// At least `count` received spans matching `pred`, waiting for them to arrive.
pub(crate) fn wait_spans(
    receiver: &Receiver,
    count: usize,
    pred: impl Fn(&ReceivedSpan) -> bool,
) -> Vec<ReceivedSpan> {
    let deadline = std::time::Instant::now() + ARRIVAL;
    loop {
        let found: Vec<ReceivedSpan> = receiver.spans().into_iter().filter(|s| pred(s)).collect();
        if found.len() >= count || std::time::Instant::now() > deadline {
            assert_eq!(found.len(), count, "matching spans");
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
