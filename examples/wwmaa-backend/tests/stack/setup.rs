//! The stack started (Jaeger, VictoriaLogs, the collector, both services and Prometheus) and
//! the traffic the checks look at; what every check uses to send a request or to fail.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use crate::common::prometheus as prom;
use crate::common::{self, loopback, ok, wait_listening, Process, Protocol, Reply};
use crate::{unix_now, workspace_root, Peers, ENVIRONMENT, SANDBOX, SERVICE};

/// The collector's listeners.
pub(crate) struct CollectorAddrs {
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
    pub(crate) exporter: SocketAddr,
    pub(crate) telemetry: SocketAddr,
    pub(crate) health: SocketAddr,
}

/// One run: the peers, the two services, and what the checks need to reach them. Fields drop
/// in order: the services stop before the collector and backends, the schema and the files go
/// last.
pub(crate) struct Stack {
    pub(crate) protocol: Protocol,
    pub(crate) service: Process,
    pub(crate) service_addr: SocketAddr,
    pub(crate) service_instance: String,
    pub(crate) sandbox: Process,
    pub(crate) sandbox_instance: String,
    pub(crate) prometheus: Option<(Process, SocketAddr)>,
    pub(crate) collector: Process,
    pub(crate) collector_addrs: CollectorAddrs,
    pub(crate) jaeger: Process,
    pub(crate) jaeger_query: SocketAddr,
    pub(crate) victorialogs: Process,
    pub(crate) victorialogs_addr: SocketAddr,
    pub(crate) client: reqwest::Client,
    pub(crate) slow_query_log: PathBuf,
    pub(crate) started: f64,
    _schema: common::Schema,
    _dir: tempfile::TempDir,
}

/// The requests the checks look at: their X-Request-IDs.
pub(crate) struct Traffic {
    /// `POST /api/payments`: PostgreSQL, Stripe (the second service), a Redis invalidation.
    pub(crate) payment: String,
    /// `POST /api/ai/classify`, failing with 502: the AI registry path is missing.
    pub(crate) failing: String,
    /// `GET /api/reports/activity`: a slow query.
    pub(crate) report: String,
    /// `POST /api/members`: a log line.
    pub(crate) created: String,
    /// Every traced request's ID.
    pub(crate) all: Vec<String>,
}

impl Stack {
    pub(crate) async fn start(peers: &Peers, protocol: Protocol) -> Stack {
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
            client: common::http_client(),
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

    pub(crate) fn failure(&self, what: &str) -> String {
        format!("{what}\n{}", self.tails())
    }

    pub(crate) fn url(&self, path: &str) -> String {
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

    pub(crate) async fn send_traffic(&self) -> Traffic {
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
}
