//! The example service in front of the real observability stack, all on 127.0.0.1:
//! `scripts/integration.sh` builds the peers and runs this file with `OTELIX_INTEGRATION=1`;
//! without it both tests say they are skipped, and with it a missing peer is a failure.
//!
//! - the service is the real binary (`wwmaa-backend`), configured by its environment only, on
//!   the machine's PostgreSQL and Redis (`DATABASE_URL`, `REDIS_URL`; a schema and a cache key
//!   prefix of the run's own), its resource attributes from `OTEL_RESOURCE_ATTRIBUTES`;
//! - it exports OTLP to the OpenTelemetry Collector (`OTELCOL`) running the project's
//!   `otel-collector.yaml` itself, only its listeners and its exporters' endpoints moved to
//!   loopback ports (and its batch timeout shortened) by the collector's own `--set`;
//! - the collector sends traces to Jaeger (`JAEGER`, `docs/observability/jaeger.yaml`,
//!   listeners moved through its `JAEGER_*` variables), metrics to its Prometheus exporter, and
//!   logs to VictoriaLogs (`VICTORIALOGS`);
//! - Prometheus (`PROMETHEUS`) runs the project's `prometheus.yml` adapted to loopback, scraping
//!   the service, the collector's exporter and the collector's own telemetry (no Alertmanager
//!   runs here: its job and the alerting section are left out);
//! - a second instance of the service (`OTEL_SERVICE_NAME=wwmaa-sandbox`, SQLite) serves the
//!   external APIs' sandbox: the first one's Stripe calls go to it, and its AI registry calls to
//!   a path of it that does not exist, so that one request fails.
//!
//! One run exports over OTLP/gRPC and checks, each on what the real backends answer:
//! the X-Request-ID of a payment is a trace in Jaeger's HTTP API with the SERVER span as root,
//! its PostgreSQL, Redis and Stripe CLIENT children, and the second service's SERVER span below
//! the Stripe call, with the services' names and resource attributes; a failing request's trace
//! has error status; the slow-query log's `trace_id` is a trace in Jaeger holding the slow
//! statement's span; the requests' log lines are in VictoriaLogs by their trace ID with their
//! span IDs, severities and messages; the collector's exporter and the service's `/metrics`
//! carry the same metric names; an exemplar of the latency histogram, read from Prometheus's
//! exemplar API, names a trace that Jaeger has; and the troubleshooting commands of
//! `docs/observability/README.md` for "No traces in Jaeger" and "No metrics in Prometheus" work
//! as written (only `localhost:<compose port>` replaced by the loopback address in use).
//! The other run exports over OTLP/HTTP-protobuf and checks the logs in VictoriaLogs and the
//! trace in Jaeger.
//!
//! Each check prints one `ok` line with its counts; a failure names what was expected, what
//! arrived and the tail of every peer's log.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::prometheus::{self as prom, PromApi};
use common::{loopback, ok, wait_listening, Process, Protocol, Reply, WAIT};

/// The service's name in the stack, and the second instance's.
const SERVICE: &str = "wwmaa-backend";
const SANDBOX: &str = "wwmaa-sandbox";
/// `deployment.environment.name`, set through `OTEL_RESOURCE_ATTRIBUTES` as docker-compose.yml
/// does (it wins over the one the service derives from `APP_ENV`).
const ENVIRONMENT: &str = "stack-test";
/// The page whose troubleshooting commands the gRPC run executes.
const TROUBLESHOOTING: &str = "docs/observability/README.md";

#[actix_web::test]
async fn the_real_stack_over_grpc() {
    let Some(peers) = Peers::from_env() else {
        return;
    };
    let stack = Stack::start(&peers, Protocol::Grpc).await;
    let traffic = stack.send_traffic().await;
    stack.check_payment_trace(&traffic).await;
    stack.check_failing_trace(&traffic).await;
    stack.check_slow_query(&traffic).await;
    stack.check_logs(&traffic).await;
    stack.check_metric_names().await;
    stack.check_prometheus(&traffic).await;
    stack.check_troubleshooting().await;
    stack.check_readme_walkthrough().await;
}

#[actix_web::test]
async fn the_real_stack_over_http_protobuf() {
    let Some(peers) = Peers::from_env() else {
        return;
    };
    let stack = Stack::start(&peers, Protocol::HttpProtobuf).await;
    let traffic = stack.send_traffic().await;
    stack.check_payment_trace(&traffic).await;
    stack.check_logs(&traffic).await;
}

/// Where the peers' binaries are, and the backends.
struct Peers {
    otelcol: PathBuf,
    jaeger: PathBuf,
    prometheus: PathBuf,
    victorialogs: PathBuf,
    database_url: String,
    redis_url: String,
}

impl Peers {
    fn from_env() -> Option<Peers> {
        if !common::integration_enabled() {
            return None;
        }
        let var = common::integration_var;
        Some(Peers {
            otelcol: var("OTELCOL").into(),
            jaeger: var("JAEGER").into(),
            prometheus: var("PROMETHEUS").into(),
            victorialogs: var("VICTORIALOGS").into(),
            database_url: common::integration_database_url(),
            redis_url: var("REDIS_URL"),
        })
    }
}

/// The collector's listeners.
struct CollectorAddrs {
    grpc: SocketAddr,
    http: SocketAddr,
    exporter: SocketAddr,
    telemetry: SocketAddr,
    health: SocketAddr,
}

/// One run: the peers, the two services, and what the checks need to reach them. Fields drop
/// in order: the services stop before the collector and backends, the schema and the files go
/// last.
struct Stack {
    protocol: Protocol,
    service: Process,
    service_addr: SocketAddr,
    service_instance: String,
    sandbox: Process,
    sandbox_instance: String,
    prometheus: Option<(Process, SocketAddr)>,
    collector: Process,
    collector_addrs: CollectorAddrs,
    jaeger: Process,
    jaeger_query: SocketAddr,
    victorialogs: Process,
    victorialogs_addr: SocketAddr,
    client: reqwest::Client,
    slow_query_log: PathBuf,
    started: f64,
    _schema: common::Schema,
    _dir: tempfile::TempDir,
}

/// The requests the checks look at: their X-Request-IDs.
struct Traffic {
    /// `POST /api/payments`: PostgreSQL, Stripe (the second service), a Redis invalidation.
    payment: String,
    /// `POST /api/ai/classify`, failing with 502: the AI registry path is missing.
    failing: String,
    /// `GET /api/reports/activity`: a slow query.
    report: String,
    /// `POST /api/members`: a log line.
    created: String,
    /// Every traced request's ID.
    all: Vec<String>,
}

impl Stack {
    async fn start(peers: &Peers, protocol: Protocol) -> Stack {
        println!("\n== stack run over {} ==", protocol.otel_name());
        let started = unix_now();
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = workspace_root();

        // Jaeger v2 with the project's jaeger.yaml; its listeners come from its variables.
        let jaeger_otlp = loopback();
        let jaeger_query = loopback();
        let jaeger_health = loopback();
        let mut jaeger = Process::spawn(
            "jaeger",
            dir.path(),
            Command::new(&peers.jaeger)
                .arg(format!(
                    "--config={}",
                    root.join("docs/observability/jaeger.yaml").display()
                ))
                .env("JAEGER_OTLP_GRPC_ENDPOINT", jaeger_otlp.to_string())
                .env("JAEGER_OTLP_HTTP_ENDPOINT", loopback().to_string())
                .env("JAEGER_QUERY_HTTP_ENDPOINT", jaeger_query.to_string())
                .env("JAEGER_QUERY_GRPC_ENDPOINT", loopback().to_string())
                .env("JAEGER_HEALTH_ENDPOINT", jaeger_health.to_string())
                .env("JAEGER_METRICS_HOST", "127.0.0.1")
                .env("JAEGER_METRICS_PORT", loopback().port().to_string())
                // Jaeger's query service traces itself to OTLP on localhost:4317, which in
                // the compose container is its own receiver; here that is its loopback port.
                .env(
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    format!("http://{jaeger_otlp}"),
                ),
        );

        // VictoriaLogs, its data in the run's directory.
        let victorialogs_addr = loopback();
        let mut victorialogs = Process::spawn(
            "victorialogs",
            dir.path(),
            Command::new(&peers.victorialogs)
                .arg(format!("-httpListenAddr={victorialogs_addr}"))
                .arg(format!(
                    "-storageDataPath={}",
                    dir.path().join("victorialogs").display()
                )),
        );
        wait_listening(&mut jaeger, jaeger_otlp);
        wait_listening(&mut jaeger, jaeger_query);
        wait_listening(&mut victorialogs, victorialogs_addr);

        // The collector: otel-collector.yaml itself, every address moved to loopback by its
        // own --set, and the batch timeout shortened from 5 s so that a run takes seconds.
        let collector_addrs = CollectorAddrs {
            grpc: loopback(),
            http: loopback(),
            exporter: loopback(),
            telemetry: loopback(),
            health: loopback(),
        };
        let a = &collector_addrs;
        let mut collector = Process::spawn(
            "otelcol",
            dir.path(),
            Command::new(&peers.otelcol)
                .arg(format!(
                    "--config={}",
                    root.join("otel-collector.yaml").display()
                ))
                .arg(format!(
                    "--set=receivers::otlp::protocols::grpc::endpoint={}",
                    a.grpc
                ))
                .arg(format!(
                    "--set=receivers::otlp::protocols::http::endpoint={}",
                    a.http
                ))
                .arg("--set=processors::batch::timeout=200ms")
                .arg(format!(
                    "--set=exporters::otlp_grpc/jaeger::endpoint={jaeger_otlp}"
                ))
                .arg(format!("--set=exporters::prometheus::endpoint={}", a.exporter))
                .arg(format!(
                    "--set=exporters::otlp_http/victorialogs::endpoint=http://{victorialogs_addr}/insert/opentelemetry"
                ))
                .arg(format!(
                    "--set=extensions::health_check::endpoint={}",
                    a.health
                ))
                .arg(format!(
                    "--set=service::telemetry::metrics::readers=[{{pull: {{exporter: {{prometheus: {{host: '127.0.0.1', port: {}}}}}}}}}]",
                    a.telemetry.port()
                )),
        );
        for addr in [a.grpc, a.http, a.exporter, a.telemetry, a.health] {
            wait_listening(&mut collector, addr);
        }
        let endpoint = match protocol {
            Protocol::Grpc => format!("http://{}", a.grpc),
            Protocol::HttpProtobuf => format!("http://{}", a.http),
        };

        // Each service's resource gets a service.instance.id, as in Kubernetes
        // (docs/deployment/kubernetes): the collector's exporter maps it to `instance` and
        // makes `target_info` of it.
        let service_instance = common::unique_name(SERVICE);
        let sandbox_instance = common::unique_name(SANDBOX);

        // The second service: the sandbox of the external APIs, on SQLite, exporting to the
        // same collector under a name of its own.
        let sandbox_addr = loopback();
        let mut sandbox = Process::spawn(
            "wwmaa-sandbox",
            dir.path(),
            common::service_command(
                sandbox_addr,
                &format!("sqlite://{}", dir.path().join("sandbox.db").display()),
                &endpoint,
                protocol.otel_name(),
                &dir.path().join("sandbox_slow_queries.log"),
            )
            .env("OTEL_SERVICE_NAME", SANDBOX)
            .env(
                "OTEL_RESOURCE_ATTRIBUTES",
                format!("service.instance.id={sandbox_instance}"),
            )
            .env("SANDBOX_LATENCY_MS", "5")
            .env("DUNNING_INTERVAL_SECONDS", "3600"),
        );

        // The service under test, on PostgreSQL and Redis.
        let (database_url, schema) = common::postgres_schema(peers.database_url.clone()).await;
        let service_addr = loopback();
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
            .env("OTEL_SERVICE_NAME", SERVICE)
            .env(
                "OTEL_RESOURCE_ATTRIBUTES",
                format!(
                    "service.instance.id={service_instance},deployment.environment.name={ENVIRONMENT}"
                ),
            )
            .env("REDIS_URL", &peers.redis_url)
            .env("CACHE_KEY_PREFIX", common::unique_name("stack"))
            .env(
                "STRIPE_API_BASE",
                format!("http://{sandbox_addr}/sandbox/stripe"),
            )
            // A path the second service does not serve: its 404 makes the call, and so the
            // request, fail.
            .env(
                "AI_REGISTRY_API_BASE",
                format!("http://{sandbox_addr}/sandbox/missing"),
            )
            .env("SANDBOX_LATENCY_MS", "5")
            .env("DUNNING_INTERVAL_SECONDS", "3600")
            // The largest report takes hundreds of milliseconds on PostgreSQL.
            .env("SLOW_QUERY_THRESHOLD_SECONDS", "0.02"),
        );
        wait_listening(&mut sandbox, sandbox_addr);
        wait_listening(&mut service, service_addr);

        // Prometheus, scraping while the traffic runs (the gRPC run only).
        let prometheus = (protocol == Protocol::Grpc).then(|| {
            let addr = loopback();
            let process = prom::spawn(
                &peers.prometheus,
                dir.path(),
                &prom::Targets {
                    prometheus: addr,
                    service: service_addr,
                    alertmanager: None,
                    collector: Some(prom::CollectorTargets {
                        exporter: collector_addrs.exporter,
                        telemetry: collector_addrs.telemetry,
                    }),
                },
            );
            (process, addr)
        });

        let stack = Stack {
            protocol,
            service,
            service_addr,
            service_instance,
            sandbox,
            sandbox_instance,
            prometheus,
            collector,
            collector_addrs,
            jaeger,
            jaeger_query,
            victorialogs,
            victorialogs_addr,
            client: reqwest::Client::new(),
            slow_query_log,
            started,
            _schema: schema,
            _dir: dir,
        };
        ok(&format!(
            "stack up: {SERVICE} on {service_addr} (PostgreSQL, Redis) and {SANDBOX} on {sandbox_addr}, OTLP {} to the collector on {endpoint}; Jaeger on {jaeger_query}, VictoriaLogs on {victorialogs_addr}{}",
            protocol.otel_name(),
            stack
                .prometheus
                .as_ref()
                .map(|(_, addr)| format!(", Prometheus on {addr}"))
                .unwrap_or_default()
        ));
        stack
    }

    /// What every peer said last, for a failure message.
    fn tails(&self) -> String {
        let mut out = vec![
            self.service.tail(),
            self.sandbox.tail(),
            self.collector.tail(),
            self.jaeger.tail(),
            self.victorialogs.tail(),
        ];
        if let Some((prometheus, _)) = &self.prometheus {
            out.push(prometheus.tail());
        }
        out.join("\n")
    }

    fn failure(&self, what: &str) -> String {
        format!("{what}\n{}", self.tails())
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.service_addr)
    }

    /// Sends a request that must be answered with `status`; returns its X-Request-ID.
    async fn expect(&self, request: reqwest::RequestBuilder, what: &str, status: u16) -> String {
        let reply: Reply = common::send(request).await;
        assert_eq!(
            reply.status,
            status,
            "{}",
            self.failure(&format!("{what}: {}", reply.body))
        );
        let id = reply
            .request_id
            .unwrap_or_else(|| panic!("{what}: no X-Request-ID"));
        assert!(
            id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{what}: X-Request-ID {id} is not 32 lowercase hex"
        );
        id
    }

    async fn send_traffic(&self) -> Traffic {
        let mut all = Vec::new();
        let email = format!("{}@example.org", common::unique_name("stack"));
        for path in [
            "/api/members/1",
            "/api/members/1",
            "/api/members?status=active",
        ] {
            all.push(
                self.expect(self.client.get(self.url(path)), &format!("GET {path}"), 200)
                    .await,
            );
        }
        let created = self
            .expect(
                self.client
                    .post(self.url("/api/members"))
                    .json(&serde_json::json!({"name": "Stack Test", "email": email})),
                "POST /api/members",
                201,
            )
            .await;
        let payment = self
            .expect(
                self.client.post(self.url("/api/payments")).json(
                    &serde_json::json!({"member_id": 1, "amount_cents": 4500, "currency": "EUR"}),
                ),
                "POST /api/payments",
                201,
            )
            .await;
        let failing = self
            .expect(
                self.client
                    .post(self.url("/api/ai/classify"))
                    .json(&serde_json::json!({"text": "How do I pay my dues by card?"})),
                "POST /api/ai/classify (the AI registry path is missing)",
                502,
            )
            .await;
        let report = self
            .expect(
                self.client.get(self.url(&format!(
                    "/api/reports/activity?window={}",
                    wwmaa_backend::store::MAX_REPORT_WINDOW_DAYS
                ))),
                "GET /api/reports/activity",
                200,
            )
            .await;
        all.extend([
            created.clone(),
            payment.clone(),
            failing.clone(),
            report.clone(),
        ]);
        ok(&format!(
            "{} requests answered as expected (one 502 on purpose), each X-Request-ID 32 lowercase hex",
            all.len()
        ));
        Traffic {
            payment,
            failing,
            report,
            created,
            all,
        }
    }

    fn jaeger(&self) -> Jaeger {
        Jaeger {
            base: format!("http://{}", self.jaeger_query),
            client: self.client.clone(),
        }
    }

    /// The trace `id` from Jaeger once `complete` holds for it; a failure with what Jaeger
    /// returned otherwise.
    async fn trace_until(
        &self,
        id: &str,
        what: &str,
        complete: impl Fn(&JaegerTrace) -> Result<(), String>,
    ) -> JaegerTrace {
        match self.jaeger().wait_for(id, complete).await {
            Ok(trace) => trace,
            Err((problem, trace)) => panic!(
                "{}",
                self.failure(&format!(
                    "{what}: Jaeger's trace {id} is not what was expected: {problem}\nJaeger returned:\n{}",
                    trace.describe()
                ))
            ),
        }
    }

    /// The payment's trace in Jaeger: the SERVER span as root, its PostgreSQL, Redis and
    /// Stripe CLIENT children, the second service's SERVER span below the Stripe call.
    async fn check_payment_trace(&self, traffic: &Traffic) {
        let trace = self
            .trace_until(&traffic.payment, "POST /api/payments", |trace| {
                let root = trace.root()?;
                expect_eq(root.kind(), Some("server"), "the root's span.kind")?;
                expect_eq(
                    Some(root.service.as_str()),
                    Some(SERVICE),
                    "the root's service",
                )?;
                expect_eq(
                    Some(root.name.as_str()),
                    Some("POST /api/payments"),
                    "the root's name",
                )?;
                expect_eq(
                    root.tag("http.response.status_code").as_deref(),
                    Some("201"),
                    "the root's http.response.status_code",
                )?;
                for (key, value) in [
                    ("service.instance.id", self.service_instance.as_str()),
                    ("service.version", env!("CARGO_PKG_VERSION")),
                    ("deployment.environment.name", ENVIRONMENT),
                ] {
                    expect_eq(
                        root.resource(key).as_deref(),
                        Some(value),
                        &format!("the root's resource attribute {key}"),
                    )?;
                }
                let children = trace.children_of(root);
                let client = |system: &str| {
                    children
                        .iter()
                        .find(|s| {
                            s.kind() == Some("client")
                                && s.tag("db.system.name").as_deref() == Some(system)
                        })
                        .ok_or(format!("no {system} CLIENT span under the root"))
                };
                client("postgresql")?;
                client("redis")?;
                let stripe = children
                    .iter()
                    .find(|s| {
                        s.kind() == Some("client")
                            && s.tag("service.peer.name").as_deref() == Some("stripe")
                    })
                    .ok_or("no stripe CLIENT span under the root")?;
                let far = trace
                    .children_of(stripe)
                    .into_iter()
                    .find(|s| s.kind() == Some("server"))
                    .ok_or("no SERVER span under the stripe CLIENT span")?;
                expect_eq(
                    Some(far.service.as_str()),
                    Some(SANDBOX),
                    "the far side's service",
                )?;
                expect_eq(
                    far.resource("service.instance.id").as_deref(),
                    Some(self.sandbox_instance.as_str()),
                    "the far side's resource attribute service.instance.id",
                )?;
                Ok(())
            })
            .await;
        let root = trace.root().expect("checked");
        let children = trace.children_of(root);
        let far = trace
            .spans
            .iter()
            .find(|s| s.service == SANDBOX)
            .expect("checked");
        ok(&format!(
            "Jaeger (OTLP {}): X-Request-ID {} is a trace of {} spans: root {:?} ({SERVICE}, SERVER) with {} children ({}), and {:?} of {SANDBOX} below the Stripe call; resource attributes service.instance.id (each service's own), service.version, deployment.environment.name={ENVIRONMENT}",
            self.protocol.otel_name(),
            traffic.payment,
            trace.spans.len(),
            root.name,
            children.len(),
            children
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            far.name,
        ));
    }

    /// A failing request's trace: error status on the SERVER span and on the call that failed.
    async fn check_failing_trace(&self, traffic: &Traffic) {
        let trace = self
            .trace_until(&traffic.failing, "POST /api/ai/classify", |trace| {
                let root = trace.root()?;
                expect_eq(
                    root.tag("http.response.status_code").as_deref(),
                    Some("502"),
                    "the root's http.response.status_code",
                )?;
                expect_eq(
                    root.tag("otel.status_code").as_deref(),
                    Some("ERROR"),
                    "the root's otel.status_code",
                )?;
                expect_eq(
                    root.tag("error").as_deref(),
                    Some("true"),
                    "the root's error tag",
                )?;
                expect_eq(
                    root.tag("error.type").as_deref(),
                    Some("502"),
                    "the root's error.type",
                )?;
                let call = trace
                    .children_of(root)
                    .into_iter()
                    .find(|s| s.tag("service.peer.name").as_deref() == Some("ai_registry"))
                    .ok_or("no ai_registry CLIENT span under the root")?;
                expect_eq(
                    call.tag("otel.status_code").as_deref(),
                    Some("ERROR"),
                    "the ai_registry call's otel.status_code",
                )?;
                let far = trace
                    .children_of(call)
                    .into_iter()
                    .find(|s| s.service == SANDBOX && s.kind() == Some("server"))
                    .ok_or("no SERVER span of the second service under the call")?;
                expect_eq(
                    far.tag("http.response.status_code").as_deref(),
                    Some("404"),
                    "the far side's http.response.status_code",
                )?;
                Ok(())
            })
            .await;
        let root = trace.root().expect("checked");
        ok(&format!(
            "Jaeger: the failing request's trace ({} spans) has otel.status_code=ERROR, error.type=502 on its root {:?}, the failed ai_registry call under it and {SANDBOX}'s 404 below that",
            trace.spans.len(),
            root.name
        ));
    }

    /// The slow-query log's record of the report: its trace is in Jaeger with its span.
    async fn check_slow_query(&self, traffic: &Traffic) {
        let deadline = Instant::now() + WAIT;
        let record = loop {
            let text = std::fs::read_to_string(&self.slow_query_log).unwrap_or_default();
            let found = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| l["trace_id"] == traffic.report.as_str() && l["kind"] == "slow_query");
            if let Some(record) = found {
                break record;
            }
            assert!(
                Instant::now() < deadline,
                "{}",
                self.failure(&format!(
                    "no slow_query record with trace_id {} in {}:\n{text}",
                    traffic.report,
                    self.slow_query_log.display()
                ))
            );
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        };
        let trace_id = record["trace_id"].as_str().expect("a trace_id").to_owned();
        let span_id = record["span_id"].as_str().expect("a span_id").to_owned();
        let query = record["query"].as_str().expect("a query").to_owned();
        assert_eq!(record["db_system"], "postgresql", "{record}");
        let trace = self
            .trace_until(&trace_id, "the slow-query record's trace", |trace| {
                let span = trace
                    .spans
                    .iter()
                    .find(|s| s.span_id == span_id)
                    .ok_or(format!("no span {span_id}"))?;
                expect_eq(span.kind(), Some("client"), "the span's span.kind")?;
                expect_eq(
                    span.tag("db.system.name").as_deref(),
                    Some("postgresql"),
                    "the span's db.system.name",
                )?;
                expect_eq(
                    span.tag("db.query.text").as_deref(),
                    Some(query.as_str()),
                    "the span's db.query.text (the record's query)",
                )?;
                Ok(())
            })
            .await;
        let span = trace
            .spans
            .iter()
            .find(|s| s.span_id == span_id)
            .expect("checked");
        ok(&format!(
            "slow-query record ({} ms) -> Jaeger trace {trace_id} ({} spans) holds its span {span_id} {:?} with the same db.query.text",
            record["duration_ms"],
            trace.spans.len(),
            span.name
        ));
    }

    /// Each traced request's log lines (the service's JSON stdout, which carries the same
    /// records as OTLP) are in VictoriaLogs by their trace ID, with span ID, severity and
    /// message.
    async fn check_logs(&self, traffic: &Traffic) {
        let mut checked = 0;
        let mut requests = 0;
        for id in [&traffic.created, &traffic.payment, &traffic.failing] {
            let expected = self.stdout_logs(id);
            assert!(
                !expected.is_empty(),
                "{}",
                self.failure(&format!("no stdout log line with trace_id {id}"))
            );
            let deadline = Instant::now() + WAIT;
            loop {
                let found = self.victorialogs(&format!("trace_id:\"{id}\"")).await;
                let missing: Vec<&LogLine> = expected
                    .iter()
                    .filter(|line| !found.iter().any(|record| line.matches(record)))
                    .collect();
                if missing.is_empty() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{}",
                    self.failure(&format!(
                        "VictoriaLogs lacks log lines of trace {id}:\n  missing: {missing:?}\n  VictoriaLogs returned: {found:#?}"
                    ))
                );
                actix_web::rt::time::sleep(Duration::from_millis(250)).await;
            }
            checked += expected.len();
            requests += 1;
        }
        ok(&format!(
            "VictoriaLogs (OTLP {} via the collector): {checked} log lines of {requests} requests found by trace_id, each with its span_id, severity_text and severity_number, _msg and service.name (levels {})",
            self.protocol.otel_name(),
            {
                let levels: BTreeSet<String> = [&traffic.created, &traffic.payment, &traffic.failing]
                    .iter()
                    .flat_map(|id| self.stdout_logs(id))
                    .map(|l| l.level)
                    .collect();
                levels.into_iter().collect::<Vec<_>>().join(", ")
            }
        ));
    }

    /// The service's JSON log lines on stdout with `trace_id` = `id`.
    fn stdout_logs(&self, id: &str) -> Vec<LogLine> {
        self.service
            .output()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["trace_id"] == id)
            .map(|l| LogLine {
                span_id: l["span_id"].as_str().map(str::to_owned),
                level: l["level"].as_str().unwrap_or_default().to_owned(),
                message: l["message"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The records a LogsQL query finds in VictoriaLogs.
    async fn victorialogs(&self, query: &str) -> Vec<serde_json::Value> {
        let url = url::Url::parse_with_params(
            &format!("http://{}/select/logsql/query", self.victorialogs_addr),
            [("query", query)],
        )
        .expect("a query URL");
        let response = self
            .client
            .get(url)
            .send()
            .await
            .expect("VictoriaLogs answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        assert!(
            status.is_success(),
            "{}",
            self.failure(&format!("VictoriaLogs query {query}: {status}: {text}"))
        );
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a JSON line from VictoriaLogs"))
            .collect()
    }

    /// The collector's Prometheus exporter carries the same metric names for the service as
    /// the service's own `/metrics`.
    async fn check_metric_names(&self) {
        let deadline = Instant::now() + WAIT;
        let (own, through) = loop {
            let own = sample_names(&self.get_text(&self.url("/metrics")).await, None);
            let through = sample_names(
                &self
                    .get_text(&format!("http://{}/metrics", self.collector_addrs.exporter))
                    .await,
                Some(SERVICE),
            );
            // The last OTLP export may lag behind the scrape: wait for it.
            if own == through || Instant::now() > deadline {
                break (own, through);
            }
            actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        };
        let only_own: Vec<&String> = own.difference(&through).collect();
        let only_through: Vec<&String> = through.difference(&own).collect();
        assert!(
            only_own.is_empty() && only_through.is_empty() && own.len() > 10,
            "{}",
            self.failure(&format!(
                "metric names differ between the service's /metrics and the collector's exporter (job {SERVICE}):\n  only in /metrics: {only_own:?}\n  only in the collector's exporter: {only_through:?}\n  /metrics has {} names",
                own.len()
            ))
        );
        ok(&format!(
            "the collector's Prometheus exporter and the service's /metrics carry the same {} metric names for job {SERVICE}",
            own.len()
        ));
    }

    async fn get_text(&self, url: &str) -> String {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", self.failure(&format!("GET {url}: {e}"))));
        assert!(
            response.status().is_success(),
            "{}",
            self.failure(&format!("GET {url}: {}", response.status()))
        );
        response.text().await.expect("a text body")
    }

    /// Prometheus scrapes the service and, through the collector's exporter, the second
    /// service; an exemplar of the latency histogram names a trace that Jaeger has.
    async fn check_prometheus(&self, traffic: &Traffic) {
        let (_, addr) = self
            .prometheus
            .as_ref()
            .expect("the gRPC run has Prometheus");
        let api = PromApi {
            base: format!("http://{addr}"),
            client: self.client.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let (trace_ids, body) = loop {
            let (trace_ids, body) = api
                .exemplar_trace_ids(
                    &format!("http_server_request_duration_seconds_bucket{{job=\"{SERVICE}\"}}"),
                    self.started - 60.0,
                    unix_now() + 60.0,
                )
                .await;
            let scraped = api
                .query(&format!(
                    "http_server_request_duration_seconds_count{{job=\"{SANDBOX}\"}}"
                ))
                .await;
            if !trace_ids.is_empty() && scraped.as_array().is_some_and(|s| !s.is_empty()) {
                break (trace_ids, body);
            }
            assert!(
                Instant::now() < deadline,
                "{}",
                self.failure(&format!(
                    "Prometheus has no exemplars of {SERVICE}'s request histogram, or no {SANDBOX} series from the collector's exporter:\n  exemplars: {body}\n  {SANDBOX}: {scraped}"
                ))
            );
            actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        };
        let buckets = body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["seriesLabels"]["le"].is_string())
            .count();
        assert!(buckets > 0, "exemplars not on bucket series: {body}");
        let distinct: BTreeSet<&String> = trace_ids.iter().collect();
        for id in &distinct {
            self.trace_until(id, "an exemplar's trace", |trace| {
                trace
                    .spans
                    .iter()
                    .find(|s| s.service == SERVICE && s.kind() == Some("server"))
                    .map(|_| ())
                    .ok_or(format!("no SERVER span of {SERVICE}"))
            })
            .await;
        }
        let ours = distinct
            .iter()
            .filter(|id| traffic.all.contains(id))
            .count();
        ok(&format!(
            "Prometheus: {} exemplars on {buckets} http_server_request_duration_seconds_bucket series of job {SERVICE} name {} traces, every one in Jaeger ({ours} of them this test's requests); {SANDBOX}'s series arrive through the collector's exporter",
            trace_ids.len(),
            distinct.len()
        ));
    }

    /// The troubleshooting blocks of docs/observability/README.md, run as written against this
    /// stack.
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
    async fn check_readme_walkthrough(&self) {
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

    async fn check_troubleshooting(&self) {
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

/// `Err` naming what differs when `actual` is not `expected`.
fn expect_eq(actual: Option<&str>, expected: Option<&str>, what: &str) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what} is {actual:?}, expected {expected:?}"))
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

/// A JSON log line of the service's stdout.
#[derive(Debug)]
struct LogLine {
    /// None for a line outside any span (an N+1 report is written once its parent ended).
    span_id: Option<String>,
    level: String,
    message: String,
}

impl LogLine {
    /// Whether a VictoriaLogs record is this line of the service: same span ID, severity
    /// (`severity_text`, and the `severity_number` of that level) and message (`_msg`). The
    /// field names are those VictoriaLogs gives an OTLP log record (`trace_id`, `span_id`,
    /// `severity_text`, `severity_number`, `_msg`, resource attributes by name).
    fn matches(&self, record: &serde_json::Value) -> bool {
        let number = match self.level.as_str() {
            "TRACE" => "1",
            "DEBUG" => "5",
            "INFO" => "9",
            "WARN" => "13",
            "ERROR" => "17",
            _ => "?",
        };
        record["span_id"].as_str().filter(|s| !s.is_empty()) == self.span_id.as_deref()
            && record["severity_text"] == self.level.as_str()
            && record["severity_number"] == number
            && record["_msg"] == self.message.as_str()
            && record["service.name"] == SERVICE
    }
}

/// The sample names of a Prometheus text exposition (`_bucket`, `_count`, `_total` ...),
/// only of the series whose `job` label is `job` when one is given.
fn sample_names(text: &str, job: Option<&str>) -> BTreeSet<String> {
    common::exposition(text)
        .samples()
        .filter(|sample| job.is_none_or(|job| sample.label("job") == Some(job)))
        .map(|sample| sample.name().to_owned())
        .collect()
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

/// Jaeger's HTTP query API (`/api/traces/<trace-id>`, the one its UI reads).
struct Jaeger {
    base: String,
    client: reqwest::Client,
}

impl Jaeger {
    /// The trace `id` as Jaeger returns it now; no spans when it has none.
    async fn trace(&self, id: &str) -> JaegerTrace {
        let response = self
            .client
            .get(format!("{}/api/traces/{id}", self.base))
            .send()
            .await
            .expect("Jaeger answers");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("JSON from Jaeger");
        if status == reqwest::StatusCode::NOT_FOUND {
            return JaegerTrace {
                spans: Vec::new(),
                raw: body,
            };
        }
        assert!(status.is_success(), "Jaeger: {status}: {body}");
        JaegerTrace::parse(body)
    }

    /// Polls trace `id` until `complete` accepts it, for up to [`WAIT`]: spans reach Jaeger in
    /// batches, a service's at a time. Otherwise the last problem and trace.
    async fn wait_for(
        &self,
        id: &str,
        complete: impl Fn(&JaegerTrace) -> Result<(), String>,
    ) -> Result<JaegerTrace, (String, JaegerTrace)> {
        let deadline = Instant::now() + WAIT;
        loop {
            let trace = self.trace(id).await;
            let problem = if trace.spans.is_empty() {
                "Jaeger has no such trace".to_owned()
            } else {
                match complete(&trace) {
                    Ok(()) => return Ok(trace),
                    Err(problem) => problem,
                }
            };
            if Instant::now() > deadline {
                return Err((problem, trace));
            }
            actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A trace from Jaeger's API.
struct JaegerTrace {
    spans: Vec<JaegerSpan>,
    raw: serde_json::Value,
}

/// One span of a [`JaegerTrace`]: its tags (span attributes, `span.kind`, `otel.status_code`,
/// `error`) and its process's (the resource).
struct JaegerSpan {
    span_id: String,
    parent: Option<String>,
    name: String,
    service: String,
    tags: BTreeMap<String, String>,
    resource: BTreeMap<String, String>,
}

impl JaegerSpan {
    fn tag(&self, key: &str) -> Option<String> {
        self.tags.get(key).cloned()
    }

    fn resource(&self, key: &str) -> Option<String> {
        self.resource.get(key).cloned()
    }

    fn kind(&self) -> Option<&str> {
        self.tags.get("span.kind").map(String::as_str)
    }
}

/// Jaeger's tags as `key -> value` text (numbers and booleans as JSON prints them).
fn tags(list: &serde_json::Value) -> BTreeMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|tag| {
            let key = tag["key"].as_str()?.to_owned();
            let value = match &tag["value"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((key, value))
        })
        .collect()
}

impl JaegerTrace {
    fn parse(raw: serde_json::Value) -> JaegerTrace {
        let data = &raw["data"][0];
        let spans = data["spans"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|span| {
                let process = &data["processes"][span["processID"].as_str().unwrap_or_default()];
                JaegerSpan {
                    span_id: span["spanID"].as_str().unwrap_or_default().to_owned(),
                    parent: span["references"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|r| r["refType"] == "CHILD_OF")
                        .and_then(|r| r["spanID"].as_str())
                        .map(str::to_owned),
                    name: span["operationName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    service: process["serviceName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    tags: tags(&span["tags"]),
                    resource: tags(&process["tags"]),
                }
            })
            .collect();
        JaegerTrace { spans, raw }
    }

    /// The span without a parent; `Err` unless there is exactly one.
    fn root(&self) -> Result<&JaegerSpan, String> {
        let roots: Vec<&JaegerSpan> = self.spans.iter().filter(|s| s.parent.is_none()).collect();
        match roots.as_slice() {
            [root] => Ok(root),
            _ => Err(format!(
                "{} spans without a parent, expected one",
                roots.len()
            )),
        }
    }

    fn children_of(&self, parent: &JaegerSpan) -> Vec<&JaegerSpan> {
        self.spans
            .iter()
            .filter(|s| s.parent.as_deref() == Some(parent.span_id.as_str()))
            .collect()
    }

    /// One line per span (service, kind, name, parent), or the raw answer when it has none.
    fn describe(&self) -> String {
        if self.spans.is_empty() {
            return self.raw.to_string();
        }
        self.spans
            .iter()
            .map(|s| {
                format!(
                    "  {} {} {:?} {:?} span {} parent {:?} tags {:?}",
                    s.service,
                    s.kind().unwrap_or("?"),
                    s.name,
                    s.tag("otel.status_code"),
                    s.span_id,
                    s.parent,
                    s.tags
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[test]
fn sample_names_filter_by_job() {
    let text = "# TYPE a counter\na_total{job=\"x\",le=\"1\"} 1\nb{job=\"y\"} 2\nc 3\nd{x=\"a\\\"job=\\\"x\",job=\"x\"} 4\n";
    assert_eq!(
        sample_names(text, Some("x")),
        BTreeSet::from(["a_total".to_owned(), "d".to_owned()])
    );
    assert_eq!(sample_names(text, None).len(), 4);
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
