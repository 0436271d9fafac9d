//! What setting up, rendering and shutting down telemetry can fail with.

use std::time::Duration;

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// An OTLP exporter could not be built from the configuration (its HTTP client could not
    /// be set up).
    #[error("could not build the OTLP {signal} exporter for {endpoint}: {source}")]
    Exporter {
        /// `traces`, `metrics` or `logs`.
        signal: &'static str,
        /// Where it would have exported.
        endpoint: String,
        /// What failed.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A TLS file an OTLP setting names cannot be used: unreadable, not PEM, without a
    /// certificate or key, or a key that does not match its certificate.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    #[error("{setting}={}: {source}", .path.display())]
    Tls {
        /// The variable or builder method that named the file, such as
        /// `OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY`.
        setting: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        source: crate::TlsError,
    },
    /// A client certificate was given without its private key, or a key without its
    /// certificate: mTLS needs both.
    #[error("{given}={} is set but {missing} is not: mTLS needs the client certificate and its key", .path.display())]
    ClientAuthIncomplete {
        /// The setting that was given.
        given: &'static str,
        /// The file it names.
        path: std::path::PathBuf,
        /// The setting that is missing, of the same signal and form.
        missing: String,
    },
    /// An OTLP endpoint is not a URI the transport can connect to.
    #[error("the OTLP {signal} endpoint {endpoint} is not a valid URI: {source}")]
    InvalidEndpoint {
        /// `traces`, `metrics` or `logs`.
        signal: &'static str,
        /// The endpoint as configured.
        endpoint: String,
        /// Why it does not parse.
        source: http::uri::InvalidUri,
    },
    /// A setting asks for a transport or bridge that this build of otelix was compiled
    /// without, such as `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` without the `otlp-grpc` feature.
    #[error("{variable}={value} needs otelix's `{feature}` feature, which this build was compiled without: add \"{feature}\" to otelix's features in Cargo.toml, or set {variable} to another value (in the environment or through Config::builder)")]
    FeatureDisabled {
        /// The environment variable that selects it (the builder method mirrors it).
        variable: &'static str,
        /// The value selected.
        value: &'static str,
        /// The otelix feature to enable.
        feature: &'static str,
    },
    /// The Prometheus bridge could not be registered.
    #[error("could not set up the Prometheus bridge: {0}")]
    Prometheus(#[source] opentelemetry_sdk::error::OTelSdkError),
    /// The background runtime that drives gRPC exports could not start.
    #[error("could not start the otelix export runtime: {0}")]
    Runtime(std::io::Error),
    /// [`init`](crate::init) found a global `tracing` subscriber already installed.
    #[error("a global tracing subscriber is already installed; use Telemetry::builder(..).build() and install it yourself")]
    SubscriberAlreadySet,
}

/// Why a shutdown did not complete cleanly. Telemetry is off afterwards either way.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownError {
    /// Flushing did not finish within the deadline; what was still buffered is lost.
    #[error("telemetry flush did not finish within {0:?}; buffered telemetry was dropped")]
    Timeout(Duration),
    /// One or more providers reported errors while flushing (for example, the collector
    /// refused); each failure names its signal.
    #[error("telemetry flush failed, what was still buffered is lost (is the collector reachable?): {}", FlushFailure::list(.0))]
    Flush(Vec<FlushFailure>),
}

/// One signal's failure to flush.
#[derive(Debug, thiserror::Error)]
#[error("{signal}: {source}")]
#[non_exhaustive]
pub struct FlushFailure {
    /// `traces`, `metrics` or `logs`.
    pub signal: &'static str,
    /// What its provider said.
    pub source: opentelemetry_sdk::error::OTelSdkError,
}

impl FlushFailure {
    fn list(failures: &[FlushFailure]) -> String {
        failures
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Why the Prometheus text could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// `PROMETHEUS_ENABLED` is false.
    #[error("the Prometheus bridge is disabled (PROMETHEUS_ENABLED=false)")]
    Disabled,
    /// The registry's content could not be encoded.
    #[cfg(feature = "prometheus")]
    #[error("could not encode metrics: {0}")]
    Encode(#[source] prometheus::Error),
}
