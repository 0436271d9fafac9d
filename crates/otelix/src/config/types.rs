//! The value types of settings that are more than a number or a string.

use std::time::Duration;

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

    pub(super) fn parse(raw: &str) -> Result<Self, &'static str> {
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

    pub(super) fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            _ => Err("grpc or http/protobuf (http/json is not supported)"),
        }
    }

    pub(super) fn default_endpoint(self) -> &'static str {
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
    pub(super) fn parse(raw: &str) -> Result<Self, &'static str> {
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
    /// The ratio of the `*TraceIdRatio` samplers.
    pub(super) fn ratio(self) -> Option<f64> {
        match self {
            SamplerKind::TraceIdRatio(r) | SamplerKind::ParentBasedTraceIdRatio(r) => Some(r),
            _ => None,
        }
    }
}

/// `OTEL_TRACES_SAMPLER` on its own: the sampler without its ratio, which
/// `OTEL_TRACES_SAMPLER_ARG` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SamplerName {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio,
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedTraceIdRatio,
}

impl SamplerName {
    pub(super) fn parse(raw: &str) -> Result<Self, &'static str> {
        Ok(match raw.trim() {
            "always_on" => SamplerName::AlwaysOn,
            "always_off" => SamplerName::AlwaysOff,
            "traceidratio" => SamplerName::TraceIdRatio,
            "parentbased_always_on" => SamplerName::ParentBasedAlwaysOn,
            "parentbased_always_off" => SamplerName::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => SamplerName::ParentBasedTraceIdRatio,
            _ => return Err(
                "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
            ),
        })
    }

    /// The sampler, with the ratio for the two that take one.
    pub(super) fn with_ratio(self, ratio: f64) -> SamplerKind {
        match self {
            SamplerName::AlwaysOn => SamplerKind::AlwaysOn,
            SamplerName::AlwaysOff => SamplerKind::AlwaysOff,
            SamplerName::TraceIdRatio => SamplerKind::TraceIdRatio(ratio),
            SamplerName::ParentBasedAlwaysOn => SamplerKind::ParentBasedAlwaysOn,
            SamplerName::ParentBasedAlwaysOff => SamplerKind::ParentBasedAlwaysOff,
            SamplerName::ParentBasedTraceIdRatio => SamplerKind::ParentBasedTraceIdRatio(ratio),
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

    pub(super) fn parse(raw: &str) -> Result<Self, &'static str> {
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

/// Batch processor settings: `OTEL_BSP_*` for spans, `OTEL_BLRP_*` for log records (whose
/// exports are one at a time). The defaults are the variables' defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// Delay between two exports (`OTEL_BSP_SCHEDULE_DELAY`).
    pub schedule_delay: Duration,
    /// Time allowed for one export (`OTEL_BSP_EXPORT_TIMEOUT`).
    pub export_timeout: Duration,
    /// Items buffered before new ones are dropped (`OTEL_BSP_MAX_QUEUE_SIZE`).
    pub max_queue_size: usize,
    /// Items per export request (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
    pub max_export_batch_size: usize,
    /// Exports in flight at once, each on its own connection
    /// (`OTEL_BSP_MAX_CONCURRENT_EXPORTS`).
    pub max_concurrent_exports: usize,
}

impl Default for BatchSettings {
    /// The span processor's defaults, from the settings table.
    fn default() -> Self {
        use super::settings::*;
        BatchSettings {
            schedule_delay: OTEL_BSP_SCHEDULE_DELAY.parsed_default(),
            export_timeout: OTEL_BSP_EXPORT_TIMEOUT.parsed_default(),
            max_queue_size: OTEL_BSP_MAX_QUEUE_SIZE.parsed_default(),
            max_export_batch_size: OTEL_BSP_MAX_EXPORT_BATCH_SIZE.parsed_default(),
            max_concurrent_exports: OTEL_BSP_MAX_CONCURRENT_EXPORTS.parsed_default(),
        }
    }
}

/// A secret setting's value (a token, a header carrying an API key): its `Debug` never shows
/// it, so neither does a configuration dump; [`Secret::expose`] does, for the code that sends
/// it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(crate) String);

impl Secret {
    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(hidden)")
    }
}
