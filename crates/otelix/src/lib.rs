//! # otelix
//!
//! OpenTelemetry-native instrumentation for Rust services: one call sets up traces, metrics
//! and logs that share one ID, exported over OTLP (gRPC or HTTP/protobuf) and served to
//! Prometheus through a bridge.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = otelix::init(otelix::Config::from_env()?)?;
//! tracing::info!("service started"); // carries trace_id/span_id inside spans
//! // ... run the service ...
//! telemetry.shutdown()?; // or drop the guard: flushes within OTELIX_SHUTDOWN_TIMEOUT
//! # Ok(())
//! # }
//! ```
//!
//! Configuration comes from code ([`Config::builder`]) and from the standard `OTEL_*`
//! variables plus a few of otelix's own ([`ENV_VARS`] lists them all).
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `otlp-grpc` | on | OTLP over gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, the default) |
//! | `otlp-http` | on | OTLP over HTTP/protobuf (`OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`) |
//! | `prometheus` | on | the Prometheus bridge (`PROMETHEUS_ENABLED`), `openmetrics`, `TelemetryHandle::render_prometheus` |
//! | `sqlx` | | `db`: instrumented sqlx pools |
//! | `redis` | | `cache::RedisCache` |
//! | `reqwest` | | `external::ExternalClient` |
//!
//! Selecting a protocol or the bridge that the build lacks is an [`InitError::FeatureDisabled`]
//! from [`init`], naming the variable and the feature.
//!
//! # Where things live
//!
//! The modules follow the data's path, from set-up to the wire (`docs/architecture.md` draws
//! it, step by step):
//!
//! | module | what it holds |
//! |---|---|
//! | `config` | [`Config`], its builder, the settings table every default is written in once ([`ENV_VARS`]), [`ConfigError`] |
//! | `pipeline` | [`init`], [`Telemetry`]: the tracer, meter and logger providers, sampler, resource, log lines, shutdown |
//! | `process` | span and log processors: [`BatchExportProcessor`], [`BatchLogExportProcessor`], [`SlowQueryProcessor`] |
//! | `export` | OTLP exporters, and the `/metrics` side: [`openmetrics`], [`exemplars`] |
//! | [`instrument`] | what a request calls: [`db`] (feature `sqlx`), [`cache`], [`external`](mod@external), [`jobs`] |
//! | [`context`] | trace context and baggage propagation, request IDs, [`RequestRoute`] |
//! | [`redact`], [`sql`] | shared by several stages: URL and query redaction; SQL sanitizing and reading |
//! | [`names`] | every metric and attribute name otelix emits, read by the docs, dashboards and tests |
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
pub mod context;
mod export;
pub mod instrument;
pub mod names;
mod pipeline;
mod process;
pub mod redact;
pub mod sql;

pub use otelix_macros::{external, job};

pub use config::{
    BatchSettings, Compression, Config, ConfigBuilder, ConfigError, EnvVar, Environment, Exporters,
    LogFormat, OtlpExport, Protocol, SamplerKind, Secret, SettingPath, Signal, TlsFiles, ENV_VARS,
};
pub use context::{
    propagator, sanitize_request_id, HeaderExtractor, HeaderInjector, RequestRoute,
    W3CTraceContextPropagator,
};
pub use export::exemplars;
#[cfg(feature = "prometheus")]
pub use export::openmetrics;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub use export::otlp::TlsError;
#[cfg(feature = "sqlx")]
pub use instrument::db;
pub use instrument::{cache, external, jobs};
pub use pipeline::{
    init, FlushFailure, InitError, RenderError, ShutdownError, Telemetry, TelemetryBuilder,
    TelemetryHandle, DURATION_BUCKETS_SECONDS, SCOPE_NAME,
};
pub use process::{
    BatchExportProcessor, BatchLogExportProcessor, ExportHandle, SlowQueryHandle,
    SlowQueryProcessor, SlowQuerySettings,
};
pub use sql::{sanitize_query, sanitize_query_with, SqlDialect, MAX_SANITIZED_LEN};
