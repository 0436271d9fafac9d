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
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cache;
mod config;
#[cfg(feature = "sqlx")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx")))]
pub mod db;
pub mod exemplars;
mod export;
pub mod external;
mod instrumentation;
pub mod jobs;
mod logging;
pub mod openmetrics;
mod otlp_grpc;
mod propagation;
mod slow_query;
mod telemetry;

pub use otelix_macros::{external, job};

pub use config::{
    BatchSettings, Config, ConfigBuilder, ConfigError, EnvVar, Environment, Exporters, LogFormat,
    Protocol, SamplerKind, ENV_VARS,
};
pub use export::{BatchExportProcessor, BatchLogExportProcessor, ExportHandle, DROPPED_METRIC};
pub use propagation::{
    propagator, sanitize_request_id, HeaderExtractor, HeaderInjector, W3CTraceContextPropagator,
};
pub use slow_query::{
    sanitize_query, sanitize_query_with, RequestRoute, SlowQueryHandle, SlowQueryProcessor,
    SlowQuerySettings, SqlDialect, MAX_SANITIZED_LEN,
};
pub use telemetry::{
    init, InitError, RenderError, ShutdownError, Telemetry, TelemetryBuilder, TelemetryHandle,
    DURATION_BUCKETS_SECONDS, SCOPE_NAME,
};
