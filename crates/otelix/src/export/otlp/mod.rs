//! OTLP exporters, one submodule per transport, each behind its feature: `grpc` (`otlp-grpc`;
//! spans through otelix's own encoder, which writes the protobuf request itself at a quarter
//! of the SDK exporter's instructions per span) and `http` (`otlp-http`; the SDK's
//! HTTP/protobuf exporters). Metrics and logs use `opentelemetry-otlp`'s exporters on either.
//!
//! A protocol whose feature this build lacks is refused when telemetry is built
//! ([`InitError::FeatureDisabled`]), never at the first export.

#[cfg(feature = "otlp-grpc")]
mod grpc;
#[cfg(feature = "otlp-grpc")]
mod grpc_spans;
#[cfg(feature = "otlp-http")]
mod http;
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
mod unavailable;

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) use opentelemetry_otlp::{LogExporter, MetricExporter};
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
pub(crate) use unavailable::{
    Unavailable as OtlpSpanExporter, Unavailable as MetricExporter, Unavailable as LogExporter,
};

use std::net::ToSocketAddrs;
use std::time::Duration;

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
    Resource,
};

use crate::config::{Config, Protocol, Signal};
use crate::InitError;

/// The transports compiled into this build; a variant exists only with its feature.
enum Transport {
    #[cfg(feature = "otlp-grpc")]
    Grpc,
    #[cfg(feature = "otlp-http")]
    Http,
}

/// The transport for the signal's protocol, or the error that names the feature to enable.
fn transport(config: &Config, signal: Signal) -> Result<Transport, InitError> {
    let export = config.otlp(signal);
    match export.protocol {
        #[cfg(feature = "otlp-grpc")]
        Protocol::Grpc => Ok(Transport::Grpc),
        #[cfg(feature = "otlp-http")]
        Protocol::HttpProtobuf => Ok(Transport::Http),
        #[allow(unreachable_patterns)]
        protocol => Err(InitError::FeatureDisabled {
            variable: export.protocol_setting(),
            value: protocol.as_str(),
            feature: feature_of(protocol),
        }),
    }
}

/// The otelix feature that carries `protocol`.
fn feature_of(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Grpc => "otlp-grpc",
        Protocol::HttpProtobuf => "otlp-http",
    }
}

/// Fails when OTLP export of `signal` is asked for, over a protocol this build was compiled
/// without.
///
/// # Errors
///
/// [`InitError::FeatureDisabled`] naming the protocol's variable and the feature.
pub(crate) fn require_transport(config: &Config, signal: Signal) -> Result<(), InitError> {
    transport(config, signal).map(drop)
}

/// otelix's gRPC span exporter, or the SDK's HTTP/protobuf one.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
#[derive(Debug)]
pub(crate) enum OtlpSpanExporter {
    #[cfg(feature = "otlp-grpc")]
    Grpc(grpc_spans::GrpcSpanExporter),
    #[cfg(feature = "otlp-http")]
    Http(opentelemetry_otlp::SpanExporter),
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
impl SpanExporter for OtlpSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            #[cfg(feature = "otlp-grpc")]
            OtlpSpanExporter::Grpc(exporter) => exporter.export(batch).await,
            #[cfg(feature = "otlp-http")]
            OtlpSpanExporter::Http(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            #[cfg(feature = "otlp-grpc")]
            OtlpSpanExporter::Grpc(exporter) => exporter.shutdown_with_timeout(timeout),
            #[cfg(feature = "otlp-http")]
            OtlpSpanExporter::Http(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            #[cfg(feature = "otlp-grpc")]
            OtlpSpanExporter::Grpc(exporter) => exporter.set_resource(resource),
            #[cfg(feature = "otlp-http")]
            OtlpSpanExporter::Http(exporter) => exporter.set_resource(resource),
        }
    }
}

/// The span exporter for the configured protocol. Call inside the export runtime (the gRPC
/// channel's worker task lives there).
pub(crate) fn span_exporter(config: &Config) -> Result<OtlpSpanExporter, InitError> {
    match transport(config, Signal::Traces)? {
        #[cfg(feature = "otlp-grpc")]
        Transport::Grpc => grpc::span_exporter(config).map(OtlpSpanExporter::Grpc),
        #[cfg(feature = "otlp-http")]
        Transport::Http => http::span_exporter(config).map(OtlpSpanExporter::Http),
    }
}

/// The SDK's metric exporter for the configured protocol.
pub(crate) fn metric_exporter(config: &Config) -> Result<MetricExporter, InitError> {
    match transport(config, Signal::Metrics)? {
        #[cfg(feature = "otlp-grpc")]
        Transport::Grpc => grpc::metric_exporter(config),
        #[cfg(feature = "otlp-http")]
        Transport::Http => http::metric_exporter(config),
    }
}

/// The SDK's log exporter for the configured protocol.
pub(crate) fn log_exporter(config: &Config) -> Result<LogExporter, InitError> {
    match transport(config, Signal::Logs)? {
        #[cfg(feature = "otlp-grpc")]
        Transport::Grpc => grpc::log_exporter(config),
        #[cfg(feature = "otlp-http")]
        Transport::Http => http::log_exporter(config),
    }
}

/// One signal's destination: where it is sent and how long one request may take.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
struct Destination<'c> {
    /// `traces`, `metrics` or `logs`.
    signal: &'static str,
    endpoint: &'c str,
    timeout: Duration,
    export: &'c crate::config::OtlpExport,
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
impl<'c> Destination<'c> {
    fn traces(config: &'c Config) -> Self {
        // `OTEL_BSP_EXPORT_TIMEOUT` bounds each span export in otelix's batch processor; the
        // request's own timeout must not outlast it, so the request is cancelled in time.
        let export = config.otlp(Signal::Traces);
        Destination {
            signal: "traces",
            endpoint: &export.endpoint,
            timeout: export.timeout.min(config.batch().export_timeout),
            export,
        }
    }

    fn metrics(config: &'c Config) -> Self {
        Self::of(config.otlp(Signal::Metrics), "metrics")
    }

    fn logs(config: &'c Config) -> Self {
        Self::of(config.otlp(Signal::Logs), "logs")
    }

    fn of(export: &'c crate::config::OtlpExport, signal: &'static str) -> Self {
        Destination {
            signal,
            endpoint: &export.endpoint,
            timeout: export.timeout,
            export,
        }
    }

    fn build_error(&self, source: opentelemetry_otlp::ExporterBuildError) -> InitError {
        InitError::Exporter {
            signal: self.signal,
            endpoint: self.endpoint.to_owned(),
            source,
        }
    }
}

/// Tries a TCP connection to the endpoint's host and port.
pub(crate) fn probe(endpoint: &str) -> Result<(), String> {
    let url = url::Url::parse(endpoint).map_err(|e| e.to_string())?;
    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().ok_or("no port")?;
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host}:{port} resolved to no address");
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reports_a_closed_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("bound address").port();
        assert!(probe(&format!("http://127.0.0.1:{port}")).is_ok());
        drop(listener);
        assert!(probe(&format!("http://127.0.0.1:{port}")).is_err());
    }

    fn config(protocol: &str) -> Config {
        Config::builder()
            .build_from_vars([("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)])
            .expect("valid variables")
    }

    /// Each protocol builds with its feature, and is refused by name without it.
    #[test]
    fn a_protocol_is_available_exactly_when_its_feature_is_on() {
        for (protocol, compiled) in [
            ("grpc", cfg!(feature = "otlp-grpc")),
            ("http/protobuf", cfg!(feature = "otlp-http")),
        ] {
            match require_transport(&config(protocol), Signal::Traces) {
                Ok(()) => assert!(compiled, "{protocol} accepted without its feature"),
                Err(error) => {
                    assert!(!compiled, "{protocol} refused with its feature: {error}");
                    let message = error.to_string();
                    assert!(message.contains(&format!("OTEL_EXPORTER_OTLP_PROTOCOL={protocol}")));
                    let protocol = config(protocol).otlp(Signal::Traces).protocol;
                    assert!(message.contains(feature_of(protocol)));
                }
            }
        }
    }
}
