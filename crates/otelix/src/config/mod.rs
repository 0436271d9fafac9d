//! Configuration: [`Config::builder`] for code, [`Config::from_env`] for the environment.
//!
//! Every setting has a default, an environment variable and a builder method. A value set in
//! code wins over the environment; the environment wins over the default. An invalid value is
//! an error that names the variable (or the builder method) and the value: it is never
//! replaced by a default behind the user's back. An empty variable counts as unset, as the
//! OpenTelemetry specification asks.
//!
//! ```
//! use otelix::{Config, Protocol};
//!
//! let config = Config::builder()
//!     .with_service_name("checkout")
//!     .with_protocol(Protocol::HttpProtobuf)
//!     .build_from_vars([("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
//!                       ("OTEL_TRACES_SAMPLER_ARG", "0.25")])
//!     .expect("valid configuration");
//! assert_eq!(config.service_name(), "checkout");
//!
//! let err = Config::builder()
//!     .build_from_vars([("PROMETHEUS_ENABLED", "maybe")])
//!     .unwrap_err();
//! assert!(err.to_string().contains("PROMETHEUS_ENABLED"));
//! assert!(err.to_string().contains("maybe"));
//! ```

mod parse;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::process::SlowQuerySettings;

/// Why a configuration could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable holds a value that cannot be used.
    #[error("invalid value {value:?} for environment variable {var}: expected {expected}")]
    InvalidEnv {
        /// The variable's name.
        var: &'static str,
        /// The value found.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// A value set in code cannot be used.
    #[error("invalid value {value:?} passed to ConfigBuilder::{setting}: expected {expected}")]
    InvalidSetting {
        /// The builder method that received the value.
        setting: &'static str,
        /// The value received.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// An environment variable is set but is not valid Unicode.
    #[error("environment variable {var} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        var: &'static str,
    },
}

/// The deployment environment (`APP_ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Readable logs, `/metrics/summary` served, slow-query log under `./logs`.
    Development,
    /// JSON logs, development-only endpoints off, slow-query log under `/var/log/<service>`.
    Production,
}

impl Environment {
    /// The value as written in `APP_ENV`.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Production => "production",
        }
    }

    fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Environment::Development),
            "production" | "prod" => Ok(Environment::Production),
            _ => Err("development or production"),
        }
    }
}

/// The OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP over gRPC (tonic), default port 4317.
    Grpc,
    /// OTLP over HTTP with protobuf bodies, default port 4318.
    HttpProtobuf,
}

impl Protocol {
    /// The value as written in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }

    fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            _ => Err("grpc or http/protobuf (http/json is not supported)"),
        }
    }

    fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://localhost:4317",
            Protocol::HttpProtobuf => "http://localhost:4318",
        }
    }
}

/// The log line format (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// One human-readable line per event.
    Pretty,
}

impl LogFormat {
    fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "pretty" | "text" => Ok(LogFormat::Pretty),
            _ => Err("json or pretty"),
        }
    }
}

/// The trace sampler (`OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplerKind {
    /// Record and export every span.
    AlwaysOn,
    /// Record nothing.
    AlwaysOff,
    /// Sample this fraction of traces, ignoring the parent's decision.
    TraceIdRatio(f64),
    /// Follow the parent's decision; sample every new trace.
    ParentBasedAlwaysOn,
    /// Follow the parent's decision; sample no new trace.
    ParentBasedAlwaysOff,
    /// Follow the parent's decision; sample this fraction of new traces.
    ParentBasedTraceIdRatio(f64),
}

impl SamplerKind {
    fn parse(name: &str, ratio: f64) -> Result<Self, &'static str> {
        Ok(match name.trim() {
            "always_on" => SamplerKind::AlwaysOn,
            "always_off" => SamplerKind::AlwaysOff,
            "traceidratio" => SamplerKind::TraceIdRatio(ratio),
            "parentbased_always_on" => SamplerKind::ParentBasedAlwaysOn,
            "parentbased_always_off" => SamplerKind::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => SamplerKind::ParentBasedTraceIdRatio(ratio),
            _ => return Err(
                "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
            ),
        })
    }

    fn ratio(self) -> Option<f64> {
        match self {
            SamplerKind::TraceIdRatio(r) | SamplerKind::ParentBasedTraceIdRatio(r) => Some(r),
            _ => None,
        }
    }
}

/// Where one signal goes (`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`).
///
/// The variables take a comma-separated list, so `otlp,console` sends to both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exporters {
    /// Export over OTLP.
    pub otlp: bool,
    /// Print to standard output (for debugging).
    pub console: bool,
}

impl Exporters {
    /// OTLP only, the default.
    pub const OTLP: Exporters = Exporters {
        otlp: true,
        console: false,
    };
    /// Nothing is exported.
    pub const NONE: Exporters = Exporters {
        otlp: false,
        console: false,
    };

    fn parse(raw: &str) -> Result<Self, &'static str> {
        const EXPECTED: &str = "otlp, console, none, or a comma-separated list of otlp and console";
        let mut out = Exporters::NONE;
        let mut saw_none = false;
        for item in raw.split(',').map(str::trim) {
            match item {
                "otlp" => out.otlp = true,
                "console" => out.console = true,
                "none" => saw_none = true,
                _ => return Err(EXPECTED),
            }
        }
        if saw_none && (out.otlp || out.console) {
            return Err(EXPECTED);
        }
        Ok(out)
    }

    /// Whether anything is exported.
    pub fn any(self) -> bool {
        self.otlp || self.console
    }
}

/// Batch span processor settings (`OTEL_BSP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// Delay between two exports (`OTEL_BSP_SCHEDULE_DELAY`, default 5000 ms).
    pub schedule_delay: Duration,
    /// Time allowed for one export (`OTEL_BSP_EXPORT_TIMEOUT`, default 30000 ms).
    pub export_timeout: Duration,
    /// Spans buffered before new ones are dropped (`OTEL_BSP_MAX_QUEUE_SIZE`, default 8192:
    /// the specification's 2048 is 40 ms of a saturated worker's spans, too little to ride out
    /// a scheduling hiccup of the export threads; 8192 spans take about 8 MiB).
    pub max_queue_size: usize,
    /// Spans per export request (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, default 512).
    pub max_export_batch_size: usize,
    /// Span exports in flight at once, each on its own connection
    /// (`OTEL_BSP_MAX_CONCURRENT_EXPORTS`, default 2).
    pub max_concurrent_exports: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            schedule_delay: Duration::from_millis(5_000),
            export_timeout: Duration::from_millis(30_000),
            max_queue_size: 8_192,
            max_export_batch_size: 512,
            max_concurrent_exports: 2,
        }
    }
}

/// One environment variable that otelix reads, for documentation and tooling.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    /// The variable's name.
    pub name: &'static str,
    /// The default, as text.
    pub default: &'static str,
    /// What it controls.
    pub meaning: &'static str,
}

/// Every environment variable [`Config::from_env`] reads. The README's configuration table is
/// checked against this list by a test.
pub const ENV_VARS: &[EnvVar] = &[
    EnvVar { name: "OTEL_SDK_DISABLED", default: "false", meaning: "true turns every exporter off (the Prometheus bridge and logs to stdout stay)" },
    EnvVar { name: "OTEL_SERVICE_NAME", default: "unknown_service", meaning: "service.name resource attribute; wins over service.name in OTEL_RESOURCE_ATTRIBUTES" },
    EnvVar { name: "OTEL_RESOURCE_ATTRIBUTES", default: "(none)", meaning: "extra resource attributes, key=value,key=value (values percent-encoded)" },
    EnvVar { name: "OTEL_EXPORTER_OTLP_ENDPOINT", default: "http://localhost:4317 (grpc), http://localhost:4318 (http/protobuf)", meaning: "collector base URL; for http/protobuf the signal path /v1/traces etc. is appended" },
    EnvVar { name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", default: "(from OTEL_EXPORTER_OTLP_ENDPOINT)", meaning: "full URL for traces, used as is" },
    EnvVar { name: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", default: "(from OTEL_EXPORTER_OTLP_ENDPOINT)", meaning: "full URL for metrics, used as is" },
    EnvVar { name: "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", default: "(from OTEL_EXPORTER_OTLP_ENDPOINT)", meaning: "full URL for logs, used as is" },
    EnvVar { name: "OTEL_EXPORTER_OTLP_PROTOCOL", default: "grpc", meaning: "grpc or http/protobuf" },
    EnvVar { name: "OTEL_EXPORTER_OTLP_HEADERS", default: "(none)", meaning: "headers sent with every export, key=value,key=value (values percent-encoded)" },
    EnvVar { name: "OTEL_EXPORTER_OTLP_TIMEOUT", default: "10000", meaning: "time allowed for one export request, in milliseconds" },
    EnvVar { name: "OTEL_TRACES_SAMPLER", default: "parentbased_always_on", meaning: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio" },
    EnvVar { name: "OTEL_TRACES_SAMPLER_ARG", default: "1.0", meaning: "sampling ratio from 0 to 1 for the *traceidratio samplers" },
    EnvVar { name: "OTEL_TRACES_EXPORTER", default: "otlp", meaning: "otlp, console, none, or otlp,console" },
    EnvVar { name: "OTEL_METRICS_EXPORTER", default: "otlp", meaning: "otlp, console, none, or otlp,console (the Prometheus bridge is separate: PROMETHEUS_ENABLED)" },
    EnvVar { name: "OTEL_LOGS_EXPORTER", default: "otlp", meaning: "otlp, console, none, or otlp,console (log lines on stdout are separate: LOG_FORMAT)" },
    EnvVar { name: "OTEL_METRIC_EXPORT_INTERVAL", default: "60000", meaning: "interval between two OTLP metric exports, in milliseconds" },
    EnvVar { name: "OTEL_BSP_SCHEDULE_DELAY", default: "5000", meaning: "delay between two span exports, in milliseconds" },
    EnvVar { name: "OTEL_BSP_EXPORT_TIMEOUT", default: "30000", meaning: "time allowed for one span export, in milliseconds" },
    EnvVar { name: "OTEL_BSP_MAX_QUEUE_SIZE", default: "8192", meaning: "spans buffered while waiting for export; more are dropped and counted in otelix_exporter_dropped_total" },
    EnvVar { name: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", default: "512", meaning: "spans per export request (at most the queue size)" },
    EnvVar { name: "OTEL_BSP_MAX_CONCURRENT_EXPORTS", default: "2", meaning: "span export requests in flight at once, each on its own connection" },
    EnvVar { name: "OTEL_BLRP_SCHEDULE_DELAY", default: "1000", meaning: "delay between two log-record exports, in milliseconds" },
    EnvVar { name: "OTEL_BLRP_EXPORT_TIMEOUT", default: "30000", meaning: "time allowed for one log-record export, in milliseconds" },
    EnvVar { name: "OTEL_BLRP_MAX_QUEUE_SIZE", default: "2048", meaning: "log records buffered while waiting for export; more are dropped and counted in otelix_exporter_dropped_total" },
    EnvVar { name: "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", default: "512", meaning: "log records per export request (at most the queue size)" },
    EnvVar { name: "APP_ENV", default: "development", meaning: "development or production: log format default, /metrics/summary, slow-query log location" },
    EnvVar { name: "PROMETHEUS_ENABLED", default: "true", meaning: "serve the OTel metrics through the Prometheus bridge" },
    EnvVar { name: "METRICS_ENDPOINT", default: "/metrics", meaning: "path of the Prometheus scrape endpoint" },
    EnvVar { name: "OTELIX_EXEMPLARS", default: "true", meaning: "keep the latest sampled trace ID per duration-histogram bucket and serve it as an exemplar to OpenMetrics scrapes of /metrics" },
    EnvVar { name: "METRICS_ADDR", default: "(unset: the application's own listener)", meaning: "serve /metrics and /metrics/summary on a listener of their own at this address, such as 127.0.0.1:9464, and not on the application's" },
    EnvVar { name: "METRICS_BEARER_TOKEN", default: "(unset: no token)", meaning: "when set (16 to 256 visible ASCII characters), /metrics and /metrics/summary answer 401 unless the request carries Authorization: Bearer <token>" },
    EnvVar { name: "LOG_FORMAT", default: "pretty in development, json in production", meaning: "json or pretty log lines on stdout" },
    EnvVar { name: "RUST_LOG", default: "info", meaning: "tracing filter directives, such as info,sqlx=warn" },
    EnvVar { name: "OTELIX_SHUTDOWN_TIMEOUT", default: "5000", meaning: "upper bound for flushing telemetry at shutdown, in milliseconds" },
    EnvVar { name: "SLOW_QUERY_THRESHOLD_SECONDS", default: "1.0", meaning: "a database span at least this long is logged as a slow query (severity warning)" },
    EnvVar { name: "SLOW_QUERY_CRITICAL_SECONDS", default: "5.0", meaning: "a database span at least this long is logged with severity critical; at least the threshold" },
    EnvVar { name: "SLOW_QUERY_LOG_FILE", default: "./logs/slow_queries.log in development, /var/log/<service>/slow_queries.log in production", meaning: "JSON-lines slow-query and N+1 log; missing directories are created" },
    EnvVar { name: "SLOW_QUERY_LOG_MAX_BYTES", default: "10485760", meaning: "the slow-query log rotates before passing this size; 0 never rotates" },
    EnvVar { name: "SLOW_QUERY_LOG_BACKUPS", default: "5", meaning: "rotated slow-query logs kept (slow_queries.log.1 to .N)" },
    EnvVar { name: "N_PLUS_ONE_THRESHOLD", default: "10", meaning: "this many runs of one statement under one parent span are reported as N+1; 0 turns detection off" },
];

/// A validated configuration. Build one with [`Config::builder`] or [`Config::from_env`].
#[derive(Debug, Clone)]
pub struct Config {
    sdk_disabled: bool,
    service_name: String,
    service_version: Option<String>,
    resource_attributes: Vec<(String, String)>,
    environment: Environment,
    protocol: Protocol,
    traces_endpoint: String,
    metrics_endpoint_otlp: String,
    logs_endpoint: String,
    otlp_headers: Vec<(String, String)>,
    otlp_timeout: Duration,
    sampler: SamplerKind,
    traces_exporters: Exporters,
    metrics_exporters: Exporters,
    logs_exporters: Exporters,
    metric_export_interval: Duration,
    batch: BatchSettings,
    log_batch: BatchSettings,
    prometheus_enabled: bool,
    metrics_path: String,
    metrics_addr: Option<std::net::SocketAddr>,
    metrics_bearer_token: Option<Secret>,
    exemplars: bool,
    log_format: LogFormat,
    log_filter: String,
    shutdown_timeout: Duration,
    slow_query: SlowQuerySettings,
}

impl Config {
    /// A builder whose unset values come from the environment, then from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The configuration the process environment describes.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first variable with an invalid value.
    pub fn from_env() -> Result<Config, ConfigError> {
        ConfigBuilder::default().build()
    }

    /// Whether `OTEL_SDK_DISABLED` turned every exporter off.
    pub fn sdk_disabled(&self) -> bool {
        self.sdk_disabled
    }
    /// The `service.name` resource attribute.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }
    /// The `service.version` resource attribute, if set.
    pub fn service_version(&self) -> Option<&str> {
        self.service_version.as_deref()
    }
    /// Extra resource attributes, in order.
    pub fn resource_attributes(&self) -> &[(String, String)] {
        &self.resource_attributes
    }
    /// The deployment environment.
    pub fn environment(&self) -> Environment {
        self.environment
    }
    /// The OTLP transport.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    /// The URL spans are exported to.
    pub fn traces_endpoint(&self) -> &str {
        &self.traces_endpoint
    }
    /// The URL metrics are exported to over OTLP.
    pub fn otlp_metrics_endpoint(&self) -> &str {
        &self.metrics_endpoint_otlp
    }
    /// The URL log records are exported to.
    pub fn logs_endpoint(&self) -> &str {
        &self.logs_endpoint
    }
    /// Headers sent with every OTLP request.
    pub fn otlp_headers(&self) -> &[(String, String)] {
        &self.otlp_headers
    }
    /// Time allowed for one OTLP request.
    pub fn otlp_timeout(&self) -> Duration {
        self.otlp_timeout
    }
    /// The trace sampler.
    pub fn sampler(&self) -> SamplerKind {
        self.sampler
    }
    /// Where spans go.
    pub fn traces_exporters(&self) -> Exporters {
        self.traces_exporters
    }
    /// Where metrics go (besides the Prometheus bridge).
    pub fn metrics_exporters(&self) -> Exporters {
        self.metrics_exporters
    }
    /// Where log records go (besides the lines on stdout).
    pub fn logs_exporters(&self) -> Exporters {
        self.logs_exporters
    }
    /// Interval between two OTLP metric exports.
    pub fn metric_export_interval(&self) -> Duration {
        self.metric_export_interval
    }
    /// Batch span processor settings.
    pub fn batch(&self) -> BatchSettings {
        self.batch
    }

    /// Batch log-record processor settings (`OTEL_BLRP_*`; one export in flight).
    pub fn log_batch(&self) -> BatchSettings {
        self.log_batch
    }
    /// Whether the Prometheus bridge is on.
    pub fn prometheus_enabled(&self) -> bool {
        self.prometheus_enabled
    }
    /// The path of the Prometheus scrape endpoint.
    pub fn metrics_path(&self) -> &str {
        &self.metrics_path
    }
    /// Whether exemplars are kept for the OpenMetrics exposition.
    pub fn exemplars(&self) -> bool {
        self.exemplars
    }
    /// The address of the metrics endpoints' own listener, when they have one.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }
    /// The bearer token the metrics endpoints require, when one is set.
    pub fn metrics_bearer_token(&self) -> Option<&str> {
        self.metrics_bearer_token.as_ref().map(|s| s.0.as_str())
    }
    /// The log line format.
    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }
    /// The `tracing` filter directives.
    pub fn log_filter(&self) -> &str {
        &self.log_filter
    }
    /// Upper bound for [`Telemetry::shutdown`](crate::Telemetry::shutdown).
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }
    /// Slow-query and N+1 detection settings.
    pub fn slow_query(&self) -> &SlowQuerySettings {
        &self.slow_query
    }
}

/// Builds a [`Config`]: values set here win over the environment, which wins over defaults.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ConfigBuilder {
    sdk_disabled: Option<bool>,
    service_name: Option<String>,
    default_service_name: Option<String>,
    service_version: Option<String>,
    resource_attributes: Vec<(String, String)>,
    environment: Option<Environment>,
    protocol: Option<Protocol>,
    endpoint: Option<String>,
    traces_endpoint: Option<String>,
    metrics_endpoint_otlp: Option<String>,
    logs_endpoint: Option<String>,
    otlp_headers: Vec<(String, String)>,
    otlp_timeout: Option<Duration>,
    sampler: Option<SamplerKind>,
    traces_exporters: Option<Exporters>,
    metrics_exporters: Option<Exporters>,
    logs_exporters: Option<Exporters>,
    metric_export_interval: Option<Duration>,
    schedule_delay: Option<Duration>,
    export_timeout: Option<Duration>,
    max_queue_size: Option<usize>,
    max_export_batch_size: Option<usize>,
    max_concurrent_exports: Option<usize>,
    prometheus_enabled: Option<bool>,
    metrics_path: Option<String>,
    metrics_addr: Option<std::net::SocketAddr>,
    metrics_bearer_token: Option<Secret>,
    exemplars: Option<bool>,
    log_format: Option<LogFormat>,
    log_filter: Option<String>,
    shutdown_timeout: Option<Duration>,
    slow_query_threshold: Option<Duration>,
    slow_query_critical: Option<Duration>,
    slow_query_log_file: Option<PathBuf>,
    slow_query_log_max_bytes: Option<u64>,
    slow_query_log_backups: Option<usize>,
    n_plus_one_threshold: Option<usize>,
}

impl ConfigBuilder {
    /// Turns every exporter off. Default `false`; env `OTEL_SDK_DISABLED`.
    pub fn with_sdk_disabled(mut self, disabled: bool) -> Self {
        self.sdk_disabled = Some(disabled);
        self
    }
    /// The `service.name`. Default `unknown_service`; env `OTEL_SERVICE_NAME`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }
    /// The `service.name` to use when the environment names none: unlike
    /// [`with_service_name`](Self::with_service_name), `OTEL_SERVICE_NAME` and `service.name`
    /// in `OTEL_RESOURCE_ATTRIBUTES` win over it. For a binary's own name.
    pub fn with_default_service_name(mut self, name: impl Into<String>) -> Self {
        self.default_service_name = Some(name.into());
        self
    }
    /// The `service.version`. Default none; env: `service.version` in `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn with_service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }
    /// Adds a resource attribute; wins over the same key in `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }
    /// The deployment environment. Default development; env `APP_ENV`.
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }
    /// The OTLP transport. Default gRPC; env `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }
    /// The collector's base URL. Default `http://localhost:4317` (gRPC) or
    /// `http://localhost:4318` (HTTP); env `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }
    /// The full URL for spans. Default derived from the base URL; env
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    pub fn with_traces_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.traces_endpoint = Some(endpoint.into());
        self
    }
    /// The full URL for metrics. Default derived from the base URL; env
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`.
    pub fn with_metrics_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.metrics_endpoint_otlp = Some(endpoint.into());
        self
    }
    /// The full URL for log records. Default derived from the base URL; env
    /// `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`.
    pub fn with_logs_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.logs_endpoint = Some(endpoint.into());
        self
    }
    /// Adds a header to every OTLP request; wins over the same key in
    /// `OTEL_EXPORTER_OTLP_HEADERS`. Default none.
    pub fn with_otlp_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp_headers.push((key.into(), value.into()));
        self
    }
    /// Time allowed for one OTLP request. Default 10 s; env `OTEL_EXPORTER_OTLP_TIMEOUT` (ms).
    pub fn with_otlp_timeout(mut self, timeout: Duration) -> Self {
        self.otlp_timeout = Some(timeout);
        self
    }
    /// The trace sampler. Default parent-based always-on; env `OTEL_TRACES_SAMPLER` and
    /// `OTEL_TRACES_SAMPLER_ARG`.
    pub fn with_sampler(mut self, sampler: SamplerKind) -> Self {
        self.sampler = Some(sampler);
        self
    }
    /// Where spans go. Default OTLP; env `OTEL_TRACES_EXPORTER`.
    pub fn with_traces_exporters(mut self, exporters: Exporters) -> Self {
        self.traces_exporters = Some(exporters);
        self
    }
    /// Where metrics go besides the Prometheus bridge. Default OTLP; env `OTEL_METRICS_EXPORTER`.
    pub fn with_metrics_exporters(mut self, exporters: Exporters) -> Self {
        self.metrics_exporters = Some(exporters);
        self
    }
    /// Where log records go besides stdout. Default OTLP; env `OTEL_LOGS_EXPORTER`.
    pub fn with_logs_exporters(mut self, exporters: Exporters) -> Self {
        self.logs_exporters = Some(exporters);
        self
    }
    /// Interval between OTLP metric exports. Default 60 s; env `OTEL_METRIC_EXPORT_INTERVAL` (ms).
    pub fn with_metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_export_interval = Some(interval);
        self
    }
    /// Delay between span exports. Default 5 s; env `OTEL_BSP_SCHEDULE_DELAY` (ms).
    pub fn with_batch_schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay = Some(delay);
        self
    }
    /// Time allowed for one span export. Default 30 s; env `OTEL_BSP_EXPORT_TIMEOUT` (ms).
    pub fn with_batch_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = Some(timeout);
        self
    }
    /// Spans buffered for export. Default 8192; env `OTEL_BSP_MAX_QUEUE_SIZE`.
    pub fn with_batch_max_queue_size(mut self, size: usize) -> Self {
        self.max_queue_size = Some(size);
        self
    }
    /// Spans per export request. Default 512; env `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`.
    pub fn with_batch_max_export_batch_size(mut self, size: usize) -> Self {
        self.max_export_batch_size = Some(size);
        self
    }
    /// Span exports in flight at once. Default 2; env `OTEL_BSP_MAX_CONCURRENT_EXPORTS`.
    pub fn with_batch_max_concurrent_exports(mut self, exports: usize) -> Self {
        self.max_concurrent_exports = Some(exports);
        self
    }
    /// Serves metrics through the Prometheus bridge. Default `true`; env `PROMETHEUS_ENABLED`.
    pub fn with_prometheus_enabled(mut self, enabled: bool) -> Self {
        self.prometheus_enabled = Some(enabled);
        self
    }
    /// The scrape endpoint's path. Default `/metrics`; env `METRICS_ENDPOINT`.
    pub fn with_metrics_path(mut self, path: impl Into<String>) -> Self {
        self.metrics_path = Some(path.into());
        self
    }
    /// Serves the metrics endpoints on a listener of their own at `addr` (see
    /// `otelix_actix::metrics_server`). Default: none, they share the application's; env
    /// `METRICS_ADDR`.
    pub fn with_metrics_addr(mut self, addr: std::net::SocketAddr) -> Self {
        self.metrics_addr = Some(addr);
        self
    }
    /// Keeps exemplars (the latest sampled trace ID per bucket of otelix's duration
    /// histograms) for OpenMetrics scrapes. Default `true`; env `OTELIX_EXEMPLARS`.
    pub fn with_exemplars(mut self, enabled: bool) -> Self {
        self.exemplars = Some(enabled);
        self
    }
    /// Requires `Authorization: Bearer <token>` on the metrics endpoints. Default: no token;
    /// env `METRICS_BEARER_TOKEN`. The token must be 16 to 256 visible ASCII characters.
    pub fn with_metrics_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.metrics_bearer_token = Some(Secret(token.into()));
        self
    }
    /// The log line format. Default pretty in development, JSON in production; env `LOG_FORMAT`.
    pub fn with_log_format(mut self, format: LogFormat) -> Self {
        self.log_format = Some(format);
        self
    }
    /// `tracing` filter directives. Default `info`; env `RUST_LOG`.
    pub fn with_log_filter(mut self, directives: impl Into<String>) -> Self {
        self.log_filter = Some(directives.into());
        self
    }
    /// Upper bound for flushing at shutdown. Default 5 s; env `OTELIX_SHUTDOWN_TIMEOUT` (ms).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Database spans at least this long are slow queries (severity warning). Default 1 s;
    /// env `SLOW_QUERY_THRESHOLD_SECONDS`.
    pub fn with_slow_query_threshold(mut self, threshold: Duration) -> Self {
        self.slow_query_threshold = Some(threshold);
        self
    }
    /// Slow queries at least this long are critical. Default 5 s; env
    /// `SLOW_QUERY_CRITICAL_SECONDS`.
    pub fn with_slow_query_critical(mut self, critical: Duration) -> Self {
        self.slow_query_critical = Some(critical);
        self
    }
    /// The slow-query log. Default `./logs/slow_queries.log` in development,
    /// `/var/log/<service>/slow_queries.log` in production; env `SLOW_QUERY_LOG_FILE`.
    pub fn with_slow_query_log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.slow_query_log_file = Some(path.into());
        self
    }
    /// Rotation size of the slow-query log (0: never). Default 10 MiB; env
    /// `SLOW_QUERY_LOG_MAX_BYTES`.
    pub fn with_slow_query_log_max_bytes(mut self, bytes: u64) -> Self {
        self.slow_query_log_max_bytes = Some(bytes);
        self
    }
    /// Rotated slow-query logs kept. Default 5; env `SLOW_QUERY_LOG_BACKUPS`.
    pub fn with_slow_query_log_backups(mut self, backups: usize) -> Self {
        self.slow_query_log_backups = Some(backups);
        self
    }
    /// Runs of one statement under one parent that make an N+1 report (0: off). Default 10;
    /// env `N_PLUS_ONE_THRESHOLD`.
    pub fn with_n_plus_one_threshold(mut self, runs: usize) -> Self {
        self.n_plus_one_threshold = Some(runs);
        self
    }

    /// Resolves every setting against the process environment.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first variable or setting with an invalid value.
    pub fn build(self) -> Result<Config, ConfigError> {
        self.resolve(&|name| std::env::var_os(name))
    }

    /// Resolves every setting against the given variables instead of the process environment,
    /// for tests and for configuration that comes from elsewhere.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first variable or setting with an invalid value.
    pub fn build_from_vars<I, K, V>(self, vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.resolve(&|name| vars.get(name).map(OsString::from))
    }

    fn resolve(mut self, lookup: &dyn Fn(&str) -> Option<OsString>) -> Result<Config, ConfigError> {
        let env = Env { lookup };
        let environment = pick(
            self.environment,
            env.get("APP_ENV", Environment::parse)?,
            Environment::Development,
        );
        let sdk_disabled = pick(
            self.sdk_disabled,
            env.get("OTEL_SDK_DISABLED", parse::bool)?,
            false,
        );

        let mut env_resource = env
            .get("OTEL_RESOURCE_ATTRIBUTES", parse::key_values)?
            .unwrap_or_default();
        let env_service_name = take_key(&mut env_resource, "service.name");
        let env_service_version = take_key(&mut env_resource, "service.version");
        let service_name = match self.service_name.take() {
            Some(name) => non_empty("with_service_name", name)?,
            None => env
                .get("OTEL_SERVICE_NAME", |s| Ok(s.to_owned()))?
                .or(env_service_name)
                .or(self.default_service_name.take())
                .unwrap_or_else(|| "unknown_service".to_owned()),
        };
        let slow_query = self.slow_query_settings(&env, environment, &service_name)?;
        let service_version = self.service_version.or(env_service_version);
        // Code-set attributes win: drop env entries whose key the code sets.
        env_resource.retain(|(k, _)| !self.resource_attributes.iter().any(|(ck, _)| ck == k));
        let mut resource_attributes = env_resource;
        resource_attributes.extend(self.resource_attributes);

        let protocol = pick(
            self.protocol,
            env.get("OTEL_EXPORTER_OTLP_PROTOCOL", Protocol::parse)?,
            Protocol::Grpc,
        );
        let base = match self.endpoint {
            Some(e) => Some(setting("with_endpoint", &e, parse::endpoint)?),
            None => env.get("OTEL_EXPORTER_OTLP_ENDPOINT", parse::endpoint)?,
        };
        let base = base.unwrap_or_else(|| protocol.default_endpoint().to_owned());
        let signal_endpoint =
            |code: Option<String>, setter: &'static str, var: &'static str, path: &str| {
                let explicit = match code {
                    Some(e) => Some(setting(setter, &e, parse::endpoint)?),
                    None => env.get(var, parse::endpoint)?,
                };
                Ok::<_, ConfigError>(explicit.unwrap_or_else(|| match protocol {
                    // gRPC routes by service name, not by path: the base URL serves every signal.
                    Protocol::Grpc => base.clone(),
                    Protocol::HttpProtobuf => format!("{base}{path}"),
                }))
            };
        let traces_endpoint = signal_endpoint(
            self.traces_endpoint,
            "with_traces_endpoint",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "/v1/traces",
        )?;
        let metrics_endpoint_otlp = signal_endpoint(
            self.metrics_endpoint_otlp,
            "with_metrics_endpoint",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "/v1/metrics",
        )?;
        let logs_endpoint = signal_endpoint(
            self.logs_endpoint,
            "with_logs_endpoint",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "/v1/logs",
        )?;

        let mut otlp_headers = env
            .get("OTEL_EXPORTER_OTLP_HEADERS", parse::key_values)?
            .unwrap_or_default();
        otlp_headers.retain(|(k, _)| {
            !self
                .otlp_headers
                .iter()
                .any(|(ck, _)| ck.eq_ignore_ascii_case(k))
        });
        otlp_headers.extend(self.otlp_headers);
        for (key, value) in &otlp_headers {
            let valid = http::HeaderName::from_bytes(key.as_bytes()).is_ok()
                && http::HeaderValue::from_str(value).is_ok();
            if !valid {
                return Err(ConfigError::InvalidEnv {
                    var: "OTEL_EXPORTER_OTLP_HEADERS",
                    value: format!("{key}={value}"),
                    expected: "valid HTTP header names and values".to_owned(),
                });
            }
        }

        let otlp_timeout = pick(
            self.otlp_timeout,
            env.get("OTEL_EXPORTER_OTLP_TIMEOUT", parse::positive_millis)?,
            Duration::from_millis(10_000),
        );

        let env_ratio = env.get("OTEL_TRACES_SAMPLER_ARG", parse::ratio)?;
        let sampler = match self.sampler {
            Some(s) => {
                if let Some(r) = s.ratio() {
                    setting("with_sampler", &r.to_string(), parse::ratio)?;
                }
                s
            }
            None => env
                .get("OTEL_TRACES_SAMPLER", |s| {
                    SamplerKind::parse(s, env_ratio.unwrap_or(1.0))
                })?
                .unwrap_or(SamplerKind::ParentBasedAlwaysOn),
        };

        let traces_exporters = pick(
            self.traces_exporters,
            env.get("OTEL_TRACES_EXPORTER", Exporters::parse)?,
            Exporters::OTLP,
        );
        let metrics_exporters = pick(
            self.metrics_exporters,
            env.get("OTEL_METRICS_EXPORTER", Exporters::parse)?,
            Exporters::OTLP,
        );
        let logs_exporters = pick(
            self.logs_exporters,
            env.get("OTEL_LOGS_EXPORTER", Exporters::parse)?,
            Exporters::OTLP,
        );

        let metric_export_interval = match self.metric_export_interval {
            Some(d) => positive_duration("with_metric_export_interval", d)?,
            None => env
                .get("OTEL_METRIC_EXPORT_INTERVAL", parse::positive_millis)?
                .unwrap_or(Duration::from_millis(60_000)),
        };

        let defaults = BatchSettings::default();
        let batch = BatchSettings {
            schedule_delay: match self.schedule_delay {
                Some(d) => positive_duration("with_batch_schedule_delay", d)?,
                None => env
                    .get("OTEL_BSP_SCHEDULE_DELAY", parse::positive_millis)?
                    .unwrap_or(defaults.schedule_delay),
            },
            export_timeout: match self.export_timeout {
                Some(d) => positive_duration("with_batch_export_timeout", d)?,
                None => env
                    .get("OTEL_BSP_EXPORT_TIMEOUT", parse::positive_millis)?
                    .unwrap_or(defaults.export_timeout),
            },
            max_queue_size: match self.max_queue_size {
                Some(n) => setting(
                    "with_batch_max_queue_size",
                    &n.to_string(),
                    parse::positive_usize,
                )?,
                None => env
                    .get("OTEL_BSP_MAX_QUEUE_SIZE", parse::positive_usize)?
                    .unwrap_or(defaults.max_queue_size),
            },
            max_export_batch_size: match self.max_export_batch_size {
                Some(n) => setting(
                    "with_batch_max_export_batch_size",
                    &n.to_string(),
                    parse::positive_usize,
                )?,
                None => env
                    .get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", parse::positive_usize)?
                    .unwrap_or(defaults.max_export_batch_size),
            },
            max_concurrent_exports: match self.max_concurrent_exports {
                Some(n) => setting(
                    "with_batch_max_concurrent_exports",
                    &n.to_string(),
                    parse::positive_usize,
                )?,
                None => env
                    .get("OTEL_BSP_MAX_CONCURRENT_EXPORTS", parse::positive_usize)?
                    .unwrap_or(defaults.max_concurrent_exports),
            },
        };
        if batch.max_export_batch_size > batch.max_queue_size {
            // The specification requires batch <= queue; say so rather than clamping silently.
            return Err(ConfigError::InvalidEnv {
                var: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                value: batch.max_export_batch_size.to_string(),
                expected: format!("at most OTEL_BSP_MAX_QUEUE_SIZE ({})", batch.max_queue_size),
            });
        }

        let log_batch = BatchSettings {
            schedule_delay: env
                .get("OTEL_BLRP_SCHEDULE_DELAY", parse::positive_millis)?
                .unwrap_or(Duration::from_millis(1_000)),
            export_timeout: env
                .get("OTEL_BLRP_EXPORT_TIMEOUT", parse::positive_millis)?
                .unwrap_or(Duration::from_millis(30_000)),
            max_queue_size: env
                .get("OTEL_BLRP_MAX_QUEUE_SIZE", parse::positive_usize)?
                .unwrap_or(2_048),
            max_export_batch_size: env
                .get("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", parse::positive_usize)?
                .unwrap_or(512),
            max_concurrent_exports: 1,
        };
        if log_batch.max_export_batch_size > log_batch.max_queue_size {
            return Err(ConfigError::InvalidEnv {
                var: "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
                value: log_batch.max_export_batch_size.to_string(),
                expected: format!(
                    "at most OTEL_BLRP_MAX_QUEUE_SIZE ({})",
                    log_batch.max_queue_size
                ),
            });
        }

        let prometheus_enabled = pick(
            self.prometheus_enabled,
            env.get("PROMETHEUS_ENABLED", parse::bool)?,
            true,
        );
        let metrics_path = match self.metrics_path {
            Some(p) => setting("with_metrics_path", &p, parse::route_path)?,
            None => env
                .get("METRICS_ENDPOINT", parse::route_path)?
                .unwrap_or_else(|| "/metrics".to_owned()),
        };
        let metrics_addr = match self.metrics_addr {
            Some(addr) => Some(addr),
            None => env.get("METRICS_ADDR", parse::socket_addr)?,
        };
        let metrics_bearer_token =
            match self.metrics_bearer_token {
                Some(token) => Some(bearer_token(&token.0).map_err(|expected| {
                    ConfigError::InvalidSetting {
                        setting: "with_metrics_bearer_token",
                        value: hidden(&token.0),
                        expected: expected.to_owned(),
                    }
                })?),
                None => env.get_secret("METRICS_BEARER_TOKEN", bearer_token)?,
            };
        let exemplars = pick(
            self.exemplars,
            env.get("OTELIX_EXEMPLARS", parse::bool)?,
            true,
        );
        let log_format = pick(
            self.log_format,
            env.get("LOG_FORMAT", LogFormat::parse)?,
            match environment {
                Environment::Development => LogFormat::Pretty,
                Environment::Production => LogFormat::Json,
            },
        );
        let log_filter = match self.log_filter {
            Some(f) => setting("with_log_filter", &f, parse_filter)?,
            None => env
                .get("RUST_LOG", parse_filter)?
                .unwrap_or_else(|| "info".to_owned()),
        };
        let shutdown_timeout = match self.shutdown_timeout {
            Some(d) => positive_duration("with_shutdown_timeout", d)?,
            None => env
                .get("OTELIX_SHUTDOWN_TIMEOUT", parse::positive_millis)?
                .unwrap_or(Duration::from_secs(5)),
        };

        Ok(Config {
            sdk_disabled,
            service_name,
            service_version,
            resource_attributes,
            environment,
            protocol,
            traces_endpoint,
            metrics_endpoint_otlp,
            logs_endpoint,
            otlp_headers,
            otlp_timeout,
            sampler,
            traces_exporters,
            metrics_exporters,
            logs_exporters,
            metric_export_interval,
            batch,
            log_batch,
            prometheus_enabled,
            metrics_path,
            metrics_addr,
            metrics_bearer_token,
            exemplars,
            log_format,
            log_filter,
            shutdown_timeout,
            slow_query,
        })
    }

    fn slow_query_settings(
        &self,
        env: &Env<'_>,
        environment: Environment,
        service_name: &str,
    ) -> Result<SlowQuerySettings, ConfigError> {
        let defaults = SlowQuerySettings::default();
        let threshold = match self.slow_query_threshold {
            Some(d) => positive_duration("with_slow_query_threshold", d)?,
            None => env
                .get("SLOW_QUERY_THRESHOLD_SECONDS", parse::positive_seconds)?
                .unwrap_or(defaults.threshold),
        };
        let critical = match self.slow_query_critical {
            Some(d) => positive_duration("with_slow_query_critical", d)?,
            None => env
                .get("SLOW_QUERY_CRITICAL_SECONDS", parse::positive_seconds)?
                .unwrap_or(defaults.critical),
        };
        if critical < threshold {
            return Err(ConfigError::InvalidEnv {
                var: "SLOW_QUERY_CRITICAL_SECONDS",
                value: critical.as_secs_f64().to_string(),
                expected: format!(
                    "at least SLOW_QUERY_THRESHOLD_SECONDS ({})",
                    threshold.as_secs_f64()
                ),
            });
        }
        let log_file = match &self.slow_query_log_file {
            Some(p) => p.clone(),
            None => env
                .get("SLOW_QUERY_LOG_FILE", parse::file_path)?
                .unwrap_or_else(|| {
                    match environment {
                        Environment::Development => PathBuf::from("./logs/slow_queries.log"),
                        Environment::Production => {
                            // A service name is free text; keep the directory name tame.
                            let dir: String = service_name
                                .chars()
                                .map(|c| {
                                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                                        c
                                    } else {
                                        '_'
                                    }
                                })
                                .collect();
                            PathBuf::from(format!("/var/log/{dir}/slow_queries.log"))
                        }
                    }
                }),
        };
        let max_bytes = match self.slow_query_log_max_bytes {
            Some(n) => n,
            None => env
                .get("SLOW_QUERY_LOG_MAX_BYTES", parse::whole_number)?
                .unwrap_or(defaults.max_bytes),
        };
        let backups = match self.slow_query_log_backups {
            Some(n) => n,
            None => env
                .get("SLOW_QUERY_LOG_BACKUPS", parse::whole_number)?
                .map_or(defaults.backups, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
        };
        let n_plus_one_threshold = match self.n_plus_one_threshold {
            Some(n) => n,
            None => env
                .get("N_PLUS_ONE_THRESHOLD", parse::whole_number)?
                .map_or(defaults.n_plus_one_threshold, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
        };
        Ok(SlowQuerySettings {
            threshold,
            critical,
            log_file,
            max_bytes,
            backups,
            n_plus_one_threshold,
            ..defaults
        })
    }
}

fn parse_filter(raw: &str) -> Result<String, &'static str> {
    tracing_subscriber::EnvFilter::builder()
        .parse(raw)
        .map(|_| raw.to_owned())
        .map_err(|_| "tracing filter directives, such as info or info,my_crate=debug")
}

struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<OsString>,
}

impl Env<'_> {
    fn get<T>(
        &self,
        var: &'static str,
        parse: impl FnOnce(&str) -> Result<T, &'static str>,
    ) -> Result<Option<T>, ConfigError> {
        self.get_showing(var, parse, str::to_owned)
    }

    /// As [`Env::get`] for a secret: an error names the variable and what is wrong, never the
    /// value.
    fn get_secret<T>(
        &self,
        var: &'static str,
        parse: impl FnOnce(&str) -> Result<T, &'static str>,
    ) -> Result<Option<T>, ConfigError> {
        self.get_showing(var, parse, hidden)
    }

    /// The parsed value of `var`; `None` when unset or blank. An error shows the value as
    /// `show` renders it.
    fn get_showing<T>(
        &self,
        var: &'static str,
        parse: impl FnOnce(&str) -> Result<T, &'static str>,
        show: impl FnOnce(&str) -> String,
    ) -> Result<Option<T>, ConfigError> {
        let Some(raw) = (self.lookup)(var) else {
            return Ok(None);
        };
        let raw = raw
            .into_string()
            .map_err(|_| ConfigError::NotUnicode { var })?;
        if raw.trim().is_empty() {
            return Ok(None);
        }
        parse(&raw)
            .map(Some)
            .map_err(|expected| ConfigError::InvalidEnv {
                var,
                value: show(&raw),
                expected: expected.to_owned(),
            })
    }
}

/// What an error shows of a secret: its length only.
fn hidden(secret: &str) -> String {
    format!("({} characters, hidden)", secret.chars().count())
}

/// A secret setting: its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

/// A bearer token: 16 to 256 visible ASCII characters (RFC 6750's token68 and more).
fn bearer_token(raw: &str) -> Result<Secret, &'static str> {
    let token = raw.trim();
    if (16..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(Secret(token.to_owned()))
    } else {
        Err("16 to 256 visible ASCII characters, without spaces")
    }
}

fn pick<T>(code: Option<T>, env: Option<T>, default: T) -> T {
    code.or(env).unwrap_or(default)
}

fn setting<T>(
    setting: &'static str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Result<T, ConfigError> {
    parse(value).map_err(|expected| ConfigError::InvalidSetting {
        setting,
        value: value.to_owned(),
        expected: expected.to_owned(),
    })
}

fn non_empty(name: &'static str, value: String) -> Result<String, ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::InvalidSetting {
            setting: name,
            value,
            expected: "a non-empty name".to_owned(),
        });
    }
    Ok(value)
}

fn positive_duration(name: &'static str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        return Err(ConfigError::InvalidSetting {
            setting: name,
            value: format!("{d:?}"),
            expected: "a duration greater than 0".to_owned(),
        });
    }
    Ok(d)
}

fn take_key(pairs: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let pos = pairs.iter().rposition(|(k, _)| k == key)?;
    let (_, value) = pairs.remove(pos);
    pairs.retain(|(k, _)| k != key);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::builder().build_from_vars(vars.iter().copied())
    }

    #[test]
    fn defaults_without_any_variable() {
        let c = from(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.sdk_disabled());
        assert_eq!(c.service_name(), "unknown_service");
        assert_eq!(c.environment(), Environment::Development);
        assert_eq!(c.protocol(), Protocol::Grpc);
        assert_eq!(c.traces_endpoint(), "http://localhost:4317");
        assert_eq!(c.otlp_timeout(), Duration::from_secs(10));
        assert_eq!(c.sampler(), SamplerKind::ParentBasedAlwaysOn);
        assert_eq!(c.traces_exporters(), Exporters::OTLP);
        assert_eq!(c.metric_export_interval(), Duration::from_secs(60));
        assert_eq!(c.batch(), BatchSettings::default());
        assert!(c.prometheus_enabled());
        assert_eq!(c.metrics_path(), "/metrics");
        assert_eq!(c.log_format(), LogFormat::Pretty);
        assert_eq!(c.log_filter(), "info");
        assert_eq!(c.shutdown_timeout(), Duration::from_secs(5));
    }

    #[test]
    fn every_variable_is_read() {
        let c = from(&[
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_SERVICE_NAME", "svc"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=ignored,service.version=1.2.3,team=core%2Fplatform",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://logs:9999/custom",
            ),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://traces.example.com/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret%3D1"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
            ("OTEL_TRACES_EXPORTER", "otlp,console"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "console"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "200"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "4096"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1024"),
            ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "3"),
            ("APP_ENV", "production"),
            ("LOG_FORMAT", "pretty"),
            ("PROMETHEUS_ENABLED", "false"),
            ("METRICS_ENDPOINT", "/internal/metrics"),
            ("RUST_LOG", "warn,otelix=debug"),
            ("OTELIX_SHUTDOWN_TIMEOUT", "750"),
            ("SLOW_QUERY_THRESHOLD_SECONDS", "0.5"),
            ("SLOW_QUERY_CRITICAL_SECONDS", "2"),
            ("SLOW_QUERY_LOG_FILE", "/tmp/otelix/slow.log"),
            ("SLOW_QUERY_LOG_MAX_BYTES", "1024"),
            ("SLOW_QUERY_LOG_BACKUPS", "0"),
            ("N_PLUS_ONE_THRESHOLD", "3"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.sdk_disabled());
        assert_eq!(c.service_name(), "svc");
        assert_eq!(c.service_version(), Some("1.2.3"));
        assert_eq!(
            c.resource_attributes(),
            &[("team".to_owned(), "core/platform".to_owned())]
        );
        assert_eq!(c.protocol(), Protocol::HttpProtobuf);
        assert_eq!(c.traces_endpoint(), "https://traces.example.com/v1/traces");
        assert_eq!(
            c.otlp_metrics_endpoint(),
            "http://collector:4318/v1/metrics"
        );
        assert_eq!(c.logs_endpoint(), "http://logs:9999/custom");
        assert_eq!(
            c.otlp_headers(),
            &[("api-key".to_owned(), "secret=1".to_owned())]
        );
        assert_eq!(c.otlp_timeout(), Duration::from_millis(2500));
        assert_eq!(c.sampler(), SamplerKind::ParentBasedTraceIdRatio(0.5));
        assert_eq!(
            c.traces_exporters(),
            Exporters {
                otlp: true,
                console: true
            }
        );
        assert_eq!(c.metrics_exporters(), Exporters::NONE);
        assert_eq!(
            c.logs_exporters(),
            Exporters {
                otlp: false,
                console: true
            }
        );
        assert_eq!(c.metric_export_interval(), Duration::from_secs(1));
        assert_eq!(
            c.batch(),
            BatchSettings {
                schedule_delay: Duration::from_millis(100),
                export_timeout: Duration::from_millis(200),
                max_queue_size: 4096,
                max_export_batch_size: 1024,
                max_concurrent_exports: 3
            }
        );
        assert_eq!(c.environment(), Environment::Production);
        assert!(!c.prometheus_enabled());
        assert_eq!(c.metrics_path(), "/internal/metrics");
        assert_eq!(c.log_format(), LogFormat::Pretty);
        assert_eq!(c.log_filter(), "warn,otelix=debug");
        assert_eq!(c.shutdown_timeout(), Duration::from_millis(750));
        let sq = c.slow_query();
        assert_eq!(sq.threshold, Duration::from_millis(500));
        assert_eq!(sq.critical, Duration::from_secs(2));
        assert_eq!(sq.log_file, PathBuf::from("/tmp/otelix/slow.log"));
        assert_eq!(sq.max_bytes, 1024);
        assert_eq!(sq.backups, 0);
        assert_eq!(sq.n_plus_one_threshold, 3);
    }

    #[test]
    fn slow_query_log_location_follows_the_environment() {
        let dev = from(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            dev.slow_query().log_file,
            PathBuf::from("./logs/slow_queries.log")
        );
        let prod = from(&[
            ("APP_ENV", "production"),
            ("OTEL_SERVICE_NAME", "wwmaa backend"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            prod.slow_query().log_file,
            PathBuf::from("/var/log/wwmaa_backend/slow_queries.log")
        );
    }

    #[test]
    fn a_default_service_name_yields_to_the_environment() {
        let named = |vars: &[(&str, &str)]| {
            Config::builder()
                .with_default_service_name("binary")
                .build_from_vars(vars.iter().copied())
                .map(|c| c.service_name().to_owned())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(named(&[]), "binary");
        assert_eq!(named(&[("OTEL_SERVICE_NAME", "from-env")]), "from-env");
        assert_eq!(
            named(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=attr")]),
            "attr"
        );
    }

    #[test]
    fn critical_below_threshold_is_an_error() {
        let err = from(&[
            ("SLOW_QUERY_THRESHOLD_SECONDS", "3"),
            ("SLOW_QUERY_CRITICAL_SECONDS", "2"),
        ]);
        assert!(matches!(
            err,
            Err(ConfigError::InvalidEnv {
                var: "SLOW_QUERY_CRITICAL_SECONDS",
                ..
            })
        ));
    }

    #[test]
    fn invalid_values_are_errors_naming_the_variable_and_the_value() {
        let cases = [
            ("OTEL_SDK_DISABLED", "perhaps"),
            ("OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "not a url"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "ftp://x"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "bad header=1"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
            ("OTEL_METRICS_EXPORTER", "none,otlp"),
            ("OTEL_LOGS_EXPORTER", "jaeger"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
            ("OTEL_BSP_SCHEDULE_DELAY", "-1"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "soon"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many"),
            ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "0"),
            ("APP_ENV", "staging"),
            ("PROMETHEUS_ENABLED", "maybe"),
            ("METRICS_ENDPOINT", "metrics"),
            ("METRICS_ADDR", "localhost"),
            ("OTELIX_EXEMPLARS", "sometimes"),
            ("LOG_FORMAT", "xml"),
            ("RUST_LOG", "info,[=="),
            ("OTELIX_SHUTDOWN_TIMEOUT", "forever"),
            ("SLOW_QUERY_THRESHOLD_SECONDS", "1s"),
            ("SLOW_QUERY_CRITICAL_SECONDS", "-5"),
            ("SLOW_QUERY_LOG_FILE", "logs/"),
            ("SLOW_QUERY_LOG_MAX_BYTES", "10MB"),
            ("SLOW_QUERY_LOG_BACKUPS", "five"),
            ("N_PLUS_ONE_THRESHOLD", "-1"),
        ];
        for (var, value) in cases {
            let err = match from(&[(var, value)]) {
                Ok(_) => panic!("{var}={value} was accepted"),
                Err(e) => e,
            };
            let msg = err.to_string();
            assert!(msg.contains(var), "{msg} does not name {var}");
            let shown = if var == "OTEL_EXPORTER_OTLP_HEADERS" {
                "bad header"
            } else {
                value
            };
            assert!(msg.contains(shown), "{msg} does not show {value:?}");
        }
    }

    #[test]
    fn the_metrics_listener_and_token() {
        assert!(from(&[]).is_ok_and(|c| c.exemplars()));
        assert!(from(&[("OTELIX_EXEMPLARS", "false")]).is_ok_and(|c| !c.exemplars()));
        let c = from(&[
            ("METRICS_ADDR", "127.0.0.1:9464"),
            ("METRICS_BEARER_TOKEN", " s3cret-token-0123456789 "),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.metrics_addr(), Some(([127, 0, 0, 1], 9464).into()));
        assert_eq!(c.metrics_bearer_token(), Some("s3cret-token-0123456789"));
        assert!(
            !format!("{c:?}").contains("s3cret"),
            "Debug shows the token"
        );
        let builder = Config::builder().with_metrics_bearer_token("s3cret-token-0123456789");
        assert!(!format!("{builder:?}").contains("s3cret"));
        let defaults = from(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(defaults.metrics_addr(), None);
        assert_eq!(defaults.metrics_bearer_token(), None);

        // An unusable token is an error that names the variable, never the value.
        for bad in ["short", "has a space in the middle ok", &"x".repeat(300)] {
            let Err(err) = from(&[("METRICS_BEARER_TOKEN", bad)]) else {
                panic!("an unusable token was accepted");
            };
            let msg = err.to_string();
            assert!(msg.contains("METRICS_BEARER_TOKEN"), "{msg}");
            assert!(!msg.contains(bad), "{msg} shows the secret");
            let Err(err) = Config::builder()
                .with_metrics_bearer_token(bad)
                .build_from_vars(Vec::<(String, String)>::new())
            else {
                panic!("an unusable token was accepted");
            };
            let msg = err.to_string();
            assert!(
                msg.contains("with_metrics_bearer_token") && !msg.contains(bad),
                "{msg}"
            );
        }
    }

    #[test]
    fn every_documented_variable_has_a_valid_and_an_invalid_case_above() {
        // Keeps ENV_VARS, the parser and the tests in step: each variable appears in at least
        // two `(name, value)` pairs of this module, a valid one and an invalid one.
        let src = include_str!("mod.rs");
        let tests = &src[src.find("mod tests {").unwrap_or(0)..];
        for var in ENV_VARS {
            let quoted = format!("\"{}\",", var.name);
            assert!(
                tests.matches(&quoted).count() >= 2,
                "{} lacks a valid and an invalid case",
                var.name
            );
        }
    }

    #[test]
    fn batch_larger_than_queue_is_an_error() {
        let err = from(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"),
        ]);
        assert!(matches!(
            err,
            Err(ConfigError::InvalidEnv {
                var: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                ..
            })
        ));
    }

    #[test]
    fn log_batch_settings_come_from_blrp_variables() {
        let defaults = from(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(defaults.log_batch().max_queue_size, 2_048);
        assert_eq!(defaults.log_batch().schedule_delay, Duration::from_secs(1));
        let c = from(&[
            ("OTEL_BLRP_SCHEDULE_DELAY", "250"),
            ("OTEL_BLRP_EXPORT_TIMEOUT", "4000"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "10"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.log_batch(),
            BatchSettings {
                schedule_delay: Duration::from_millis(250),
                export_timeout: Duration::from_secs(4),
                max_queue_size: 100,
                max_export_batch_size: 10,
                max_concurrent_exports: 1,
            }
        );
        for (var, bad) in [
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "lots"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "0"),
            ("OTEL_BLRP_EXPORT_TIMEOUT", "soon"),
        ] {
            let err = from(&[(var, bad)]).map(|_| ());
            assert!(
                matches!(&err, Err(e) if e.to_string().contains(var) && e.to_string().contains(bad)),
                "{var}={bad}: {err:?}"
            );
        }
        let err = from(&[
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "200"),
        ]);
        assert!(matches!(
            err,
            Err(ConfigError::InvalidEnv {
                var: "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
                ..
            })
        ));
    }

    #[test]
    fn code_wins_over_environment() {
        let c = Config::builder()
            .with_service_name("from-code")
            .with_prometheus_enabled(true)
            .with_protocol(Protocol::Grpc)
            .with_endpoint("http://code:4317")
            .with_otlp_header("api-key", "code")
            .with_resource_attribute("team", "code")
            .with_sampler(SamplerKind::AlwaysOff)
            .build_from_vars([
                ("OTEL_SERVICE_NAME", "from-env"),
                ("PROMETHEUS_ENABLED", "false"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=env,other=1"),
                ("OTEL_RESOURCE_ATTRIBUTES", "team=env"),
                ("OTEL_TRACES_SAMPLER", "always_on"),
            ])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.service_name(), "from-code");
        assert!(c.prometheus_enabled());
        assert_eq!(c.protocol(), Protocol::Grpc);
        assert_eq!(c.traces_endpoint(), "http://code:4317");
        assert_eq!(
            c.otlp_headers(),
            &[
                ("other".to_owned(), "1".to_owned()),
                ("api-key".to_owned(), "code".to_owned())
            ]
        );
        assert_eq!(
            c.resource_attributes(),
            &[("team".to_owned(), "code".to_owned())]
        );
        assert_eq!(c.sampler(), SamplerKind::AlwaysOff);
    }

    #[test]
    fn invalid_code_values_name_the_setter() {
        let err = Config::builder()
            .with_sampler(SamplerKind::TraceIdRatio(2.0))
            .build_from_vars(Vec::<(String, String)>::new());
        assert!(err.is_err_and(|e| e.to_string().contains("with_sampler")));
        let err = Config::builder()
            .with_endpoint("nope")
            .build_from_vars(Vec::<(String, String)>::new());
        assert!(err.is_err_and(
            |e| e.to_string().contains("with_endpoint") && e.to_string().contains("nope")
        ));
        let err = Config::builder()
            .with_metric_export_interval(Duration::ZERO)
            .build_from_vars(Vec::<(String, String)>::new());
        assert!(err.is_err_and(|e| e.to_string().contains("with_metric_export_interval")));
    }

    #[test]
    fn log_format_follows_the_environment_unless_set() {
        let c = from(&[("APP_ENV", "production")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.log_format(), LogFormat::Json);
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let c = from(&[("PROMETHEUS_ENABLED", ""), ("OTEL_SERVICE_NAME", " ")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.prometheus_enabled());
        assert_eq!(c.service_name(), "unknown_service");
    }

    #[test]
    fn grpc_signal_endpoints_share_the_base_url() {
        let c = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.traces_endpoint(), "http://collector:4317");
        assert_eq!(c.otlp_metrics_endpoint(), "http://collector:4317");
        assert_eq!(c.logs_endpoint(), "http://collector:4317");
        let c = from(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4317")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.otlp_metrics_endpoint(), "http://metrics:4317");
        assert_eq!(c.traces_endpoint(), "http://localhost:4317");
    }

    #[cfg(unix)]
    #[test]
    fn non_unicode_values_are_errors() {
        use std::os::unix::ffi::OsStringExt;
        let err = Config::builder()
            .resolve(&|name| (name == "APP_ENV").then(|| OsString::from_vec(vec![0xff, 0xfe])));
        assert_eq!(err.err(), Some(ConfigError::NotUnicode { var: "APP_ENV" }));
    }
}
