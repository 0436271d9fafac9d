//! Configuration: [`Config::builder`] for code, [`Config::from_env`] for the environment.
//!
//! Every setting has a default, an environment variable and a builder method, written once in
//! the settings table (`settings.rs`), from which the resolver, the error messages, the
//! builder's setters and [`ENV_VARS`] (and from it the README's configuration table) are
//! produced. A value set in code wins over the environment; the environment wins over the
//! default. An invalid value is an error that names the variable (or the builder method) and
//! the value: it is never replaced by a default behind the user's back. An empty variable
//! counts as unset, as the OpenTelemetry specification asks.
//!
//! ```
//! use otelix::{Config, Protocol};
//!
//! let config = Config::builder()
//!     .with_service_name("checkout")
//!     .with_otlp_protocol(Protocol::HttpProtobuf)
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
//!
//! | file | what it holds |
//! |---|---|
//! | `settings.rs` | the table: one row per variable (builder method, value, default, meaning, parser) |
//! | `table.rs` | what a row is, and the macro that turns rows into constants, [`ENV_VARS`] and setters |
//! | `resolve.rs` | code, else environment, else default; the settings that depend on others |
//! | `parse.rs` | the parsers and checks the rows name |
//! | `types.rs`, `error.rs` | the value types ([`Protocol`], [`SamplerKind`], ...) and [`ConfigError`] |

mod error;
mod otlp;
mod parse;
mod resolve;
mod resolve_otlp;
mod settings;
mod slow_query;
mod table;
mod types;

use std::collections::HashMap;
use std::ffi::OsString;
use std::time::Duration;

use opentelemetry_sdk::metrics::Temporality;

pub use error::ConfigError;
pub use otlp::{Compression, OtlpExport, SettingPath, Signal, TlsFiles};
pub use settings::ENV_VARS;
pub use slow_query::SlowQuerySettings;
pub use table::EnvVar;
pub use types::{BatchSettings, Environment, Exporters, LogFormat, Protocol, SamplerKind, Secret};

/// A validated configuration. Build one with [`Config::builder`] or [`Config::from_env`].
#[derive(Debug, Clone)]
pub struct Config {
    sdk_disabled: bool,
    service_name: String,
    service_version: Option<String>,
    resource_attributes: Vec<(String, String)>,
    environment: Environment,
    otlp: [OtlpExport; 3],
    sampler: SamplerKind,
    traces_exporters: Exporters,
    metrics_exporters: Exporters,
    logs_exporters: Exporters,
    metric_export_interval: Duration,
    metric_export_timeout: Duration,
    metrics_temporality: Temporality,
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
    /// One signal's OTLP exporter settings: protocol, endpoint, headers, compression,
    /// timeout and TLS files, each from the signal's own setting or the general one.
    pub fn otlp(&self, signal: Signal) -> &OtlpExport {
        &self.otlp[signal.index()]
    }
    /// The URL spans are exported to (`otlp(Signal::Traces).endpoint`).
    pub fn traces_endpoint(&self) -> &str {
        &self.otlp(Signal::Traces).endpoint
    }
    /// The URL metrics are exported to over OTLP (`otlp(Signal::Metrics).endpoint`).
    pub fn otlp_metrics_endpoint(&self) -> &str {
        &self.otlp(Signal::Metrics).endpoint
    }
    /// The URL log records are exported to (`otlp(Signal::Logs).endpoint`).
    pub fn logs_endpoint(&self) -> &str {
        &self.otlp(Signal::Logs).endpoint
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
    /// Time allowed for one OTLP metric export, retries included.
    pub fn metric_export_timeout(&self) -> Duration {
        self.metric_export_timeout
    }
    /// The aggregation temporality of OTLP metrics
    /// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    pub fn metrics_temporality(&self) -> Temporality {
        self.metrics_temporality
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
///
/// Each setter is named after the variable it mirrors and documents its default; the ones
/// not listed here are generated from the settings table (see [`ENV_VARS`]).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ConfigBuilder {
    code: settings::CodeValues,
    default_service_name: Option<String>,
    service_version: Option<String>,
    resource_attributes: Vec<(String, String)>,
    otlp_headers: Vec<(String, Secret)>,
    signal_headers: [Vec<(String, Secret)>; 3],
    sampler: Option<SamplerKind>,
    metrics_bearer_token: Option<Secret>,
}

impl ConfigBuilder {
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
    /// Adds a header to every OTLP request of every signal; wins over the same name (in any
    /// case) in `OTEL_EXPORTER_OTLP_HEADERS` and its per-signal forms. Default none. The value
    /// is a secret: it never appears in `Debug` output or errors.
    pub fn with_otlp_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp_headers.push((key.into(), Secret(value.into())));
        self
    }
    /// Adds a header to every OTLP request of spans; wins over the same name in
    /// [`with_otlp_header`](Self::with_otlp_header) and the variables.
    pub fn with_otlp_traces_header(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.with_signal_header(Signal::Traces, key.into(), value.into())
    }
    /// Adds a header to every OTLP request of metrics; wins over the same name in
    /// [`with_otlp_header`](Self::with_otlp_header) and the variables.
    pub fn with_otlp_metrics_header(
        self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.with_signal_header(Signal::Metrics, key.into(), value.into())
    }
    /// Adds a header to every OTLP request of log records; wins over the same name in
    /// [`with_otlp_header`](Self::with_otlp_header) and the variables.
    pub fn with_otlp_logs_header(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.with_signal_header(Signal::Logs, key.into(), value.into())
    }
    fn with_signal_header(mut self, signal: Signal, key: String, value: String) -> Self {
        self.signal_headers[signal.index()].push((key, Secret(value)));
        self
    }
    /// The trace sampler, with its ratio. Default parent-based always-on; env
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    pub fn with_traces_sampler(mut self, sampler: SamplerKind) -> Self {
        self.sampler = Some(sampler);
        self
    }
    /// Requires `Authorization: Bearer <token>` on the metrics endpoints. Default: no token;
    /// env `METRICS_BEARER_TOKEN`. The token must be 16 to 256 visible ASCII characters.
    pub fn with_metrics_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.metrics_bearer_token = Some(Secret(token.into()));
        self
    }

    /// Resolves every setting against the process environment.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first variable or setting with an invalid value.
    pub fn build(self) -> Result<Config, ConfigError> {
        self.resolve(&resolve::Vars::new(&|name| std::env::var_os(name)))
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
        self.resolve(&resolve::Vars::new(&|name| {
            vars.get(name).map(OsString::from)
        }))
    }
}

#[cfg(test)]
mod otlp_tests;
#[cfg(test)]
mod tests;
