//! The service started in-process for tests: telemetry built with
//! `Telemetry::builder(..).build()` (nothing global) exporting to an `otelix_testkit::Receiver`,
//! the application on an ephemeral port of 127.0.0.1 (a real `HttpServer`, since the external
//! calls go out over HTTP to the same process's sandbox), and its backends:
//!
//! - embedded: SQLite in a temporary directory and the in-process cache;
//! - external: the PostgreSQL of `DATABASE_URL`, in a schema of its own made for the run
//!   (`search_path` set through the URL's `options`) and dropped afterwards, and the Redis of
//!   `REDIS_URL` with a cache key prefix of its own, so concurrent runs never meet.

// Not every test file uses every helper; a failed set-up step should fail loudly.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub(crate) mod pki;
pub(crate) mod prometheus;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix::{ConfigBuilder, Exporters, Telemetry};
use otelix_testkit::exposition::Exposition;
use otelix_testkit::{ReceivedSpan, Receiver};
use sqlx::{AssertSqlSafe, Connection as _};
use wwmaa_backend::{Application, Running, Settings, ShutdownTrigger};

/// A Prometheus text or OpenMetrics page, parsed; one that does not parse fails the test.
pub(crate) fn exposition(text: &str) -> Exposition {
    Exposition::parse(text)
        .unwrap_or_else(|e| panic!("the metrics page does not parse: {e}\n{text}"))
}

/// How long to wait for exported telemetry or a log line.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// Which databases and cache the service under test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backends {
    /// SQLite in a temporary directory and the in-process cache.
    Embedded,
    /// PostgreSQL (`DATABASE_URL`) and Redis (`REDIS_URL`).
    External,
}

/// A PostgreSQL schema made for one test run, dropped when this is dropped.
pub(crate) struct Schema {
    base_url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let url = self.base_url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop may run inside the test's runtime, which cannot be blocked on: use a thread
        // with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&url).await?;
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut connection)
                    .await?;
                connection.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}: {dropped:?}", self.name);
        }
    }
}

/// A schema of its own in the PostgreSQL of `base_url`, and the URL that uses it
/// (`search_path` set through the URL's `options`).
pub(crate) async fn postgres_schema(base_url: String) -> (String, Schema) {
    let name = unique_name("wwmaa_test");
    let mut connection = sqlx::PgConnection::connect(&base_url)
        .await
        .expect("DATABASE_URL accepts connections");
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&mut connection)
        .await
        .expect("test schema created");
    connection.close().await.expect("connection closed");
    let mut url = url::Url::parse(&base_url).expect("DATABASE_URL is a URL");
    url.query_pairs_mut()
        .append_pair("options", &format!("-c search_path={name}"));
    (url.to_string(), Schema { base_url, name })
}

/// A name no other run (of this or another process) uses.
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The external backends, when `DATABASE_URL` and `REDIS_URL` are set. Without them the
/// test is skipped with a note, except in CI (`CI=true`), where `.ci/run` always sets both.
pub(crate) fn external_urls() -> Option<(String, String)> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (var("DATABASE_URL"), var("REDIS_URL")) {
        (Some(db), Some(redis)) if db.starts_with("postgres") => Some((db, redis)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI must set DATABASE_URL=postgres://... and REDIS_URL=redis://... for this test"
            )
        }
        _ => {
            eprintln!("skipped: set DATABASE_URL=postgres://... and REDIS_URL=redis://... to run this test");
            None
        }
    }
}

/// The running service, its telemetry and what the test needs to look at both.
pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) receiver: Receiver,
    pub(crate) telemetry: Telemetry,
    pub(crate) client: reqwest::Client,
    pub(crate) slow_query_log: PathBuf,
    pub(crate) database_system: &'static str,
    /// The database URL the service uses (with the test schema for PostgreSQL).
    pub(crate) database_url: String,
    pub(crate) backends: Backends,
    running: Option<Running>,
    trigger: ShutdownTrigger,
    _schema: Option<Schema>,
    _dir: tempfile::TempDir,
}

/// Starts the service on `backends` with the test defaults, `vars` added to its settings and
/// `customize` applied to the telemetry configuration. `None` when the external backends
/// were asked for and are not configured.
pub(crate) async fn start(
    backends: Backends,
    vars: &[(&str, &str)],
    customize: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cache_prefix = unique_name("wwmaa_test");
    let (database_url, redis_url, schema, database_system) = match backends {
        Backends::Embedded => (
            format!("sqlite://{}", dir.path().join("wwmaa.db").display()),
            None,
            None,
            "sqlite",
        ),
        Backends::External => {
            let (base_url, redis_url) = external_urls()?;
            let (url, schema) = postgres_schema(base_url).await;
            (url, Some(redis_url), Some(schema), "postgresql")
        }
    };

    let receiver = Receiver::start().expect("receiver starts");
    let slow_query_log = dir.path().join("logs").join("slow_queries.log");
    let config = customize(
        otelix::Config::builder()
            .with_service_name("wwmaa-backend-test")
            .with_otlp_endpoint(receiver.grpc_endpoint())
            .with_traces_exporter(Exporters::OTLP)
            .with_metrics_exporter(Exporters::NONE)
            .with_logs_exporter(Exporters::NONE)
            .with_bsp_schedule_delay(Duration::from_millis(100))
            .with_slow_query_log_file(&slow_query_log)
            .with_rust_log("warn"),
    )
    .build_from_vars(Vec::<(String, String)>::new())
    .expect("test telemetry configuration is valid");
    let telemetry = Telemetry::builder(config)
        .with_log_writer(std::io::sink)
        .build()
        .expect("telemetry builds");

    let mut settings_vars: Vec<(String, String)> = vec![
        ("BIND_ADDR".into(), "127.0.0.1:0".into()),
        ("DATABASE_URL".into(), database_url.clone()),
        ("CACHE_KEY_PREFIX".into(), cache_prefix),
        ("SANDBOX_LATENCY_MS".into(), "5".into()),
        ("DUNNING_INTERVAL_SECONDS".into(), "3600".into()),
        ("DUNNING_BATCH_SIZE".into(), "10".into()),
    ];
    if let Some(redis_url) = redis_url {
        settings_vars.push(("REDIS_URL".into(), redis_url));
    }
    for (key, value) in vars {
        settings_vars.retain(|(k, _)| k != key);
        settings_vars.push(((*key).to_owned(), (*value).to_owned()));
    }
    let settings = Settings::from_vars(settings_vars).expect("test settings are valid");
    let application = Application::build(settings, telemetry.handle())
        .await
        .expect("the service starts");
    let running = application.start().expect("the server starts");
    let base = format!("http://{}", running.local_addr());
    let trigger = running.shutdown_trigger();
    Some(TestApp {
        base,
        receiver,
        telemetry,
        client: reqwest::Client::new(),
        slow_query_log,
        database_system,
        database_url,
        backends,
        running: Some(running),
        trigger,
        _schema: schema,
        _dir: dir,
    })
}

/// A response's status, `X-Request-ID` and body as JSON (`Null` when empty).
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) request_id: Option<String>,
    pub(crate) body: serde_json::Value,
}

/// Sends `request` and reads the reply.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the service answers");
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.expect("a body");
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    Reply {
        status,
        request_id,
        body,
    }
}

/// One request of [`send_every_kind`]: which one (`"METHOD /path"`) and its reply.
pub(crate) struct Sent {
    pub(crate) what: String,
    pub(crate) reply: Reply,
}

/// Requests that reach every instrument of the service: each route, a 404, a cache miss then
/// a hit, a write, the four external APIs (through the sandbox) and a heavy report. Each must
/// get the status it is sent for.
pub(crate) async fn send_every_kind(client: &reqwest::Client, base: &str) -> Vec<Sent> {
    let email = format!("{}@example.org", unique_name("every_kind"));
    let requests: Vec<(reqwest::Method, String, Option<serde_json::Value>, u16)> = vec![
        (reqwest::Method::GET, "/health".into(), None, 200),
        (
            reqwest::Method::GET,
            "/api/members?status=active".into(),
            None,
            200,
        ),
        (reqwest::Method::GET, "/api/members/1".into(), None, 200),
        (reqwest::Method::GET, "/api/members/1".into(), None, 200),
        (
            reqwest::Method::GET,
            "/api/members/999999".into(),
            None,
            404,
        ),
        (
            reqwest::Method::POST,
            "/api/members".into(),
            Some(serde_json::json!({"name": "Every Kind", "email": email})),
            201,
        ),
        (
            reqwest::Method::PATCH,
            "/api/members/2".into(),
            Some(serde_json::json!({"status": "active", "tier": "standard"})),
            200,
        ),
        (
            reqwest::Method::POST,
            "/api/payments".into(),
            Some(serde_json::json!({"member_id": 1, "amount_cents": 4500, "currency": "EUR"})),
            201,
        ),
        (
            reqwest::Method::POST,
            "/api/newsletter/subscribe".into(),
            Some(serde_json::json!({"email": email})),
            201,
        ),
        (
            reqwest::Method::POST,
            "/api/videos/upload-url".into(),
            Some(serde_json::json!({"name": "Grading", "max_duration_seconds": 600})),
            201,
        ),
        (
            reqwest::Method::POST,
            "/api/ai/classify".into(),
            Some(serde_json::json!({"text": "How do I pay my dues by card?"})),
            200,
        ),
        (
            reqwest::Method::GET,
            format!(
                "/api/reports/activity?window={}",
                wwmaa_backend::store::MAX_REPORT_WINDOW_DAYS
            ),
            None,
            200,
        ),
    ];
    let mut sent = Vec::with_capacity(requests.len());
    for (method, path, body, expected) in requests {
        let mut request = client.request(method.clone(), format!("{base}{path}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = send(request).await;
        let what = format!("{method} {path}");
        assert_eq!(reply.status, expected, "{what}: {}", reply.body);
        sent.push(Sent { what, reply });
    }
    sent
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        send(request).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub(crate) async fn post(&self, path: &str, body: serde_json::Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(&body))
            .await
    }

    pub(crate) async fn patch(&self, path: &str, body: serde_json::Value) -> Reply {
        self.send(self.client.patch(self.url(path)).json(&body))
            .await
    }

    /// The body of a GET as text (for `/metrics`).
    pub(crate) async fn get_text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the service answers")
            .text()
            .await
            .expect("a text body")
    }

    /// `/metrics`, scraped: its text (for failure messages) and the text parsed.
    pub(crate) async fn scrape(&self) -> (String, Exposition) {
        let text = self.get_text("/metrics").await;
        let page = exposition(&text);
        (text, page)
    }

    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.send(self.client.delete(self.url(path))).await
    }

    /// Every span of trace `trace_id`, once its root (the request's SERVER span) arrived.
    /// Children end, and so are exported, before their parents.
    pub(crate) async fn trace(&self, trace_id: &str) -> Trace {
        let id = trace_id.to_owned();
        let root = self
            .receiver
            .wait_for_span(
                move |s| s.trace_id() == id && s.parent_span_id().is_none(),
                WAIT,
            )
            .await
            .unwrap_or_else(|e| panic!("no root span for trace {trace_id}: {e}"));
        let spans = self
            .receiver
            .spans()
            .into_iter()
            .filter(|s| s.trace_id() == trace_id)
            .collect();
        Trace { root, spans }
    }

    pub(crate) fn trigger(&self) -> ShutdownTrigger {
        self.trigger.clone()
    }

    /// Graceful shutdown, the job's end, and a telemetry flush; the receiver stays for the
    /// test to look at.
    pub(crate) async fn stop(mut self) -> Receiver {
        self.trigger.graceful().await;
        if let Some(running) = self.running.take() {
            running.wait().await.expect("the server stopped cleanly");
        }
        self.telemetry.shutdown().expect("telemetry flushes");
        self.receiver
    }
}

/// The spans of one trace.
pub(crate) struct Trace {
    pub(crate) root: ReceivedSpan,
    pub(crate) spans: Vec<ReceivedSpan>,
}

impl Trace {
    /// The children of `parent`.
    pub(crate) fn children_of<'a>(&'a self, parent: &ReceivedSpan) -> Vec<&'a ReceivedSpan> {
        let id = parent.span_id();
        self.spans
            .iter()
            .filter(|s| s.parent_span_id().as_deref() == Some(id.as_str()))
            .collect()
    }

    /// The database CLIENT spans (those with `db.system.name` = `system`).
    pub(crate) fn db_spans(&self, system: &str) -> Vec<&ReceivedSpan> {
        self.spans
            .iter()
            .filter(|s| {
                s.kind() == SpanKind::Client
                    && s.attr_str("db.system.name").as_deref() == Some(system)
            })
            .collect()
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.spans.iter().map(|s| s.name().to_owned()).collect()
    }
}

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

/// Drops `table` from the SQLite database of `database_url`, behind the service's back.
pub(crate) async fn drop_sqlite_table(database_url: &str, table: &str) {
    let mut connection = sqlx::SqliteConnection::connect(database_url)
        .await
        .expect("the test database opens");
    sqlx::query(AssertSqlSafe(format!("DROP TABLE {table}")))
        .execute(&mut connection)
        .await
        .expect("table dropped");
    connection.close().await.expect("closed");
}

/// Whether the suites run against real peers: `OTELIX_INTEGRATION=1`, which
/// `scripts/integration.sh` sets. Otherwise the test says it is skipped, so that a plain
/// `cargo test` passes on a machine without the peers.
pub(crate) fn integration_enabled() -> bool {
    if std::env::var("OTELIX_INTEGRATION").as_deref() == Ok("1") {
        true
    } else {
        eprintln!("skipped: the integration suites run with scripts/integration.sh");
        false
    }
}

/// A variable `scripts/integration.sh` sets (a peer's binary, a backend's URL); a panic naming
/// it when it is missing or empty.
pub(crate) fn integration_var(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| panic!("{name} is not set: scripts/integration.sh sets it"))
}

/// `DATABASE_URL`, which must be PostgreSQL for the integration suites.
pub(crate) fn integration_database_url() -> String {
    let database_url = integration_var("DATABASE_URL");
    assert!(
        database_url.starts_with("postgres"),
        "DATABASE_URL must be PostgreSQL: {database_url}"
    );
    database_url
}

/// One passed check: a line `scripts/integration.sh` collects into its summary.
pub(crate) fn ok(check: &str) {
    println!("ok    {check}");
}

/// The OTLP transport a service exports over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Grpc,
    HttpProtobuf,
}

impl Protocol {
    /// The value of `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub(crate) fn otel_name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}
