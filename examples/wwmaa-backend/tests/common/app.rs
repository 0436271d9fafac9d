//! The service started in-process, with its telemetry exporting to a testkit receiver.

use std::path::PathBuf;
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix::{ConfigBuilder, Exporters, Telemetry};
use otelix_testkit::exposition::Exposition;
use otelix_testkit::{ReceivedSpan, Receiver};
use wwmaa_backend::{Application, Running, Settings, ShutdownTrigger};

use super::{
    exposition, external_urls, postgres_schema, send, unique_name, Backends, Reply, Schema, WAIT,
};

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
        client: super::http_client(),
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
